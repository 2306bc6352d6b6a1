import { Option, type Command } from 'commander';
import {
  Gauge,
  Health,
  LiteshiftError,
  METRIC_PREFIX,
  connectAdmin,
  createMetricsRegistry,
  connectPostgres,
  createKafka,
  errorMessage,
  mappingOptions,
  openSqlite,
  readSchema,
  ReadableCopy,
  sleep,
  type Admin,
  type Logger,
  type Settings,
} from '@liteshift/shared';
import { StatusBoard, renderReport, statusPageRoutes, verify, type VerifyReport } from '@liteshift/verifier';
import { keepHeapNearLiveData } from '../heap.js';
import { EXCLUSION_KEYS, context, withSettings } from '../settings-options.js';
import { print, printJson } from '../output.js';
import { untilSignal } from './services.js';
import { HTTP_KEYS, serveHttp, type HttpSettings } from '../http.js';

const VERIFY_KEYS = ['sqlitePath', 'databaseUrl', 'targetSchema', 'kafkaBrokers', 'topicPrefix', ...EXCLUSION_KEYS, ...HTTP_KEYS] as const;
/** Exit code of a verdict other than READY (as every command that ends in a verdict). */
const EXIT_NOT_READY = 1;

export type VerifySettings = Pick<Settings, 'sqlitePath' | 'databaseUrl' | 'targetSchema' | 'topicPrefix'> &
  Partial<Pick<Settings, 'excludeTable' | 'excludeColumn'>> & { kafkaBrokers?: string[] };

export interface VerifyFlags {
  json: boolean;
  /** How long differences found while changes are in flight wait for the pipeline. */
  catchUpTimeoutMs?: number;
}

function seconds(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min) throw new LiteshiftError('CONFIG_INVALID', `${name} must be a number of seconds ≥ ${min}, got "${value}"`);
    return n;
  };
}

/** `--http [host:]port` (`:8080`, `127.0.0.1:8080`, `[::1]:8080`); an empty host leaves --http-host's. */
function listenAddress(value: string): { host?: string; port: string } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$|^(\d{1,5})$/.exec(value.trim());
  const port = match?.[3] ?? match?.[4];
  if (!match || !port || Number(port) < 1 || Number(port) > 65535) {
    throw new LiteshiftError('CONFIG_INVALID', `--http must be [host:]port with a port from 1 to 65535, got "${value}"`, {
      hint: 'e.g. --http :8080 for this machine only, --http 0.0.0.0:8080 for every interface',
    });
  }
  const host = match[1] ?? match[2];
  return host ? { host, port } : { port };
}

/** `liteshift verify`: its flags, and the one-shot and --watch runs. */
export function addVerifyCommand(program: Command): void {
  withSettings(
    program
      .command('verify')
      .description('compare SQLite and PostgreSQL row by row, orphans, rejects (with Kafka: lag, dead letters); exit 0 only when READY')
      .option('--json', 'print the report as JSON (with --watch: one line per verdict)')
      .option('--watch', 're-verify every --interval seconds, printing and logging each verdict, until SIGTERM/SIGINT')
      .addOption(new Option('--interval <seconds>', 'seconds between verifications with --watch').argParser(seconds('--interval', 1)).default(30))
      .addOption(
        new Option('--catch-up-timeout <seconds>', 'how long differences found while changes are in flight wait for the pipeline to apply them (needs Kafka)')
          .argParser(seconds('--catch-up-timeout', 0))
          .default(60),
      )
      .addOption(
        new Option('--http <[host:]port>', 'with --watch: serve the live status page there (and /healthz, /readyz, /metrics), e.g. :8080; short for --http-host and --http-port; no authentication')
          .argParser(listenAddress)
          .conflicts(['httpPort', 'httpHost']),
      ),
    VERIFY_KEYS,
  ).action(async (flags: Record<string, unknown>) => {
    keepHeapNearLiveData();
    const http = flags.http as ReturnType<typeof listenAddress> | undefined;
    if (http && !flags.watch) throw new LiteshiftError('CONFIG_INVALID', '--http serves the status page of verify --watch', { hint: 'add --watch: liteshift verify --watch --http :8080' });
    // --http is the short form of the two settings, so the environment's LITESHIFT_HTTP_HOST still applies to ':port'.
    const given = http ? { ...flags, httpPort: http.port, ...(http.host ? { httpHost: http.host } : {}) } : flags;
    // Kafka is optional here: without it the verdict has no lag and differences are not re-checked.
    const { settings, log } = context('verifier', VERIFY_KEYS, given, ['kafkaBrokers', 'httpPort', ...EXCLUSION_KEYS]);
    const options: VerifyFlags = { json: Boolean(flags.json), catchUpTimeoutMs: (flags.catchUpTimeout as number) * 1000 };
    const report = flags.watch
      ? await watchCommand(settings, { ...options, intervalMs: (flags.interval as number) * 1000 }, log)
      : await verifyCommand(settings, options, log);
    if (report?.verdict !== 'READY') process.exitCode = EXIT_NOT_READY;
  });
}

