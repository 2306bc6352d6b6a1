import { connectPostgres, openSqlite, readSchema, type Settings } from '@liteshift/shared';
import { renderReport, verify, type VerifyReport } from '@liteshift/verifier';
import { print, printJson } from '../output.js';

export async function verifyCommand(
  settings: Pick<Settings, 'sqlitePath' | 'databaseUrl' | 'targetSchema'>,
  flags: { json: boolean },
): Promise<VerifyReport> {
  const db = openSqlite(settings.sqlitePath, { readonly: true });
  try {
    // Types come from what the loader recorded in the target; the source is only listed and read.
    const model = readSchema(db, { profile: false });
    const pg = await connectPostgres(settings.databaseUrl, 'liteshift-verify');
    try {
      const report = await verify({ db, model, pg, databaseUrl: settings.databaseUrl, targetSchema: settings.targetSchema });
      if (flags.json) printJson(report);
      else print(renderReport(report));
      return report;
    } finally {
      await pg.end().catch(() => undefined);
    }
  } finally {
    db.close();
  }
}
