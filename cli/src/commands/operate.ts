import {
  connectAdmin,
  connectPostgres,
  createKafka,
  openSqlite,
  readSchema,
  uninstallCapture,
  type Logger,
  type Settings,
} from '@liteshift/shared';
import { pipelineStatus, renderReport, renderStatus } from '@liteshift/verifier';
import { abortCutover, runCutover } from '../cutover.js';
import { formatDuration, print, printJson } from '../output.js';

type OperateSettings = Pick<Settings, 'sqlitePath' | 'databaseUrl' | 'kafkaBrokers' | 'topicPrefix' | 'targetSchema'>;
type CutoverSettings = OperateSettings & Partial<Pick<Settings, 'excludeTable' | 'excludeColumn'>>;

export async function statusCommand(settings: OperateSettings, flags: { json: boolean }, log: Logger): Promise<void> {
  const db = openSqlite(settings.sqlitePath, { readonly: true });
  const pg = await connectPostgres(settings.databaseUrl, 'liteshift-status');
  const kafka = createKafka({ brokers: settings.kafkaBrokers, clientId: 'liteshift-status', log });
  const admin = await connectAdmin(kafka, settings.kafkaBrokers).catch(async (error: unknown) => {
    await pg.end();
    throw error;
  });
  try {
    const status = await pipelineStatus(db, pg, admin, readSchema(db, { profile: false }), settings.topicPrefix, settings.targetSchema);
    if (flags.json) printJson(status);
    else print(renderStatus(status));
  } finally {
    await admin.disconnect().catch(() => undefined);
    await pg.end().catch(() => undefined);
    db.close();
  }
}

export async function cutoverCommand(
  settings: CutoverSettings,
  flags: { abort: boolean; json: boolean; timeout: number; fallback: boolean },
  log: Logger,
): Promise<boolean> {
  if (flags.abort) {
    const removed = await abortCutover({ ...settings, log });
    print(removed > 0 ? 'fence lifted: SQLite takes writes again' : 'no fence was installed');
    return true;
  }
  const say = flags.json ? () => undefined : print;
  const result = await runCutover({ ...settings, timeoutMs: flags.timeout * 1000, fallback: flags.fallback, log, onPhase: (phase) => say(`· ${phase}`) });
  if (flags.json) {
    printJson({ ready: result.ready, databaseUrl: result.ready ? result.databaseUrlLine : null, report: result.report });
    return result.ready;
  }
  say('');
  say(renderReport(result.report));
  say('');
  if (result.ready) {
    say(`Cutover complete: SQLite refuses writes (fenced ${formatDuration(result.fenceMs)} ago). Point the application at PostgreSQL:`);
    say('');
    say(`  ${result.databaseUrlLine}`);
    say('');
    say('Until the application is switched, `liteshift cutover --abort` lets SQLite take writes again.');
    if (flags.fallback) say('After the switch, run `liteshift fallback`: changes made on PostgreSQL follow back into SQLite, and `liteshift rollback` returns to it without losing one.');
  } else {
    say('Not cut over: the fence is lifted and SQLite takes writes again. Fix the reasons above and run cutover again.');
  }
  return result.ready;
}

export function uninstallCommand(settings: Pick<Settings, 'sqlitePath'>): void {
  const db = openSqlite(settings.sqlitePath);
  try {
    uninstallCapture(db);
  } finally {
    db.close();
  }
  print(`removed liteshift's triggers, changelog, state, fence and export position from ${settings.sqlitePath}`);
}
