import { LiteshiftError, describePostgresUrl, sessionLimits, type ApplyLimitSettings, type Logger, type Settings } from '@liteshift/shared';
import { Loader, noSchemasError, replaySize, unknownTables, type ReplayFrom } from '@liteshift/loader';

export type ReplaySettings = Pick<Settings, 'databaseUrl' | 'kafkaBrokers' | 'topicPrefix' | 'targetSchema'> & ApplyLimitSettings;

export interface ReplayParams extends ReplaySettings {
  from: ReplayFrom;
  /** Table names; all tables named on the schema topic when absent. */
  tables?: string[];
  truncate: boolean;
  follow: boolean;
  log: Logger;
  signal: AbortSignal;
  onPhase?: (phase: string) => void;
  /** Called once the end offsets taken at the start are applied (before following, with `follow`). */
  onCaughtUp?: (result: ReplayResult) => void;
}

export interface ReplayResult {
  tables: string[];
  /** Messages between the starts and the end offsets taken when the replay began. */
  messages: number;
  /** What this process applied (loaders following beside it apply their share). */
  applied: { upserted: number; deleted: number; rejected: number; deadLettered: number };
  truncated: boolean;
  constraintsRestored: string[];
  caughtUp: boolean;
  durationMs: number;
}

/**
 * `liteshift replay`: moves the loader group's offsets in PostgreSQL back (to the
 * beginning, or to a time), runs the loader until the end offsets taken at the start
 * are applied, and puts back the unique indexes and foreign keys it had to drop. With
 * `follow`, the loader then keeps applying, as `load --follow` does.
 */
export async function runReplay(p: ReplayParams): Promise<ReplayResult> {
  const started = Date.now();
  if (p.truncate && !('beginning' in p.from)) {
    throw new LiteshiftError('CONFIG_INVALID', '--truncate needs --from-beginning', {
      hint: 'emptying a table and applying only the changes since a time would lose every row not changed since',
    });
  }
  const loader = new Loader({ databaseUrl: p.databaseUrl, brokers: p.kafkaBrokers, topicPrefix: p.topicPrefix, targetSchema: p.targetSchema, log: p.log, limits: sessionLimits(p) });
  try {
    p.onPhase?.('reading the table schemas from Kafka');
    await loader.connect();
    await loader.refreshSchemas();
    let targets = loader.tableTopics();
    if (targets.length === 0) throw noSchemasError(p.topicPrefix);
    if (p.tables) {
      const unknown = unknownTables(targets, p.tables);
      if (unknown.length > 0) {
        throw new LiteshiftError('CONFIG_INVALID', `--tables names ${unknown.length === 1 ? 'a table' : 'tables'} not on the topics: ${unknown.join(', ')}`, {
          hint: `tables on ${p.topicPrefix}._schemas: ${targets.map((t) => t.table.name).sort().join(', ')}`,
        });
      }
      const wanted = new Set(p.tables);
      targets = targets.filter((t) => wanted.has(t.table.name));
    }
    targets.sort((a, b) => (a.table.name < b.table.name ? -1 : 1));

    const steps = loader.replaySteps();
    const plan = await steps.plan(targets, p.from);
    const messages = replaySize(plan);
    p.onPhase?.(
      `moving the loader back ${'beginning' in p.from ? 'to the beginning' : `to ${p.from.since.toISOString()}`} of ${targets.length} table topic(s) (${messages} message(s))${p.truncate ? ', emptying the tables first' : ''}`,
    );
    const prepared = await steps.prepare(plan, p.truncate);
    p.log.info({ tables: targets.map((t) => t.table.name), startsAt: prepared.startsAt, until: plan.until, postgres: describePostgresUrl(p.databaseUrl) }, 'replay starts');

    p.onPhase?.('applying');
    await loader.consume();
    let told = Date.now();
    const caughtUp = await steps.caughtUp(plan.until, p.signal, (remaining) => {
      if (Date.now() - told < 5_000) return;
      told = Date.now();
      p.log.info({ remaining }, 'replaying');
    });
    let restored: string[] = [];
    if (caughtUp && !p.follow) {
      await loader.stop();
      if (prepared.relaxed.length > 0) {
        p.onPhase?.('creating the unique indexes and foreign keys again');
        await steps.restore(prepared.relaxed);
        restored = prepared.relaxed.map((t) => t.name);
      }
    }
    const result: ReplayResult = {
      tables: targets.map((t) => t.table.name),
      messages,
      applied: { ...loader.totals },
      truncated: p.truncate,
      constraintsRestored: restored,
      caughtUp,
      durationMs: Date.now() - started,
    };
    if (caughtUp) p.onCaughtUp?.(result);
    if (caughtUp && p.follow) {
      p.onPhase?.('following (SIGTERM stops)');
      if (prepared.relaxed.length > 0) {
        p.log.info({ tables: prepared.relaxed.map((t) => t.name) }, 'unique indexes and foreign keys come back at `liteshift cutover`');
      }
      await loader.follow(p.signal);
    }
    return result;
  } finally {
    await loader.close();
  }
}
