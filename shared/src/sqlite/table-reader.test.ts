import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTable } from '../schema/model.js';
import { readSchema } from './introspect.js';
import { openSqlite, type SqliteDatabase } from './open.js';
import { CHUNK_BYTES, TableReader, rowBytes } from './table-reader.js';

const MB = 1024 * 1024;

/*
 * Chunks are bounded by rows and by bytes: a table of large blobs must not be read 5,000
 * rows at a time (the extractor, the stream and the verifier all hold a chunk in memory).
 */
describe('TableReader.chunks', () => {
  let dir: string;
  let db: SqliteDatabase;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'liteshift-reader-'));
    const path = join(dir, 'files.db');
    const app = new Database(path);
    app.exec('CREATE TABLE files (id INTEGER PRIMARY KEY, name TEXT NOT NULL, data BLOB)');
    const insert = app.prepare('INSERT INTO files (id, name, data) VALUES (?, ?, ?)');
    // Small rows, then 3 MB blobs, then small rows again: the bound must follow the data.
    for (let id = 1; id <= 40; id++) {
      const big = id > 10 && id <= 25;
      insert.run(id, `file ${id}`, big ? Buffer.alloc(3 * MB, id) : Buffer.from([id]));
    }
    app.close();
    db = openSqlite(path, { readonly: true });
  });

  afterAll(() => {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const reader = (): TableReader => new TableReader(db, findTable(readSchema(db), 'files')!);

  it('reads every row once, in key order, with large rows a few per chunk', () => {
    const chunks = [...reader().chunks(5000)].map((rows) => rows.map((r) => [r[0], rowBytes(r)] as const));
    expect(chunks.flat().map(([id]) => Number(id))).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    for (const chunk of chunks) {
      // At most one row past the bound: the one that reached it ends the chunk.
      const before = chunk.slice(0, -1).reduce((n, [, bytes]) => n + bytes, 0);
      expect(before).toBeLessThan(CHUNK_BYTES);
    }
    // 10 small rows and the first 3 blobs; then 3 blobs a chunk (9 MB reach the 8 MB bound).
    expect(chunks.map((c) => c.length)).toEqual([13, 3, 3, 3, 3, 15]);
  });

  it('still ends chunks at the row limit', () => {
    expect([...reader().chunks(7)].map((c) => c.length)).toEqual([7, 6, 3, 3, 3, 3, 7, 7, 1]);
  });
});
