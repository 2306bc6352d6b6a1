import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { addCheckSql, createTableSql, openSqlite, readSchema, readSchemaRecord, schemaRecord, tableTopic, type SchemaModel, type TableModel } from '@liteshift/shared';
import { createTestDatabase, withClient, type TestDatabase } from './helpers/postgres.js';

/**
 * Issue #18: a CHECK created in PostgreSQL refuses exactly the rows its SQLite original
 * refuses. Each CHECK below sits on its own SQLite table with a NOCASE, a BINARY and an
 * RTRIM column; the model read from the file goes through a schema record, as the loader
 * reads it from Kafka, into PostgreSQL DDL; then every value is inserted on both sides.
 */
const PORTABLE = [
  "status IN ('open','done')",
  "note LIKE 'n%'",
  "status NOT IN ('OPEN', 'k')",
  "'X' <> status",
  "status = 'Ärger' OR status == 'done'",
  "status != 'ok'",
  "note NOT LIKE 'a\\_%'",
  "note LIKE 'a!_b' ESCAPE '!'",
  "note LIKE 'ä%'",
  "note LIKE '_'",
  "code LIKE '% ' OR status LIKE note",
  'length(status) > 2',
  "note IN ('Open', 'X')",
];
const NOT_PORTABLE = ["status < 'b'", "code = 'ok'", "status BETWEEN 'a' AND 'z'"];

const KELVIN = '\u212a';
const VALUES: (string | null)[] = [
  'open', 'Open', 'OPEN', 'done', 'Done ', 'ok', 'OK', 'ok ', 'ärger', 'Ärger', 'ÄRGER', 'n2', 'N2', 'x', 'X',
  'a_b', 'a!_b', 'a\\_b', 'aXb', KELVIN, 'k', 'K', '\u0130', 'ı', '', null,
];

describe('CHECK semantics, SQLite against PostgreSQL', () => {
  const adminUrl = inject('adminDatabaseUrl');
  let dir: string;
  let target: TestDatabase;
  let model: SchemaModel;
  const sqliteAccepts = new Map<string, boolean[]>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'liteshift-checks-'));
    const path = join(dir, 'checks.db');
    const writer = new Database(path);
    [...PORTABLE, ...NOT_PORTABLE].forEach((check, i) => {
      writer.exec(`CREATE TABLE t${i} (id INTEGER PRIMARY KEY, status TEXT COLLATE NOCASE, note TEXT, code TEXT COLLATE RTRIM, CHECK (${check}))`);
      const insert = writer.prepare(`INSERT INTO t${i} (status, note, code) VALUES (?, ?, ?)`);
      sqliteAccepts.set(check, VALUES.map((v) => refusedBy(/CHECK constraint failed/, () => insert.run(v, v, v)) === false));
      writer.exec(`DELETE FROM t${i}`);
    });
    writer.close();
    const db = openSqlite(path, { readonly: true });
    try {
      model = readSchema(db);
    } finally {
      db.close();
    }
    target = await createTestDatabase(adminUrl, 'check-semantics');
  });

  afterAll(async () => {
    await target?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('every portable CHECK refuses in PostgreSQL exactly the values SQLite refuses', async () => {
    await withClient(target.url, async (client) => {
      const differences: string[] = [];
      for (const [i, check] of PORTABLE.entries()) {
        const table = overKafka(model.tables.find((t) => t.name === `t${i}`)!);
        const pgSql = table.checks[0]?.pgSql;
        expect(pgSql, check).toEqual(expect.any(String));
        await client.query(createTableSql('public', table));
        await client.query(addCheckSql('public', table, 0, pgSql!, true));
        const accepts: boolean[] = [];
        await client.query('BEGIN');
        for (const v of VALUES) {
          await client.query('SAVEPOINT v');
          const refused = await client.query(`INSERT INTO t${i} (status, note, code) VALUES ($1, $2, $3)`, [v, v, v]).then(
            () => false,
            (e: { code?: string }) => (e.code === '23514' ? true : Promise.reject(e)),
          );
          await client.query('ROLLBACK TO SAVEPOINT v');
          accepts.push(!refused);
        }
        await client.query('ROLLBACK');
        VALUES.forEach((v, k) => {
          if (accepts[k] !== sqliteAccepts.get(check)![k]) {
            differences.push(`CHECK (${check}) → ${pgSql}: ${JSON.stringify(v)} ${accepts[k] ? 'accepted' : 'refused'} by PostgreSQL, not by SQLite`);
          }
        });
      }
      expect(differences).toEqual([]);
    });
  });

  it('the values the issue names: SQLite takes (Open, N2), and so does PostgreSQL', () => {
    const open = VALUES.indexOf('Open');
    const n2 = VALUES.indexOf('N2');
    expect(sqliteAccepts.get("status IN ('open','done')")![open]).toBe(true);
    expect(sqliteAccepts.get("note LIKE 'n%'")![n2]).toBe(true);
  });

  it('a CHECK that cannot mean the same is left out, and plan says why in one line', () => {
    NOT_PORTABLE.forEach((check, k) => {
      const i = PORTABLE.length + k;
      expect(model.tables.find((t) => t.name === `t${i}`)!.checks).toEqual([{ sqliteSql: check, pgSql: null }]);
    });
    const messages = model.notices.filter((n) => /^CHECK/.test(n.message)).map((n) => n.message);
    expect(messages).toEqual([
      "CHECK (status < 'b') is not portable (compares NOCASE column status with <): skipped",
      "CHECK (code = 'ok') is not portable (compares RTRIM column code with =): skipped",
      "CHECK (status BETWEEN 'a' AND 'z') is not portable (compares NOCASE column status with BETWEEN): skipped",
    ]);
  });
});

/** The table model as the loader has it: written to a schema record, read back and checked. */
function overKafka(table: TableModel): TableModel {
  const reading = readSchemaRecord(Buffer.from(JSON.stringify(schemaRecord(table, tableTopic('checks', table.name)))), 'checks');
  if (!reading || !('record' in reading)) throw new Error(`schema record of ${table.name} not read back: ${JSON.stringify(reading)}`);
  return reading.record.table;
}

function refusedBy(pattern: RegExp, write: () => unknown): boolean {
  try {
    write();
    return false;
  } catch (error) {
    if (error instanceof Error && pattern.test(error.message)) return true;
    throw error;
  }
}
