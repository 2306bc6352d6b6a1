import {
  captureInstalled,
  changelogHead,
  endOffsets,
  loaderGroup,
  readExtractorPosition,
  sleep,
  tableTopic,
  waitForOffsets,
  type Admin,
  type Logger,
  type PartitionOffsets,
  type PgClient,
  type ReadableCopy,
  type SqlValue,
  type SqliteDatabase,
  type TableModel,
} from '@liteshift/shared';
import { KeyLookup, type RowDifference } from './row-diff.js';

/**
 * Lag-aware verification. While the application writes, a row compared before the loader
 * applied its latest change differs without anything being wrong. Such differences are
 * suspects: each is compared again once the pipeline has caught up to the changelog head
 * taken before the comparison (extractor position ≥ head, then loader ≥ the topics' end
 * offsets taken after that). A suspect that then agrees was in flight. One that still
 * differs while its SQLite row stood still during the round is real; when the application
 * wrote meanwhile (the same key may have changed and changed back), it must differ in two
 * such rounds.
 */

export interface PipelineContext {
  admin: Admin;
  topicPrefix: string;
}

export interface Suspect {
  /** The difference as first found. */
  first: RowDifference;
  /** The key as SQLite stores it, when SQLite had the row. */
  sourceKey?: SqlValue[];
}

export interface SuspectTable {
  table: TableModel;
  suspects: Suspect[];
}

export interface RecheckOutcome {
  /** The differences that remain, per table, in the order the suspects were given. */
  remaining: Map<string, RowDifference[]>;
  /** Suspects that agreed once re-checked, per table. */
  resolved: Map<string, number>;
  /** Row-count corrections per table: the rows each side holds now minus what the first comparison counted. */
  delta: Map<string, { source: number; target: number }>;
  rounds: number;
  /** False when the pipeline did not catch up in time: the suspects left were not re-checked. */
  caughtUp: boolean;
  /** Why the re-check stopped early (the lag that did not drain, keys that kept changing). */
  stopped?: string;
}

export interface RecheckParams {
  db: SqliteDatabase;
  pg: PgClient;
  schema: string;
  pipeline: PipelineContext;
  deadline: number;
  /** The readable copy of tables SQLite cannot read here: made again before their rows are read. */
  copy?: ReadableCopy;
  log?: Logger;
}

/** Rounds after which keys that keep changing are reported as they stand. */
const MAX_ROUNDS = 8;
const POLL_MS = 200;

interface State {
  suspect: Suspect;
  lookup: KeyLookup;
  table: string;
  confirmations: number;
  settled: boolean;
  last: RowDifference | null;
  source: (string | null)[] | null;
}

const presence = (d: RowDifference): { source: number; target: number } => ({
  source: d.kind === 'extra' ? 0 : 1,
  target: d.kind === 'missing' ? 0 : 1,
});