/** One verification; prints the report (text or JSON) and logs the verdict as one line. */
export async function verifyCommand(settings: VerifySettings, flags: VerifyFlags, log: Logger, signal?: AbortSignal): Promise<VerifyReport> {
  const report = await verifyOnce(settings, flags, log, signal);
  if (flags.json) printJson(report);
  else print(renderReport(report));
  logVerdict(log, report);
  return report;
}

function logVerdict(log: Logger, report: VerifyReport): void {
  const differences = report.tables.reduce((n, t) => n + (t.content ? t.content.missing + t.content.extra + t.content.changed : 0), 0);
  log.info(
    {
      verdict: report.verdict,
      reasons: report.reasons,
      tables: report.tables.length,
      differences,
      ...(report.lag ? { extractorLag: report.lag.extractor.lag, loaderLag: report.lag.loaderLag } : {}),
      ms: report.durationMs,
    },
    `verdict: ${report.verdict}`,
  );
}

async function verifyOnce(settings: VerifySettings, flags: VerifyFlags, log: Logger, signal?: AbortSignal): Promise<VerifyReport> {
  const db = openSqlite(settings.sqlitePath, { readonly: true });
  let admin: Admin | null = null;
  let copy: ReadableCopy | null = null;
  try {
    copy = await ReadableCopy.attach(db, log);
    // Types come from what the loader recorded in the target; the source is only listed and read.
    const model = readSchema(db, { ...mappingOptions(settings), profile: false });
    const pg = await connectPostgres(settings.databaseUrl, 'liteshift-verify');
    // A stop request ends the verification at its next query, not after the whole comparison.
    const stop = (): void => void pg.end().catch(() => undefined);
    signal?.addEventListener('abort', stop, { once: true });
    try {
      if (settings.kafkaBrokers?.length) {
        const kafka = createKafka({ brokers: settings.kafkaBrokers, clientId: 'liteshift-verify', log });
        admin = await connectAdmin(kafka, settings.kafkaBrokers);
      }
      return await verify({
        db,
        model,
        pg,
        databaseUrl: settings.databaseUrl,
        targetSchema: settings.targetSchema,
        ...(admin ? { pipeline: { admin, topicPrefix: settings.topicPrefix } } : {}),
        ...(flags.catchUpTimeoutMs !== undefined ? { catchUpTimeoutMs: flags.catchUpTimeoutMs } : {}),
        copy,
        log,
      });
    } finally {
      signal?.removeEventListener('abort', stop);
      await admin?.disconnect().catch(() => undefined);
      await pg.end().catch(() => undefined);
    }
  } finally {
    copy?.close();
    db.close();
  }
}

/**
 * `verify --watch`: verifies, sleeps --interval, verifies again, until SIGTERM/SIGINT.
 * Each verdict is printed (text, or one JSON line) and logged. A failure after the first
 * verdict (PostgreSQL or Kafka restarting) is logged and tried again at the next interval.
 * Returns the last verdict.
 */
async function watchCommand(settings: VerifySettings & HttpSettings, flags: VerifyFlags & { intervalMs: number }, log: Logger): Promise<VerifyReport | null> {
  let last: VerifyReport | null = null;
  const registry = createMetricsRegistry('verifier');
  const verdictGauge = new Gauge({ name: `${METRIC_PREFIX}verifier_ready`, help: 'Last verdict: 1 READY, 0 NOT READY', registers: [registry] });
  const health = new Health('no verdict yet');
  // The status page reads the pipeline every few seconds on its own connections; verdicts come from the loop below.
  const board = settings.httpPort ? new StatusBoard({ ...settings, intervalSeconds: flags.intervalMs / 1000, log }) : null;
  const server = await serveHttp(settings, log, registry, () => health.state, board ? statusPageRoutes(board) : undefined);
  if (board && server) {
    board.start();
    log.info({ url: `http://${settings.httpHost.includes(':') ? `[${settings.httpHost}]` : settings.httpHost}:${server.port}/` }, 'status page');
  }
  await untilSignal(
    log,
    async (signal) => {
      while (!signal.aborted) {
        try {
          const report = await verifyOnce(settings, flags, log, signal);
          if (signal.aborted) break;
          if (flags.json) print(JSON.stringify(report));
          else print(`${renderReport(report)}\n`);
          logVerdict(log, report);
          last = report;
          board?.recordVerdict(report);
          verdictGauge.set(report.verdict === 'READY' ? 1 : 0);
          health.ready(`verdict: ${report.verdict}`);
        } catch (error) {
          if (signal.aborted) break;
          if (last === null) throw error;
          log.warn({ err: errorMessage(error) }, 'verification failed; trying again at the next interval');
          board?.recordVerifyFailure(error);
        }
        await sleep(flags.intervalMs, signal);
      }
    },
    async () => {
      await board?.close();
      await server?.close();
    },
  );
  return last;
}