function sameRow(a: (string | null)[] | null, b: (string | null)[] | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export async function recheckInFlight(p: RecheckParams, tables: readonly SuspectTable[]): Promise<RecheckOutcome> {
  const captured = captureInstalled(p.db);
  const states: State[] = [];
  for (const { table, suspects } of tables) {
    const lookup = new KeyLookup(p.db, p.pg, p.schema, table);
    for (const suspect of suspects) {
      states.push({ suspect, lookup, table: table.name, confirmations: 0, settled: false, last: suspect.first, source: null });
    }
  }
  const outcome: RecheckOutcome = { remaining: new Map(), resolved: new Map(), delta: new Map(), rounds: 0, caughtUp: true };
  while (states.some((s) => !s.settled)) {
    if (outcome.rounds >= MAX_ROUNDS) {
      outcome.stopped = `${states.filter((s) => !s.settled).length} row(s) kept changing through ${MAX_ROUNDS} re-checks`;
      break;
    }
    outcome.rounds++;
    const open = states.filter((s) => !s.settled);
    const byLookup = groupBy(open, (s) => s.lookup);
    const fromCopy = [...byLookup.keys()].some((lookup) => lookup.table.readFromCopy);
    if (fromCopy) await p.copy?.refresh();
    // The head and the rows in one read: every change to these rows up to now is at or below it.
    const { head, before } = p.db.transaction(() => ({
      head: captured ? changelogHead(p.db) : 0n,
      before: new Map([...byLookup].map(([lookup, list]) => [lookup, lookup.sourceRows(list.map((s) => ({ key: s.suspect.first.key, ...(s.suspect.sourceKey ? { sourceKey: s.suspect.sourceKey } : {}) })))])),
    }))();
    const caught = await waitForPipeline(p, head, [...new Set(open.map((s) => s.table))], open.length);
    if (!caught.ok) {
      outcome.caughtUp = false;
      outcome.stopped = caught.reason;
      break;
    }
    if (fromCopy) await p.copy?.refresh();
    for (const [lookup, list] of byLookup) {
      const keys = list.map((s) => ({ key: s.suspect.first.key, ...(s.suspect.sourceKey ? { sourceKey: s.suspect.sourceKey } : {}) }));
      const target = await lookup.targetRows(keys.map((k) => k.key));
      const after = lookup.sourceRows(keys);
      const headAfter = captured ? changelogHead(p.db) : 0n;
      const earlier = before.get(lookup)!;
      list.forEach((s, i) => {
        s.source = after[i]!;
        s.last = lookup.difference(s.suspect.first.key, { source: after[i]!, target: target[i]! });
        if (s.last === null) s.settled = true;
        else if (sameRow(earlier[i]!, after[i]!)) {
          s.confirmations++;
          if (s.confirmations >= 2 || headAfter === head) s.settled = true;
        }
      });
    }
  }
  for (const s of states) {
    const before = presence(s.suspect.first);
    const now = s.last ? presence(s.last) : s.source ? { source: 1, target: 1 } : { source: 0, target: 0 };
    const delta = outcome.delta.get(s.table) ?? { source: 0, target: 0 };
    delta.source += now.source - before.source;
    delta.target += now.target - before.target;
    outcome.delta.set(s.table, delta);
    if (s.last) push(outcome.remaining, s.table, s.last);
    else outcome.resolved.set(s.table, (outcome.resolved.get(s.table) ?? 0) + 1);
  }
  return outcome;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function groupBy<T, K>(items: readonly T[], by: (item: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const item of items) push(out, by(item), item);
  return out;
}

/**
 * Waits until the extractor has produced everything up to changelog sequence `head` and
 * the loader has applied the topics of `tables` up to their end offsets taken after that.
 */
export async function waitForPipeline(
  p: Pick<RecheckParams, 'db' | 'pg' | 'pipeline' | 'deadline' | 'log'>,
  head: bigint,
  tables: readonly string[],
  suspects: number,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  let told = 0;
  const tell = (what: string, lag: Record<string, unknown>): void => {
    if (Date.now() - told < 5_000) return;
    told = Date.now();
    p.log?.info({ suspects, ...lag }, `waiting for the pipeline to catch up (${what}) to re-check differences found while changes were in flight`);
  };
  for (;;) {
    const at = readExtractorPosition(p.db);
    if (at >= head) break;
    if (Date.now() > p.deadline) return { ok: false, reason: `the extractor did not catch up in time (changelog head ${head}, produced ${at})` };
    tell('extractor', { head: head.toString(), position: at.toString() });
    await sleep(POLL_MS);
  }
  const { admin, topicPrefix } = p.pipeline;
  const group = loaderGroup(topicPrefix);
  const existing = new Set(await admin.listTopics());
  const ends: Record<string, PartitionOffsets> = {};
  for (const table of tables) {
    const topic = tableTopic(topicPrefix, table);
    if (existing.has(topic)) ends[topic] = await endOffsets(admin, topic);
  }
  const applied = await waitForOffsets(p.pg, group, ends, { deadline: p.deadline, pollMs: POLL_MS, onWait: (lag) => tell('loader', { loaderLag: lag }) });
  return applied.ok ? applied : { ok: false, reason: `the loader did not catch up in time (${applied.lag} message(s) not applied)` };
}
