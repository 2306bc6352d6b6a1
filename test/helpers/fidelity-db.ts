import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';

/**
 * A SQLite file with every case of type fidelity an application's database can hold:
 * mixed storage classes in one column, NUL bytes, text that is not UTF-8, integers at the
 * ends of int64, epoch seconds and milliseconds, blobs, '' beside NULL, names that are
 * reserved words or hold spaces and quotes, foreign type names, WITHOUT ROWID, composite
 * and missing keys, foreign keys to missing rows, circular and self references,
 * DEFERRABLE, views, triggers, FTS5 and R*Tree tables, a collation and a function only the
 * application registers. Written as an application would (better-sqlite3, then the
 * collation renamed in the schema, which an application registering it could have done).
 */
export const FOREIGN_COLLATION = 'myapp_nocase';

/** Rows the tables hold that the default migration must carry over exactly. */
export const BULK_ROWS = 3_000;

export function writeFidelityDatabase(path: string): void {
  rmSync(path, { force: true });
  const db = new Database(path);
  db.function('app_norm', { deterministic: true }, (s: unknown) => (s === null ? null : String(s).toLowerCase()));
  // Orphans on purpose: the application never enforced them.
  db.pragma('foreign_keys = OFF');
  db.exec(`
    CREATE TABLE "select" (
      "from" INTEGER PRIMARY KEY,
      "Mixed Case" TEXT,
      "quote""d" TEXT,
      "space col" INTEGER,
      "order" TEXT DEFAULT "it's quoted"
    );
    CREATE TABLE "Weird ""Table"" Name" ("ID" INTEGER PRIMARY KEY, "Value" TEXT, "value2" REAL);

    CREATE TABLE mixed (
      id INTEGER PRIMARY KEY,
      anything,
      num INTEGER,
      ratio REAL,
      empty TEXT,
      tiny TINYINT UNSIGNED,
      yr YEAR,
      kind ENUM,
      memo LONGVARCHAR,
      shape POINT
    );

    CREATE TABLE texts (
      id INTEGER PRIMARY KEY,
      good TEXT,
      nul TEXT,
      bad TEXT,
      utf8_blobs TEXT,
      raw BLOB,
      json_doc TEXT
    );

    CREATE TABLE numbers (
      id INTEGER PRIMARY KEY,
      big INTEGER NOT NULL,
      mixbig,
      price NUMERIC(10,2),
      amount DECIMAL(5,2),
      plain_numeric NUMERIC
    );

    CREATE TABLE times (
      id INTEGER PRIMARY KEY,
      iso DATETIME,
      isotz TIMESTAMP,
      epoch_s DATETIME,
      epoch_ms DATETIME DEFAULT (strftime('%s','now') * 1000),
      day DATE,
      ymd DATE,
      bad DATETIME,
      clock TIME,
      created DATETIME DEFAULT (datetime('now')),
      stamp TEXT DEFAULT (strftime('%Y-%m-%d %H:%M:%S','now'))
    );

    CREATE TABLE flags (id INTEGER PRIMARY KEY, b01 BOOLEAN NOT NULL DEFAULT 0, btf BOOLEAN, bword BOOL, bother BOOLEAN);

    CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID;
    CREATE TABLE pairs (a INTEGER NOT NULL, b TEXT NOT NULL, v, PRIMARY KEY (b, a));
    CREATE TABLE nokey (msg TEXT, n INTEGER);
    CREATE TABLE desc_key (id INTEGER PRIMARY KEY DESC, v TEXT);

    CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT UNIQUE);
    CREATE TABLE child (
      id INTEGER PRIMARY KEY,
      parent_id INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED,
      other_id INTEGER REFERENCES parent (id),
      qty INTEGER CHECK (qty >= 0)
    );
    CREATE INDEX child_parent ON child (parent_id);
    CREATE TABLE store (id INTEGER PRIMARY KEY, manager_id INTEGER REFERENCES staff (id) DEFERRABLE INITIALLY DEFERRED);
    CREATE TABLE staff (id INTEGER PRIMARY KEY, store_id INTEGER NOT NULL REFERENCES store (id), boss_id INTEGER REFERENCES staff (id));

    CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT COLLATE NOCASE, nick TEXT);
    CREATE INDEX people_name ON people (name);
    CREATE TABLE coll_keyed (code TEXT PRIMARY KEY COLLATE NOCASE, v INTEGER);
    CREATE TABLE tags (tag TEXT COLLATE NOCASE PRIMARY KEY, n INTEGER) WITHOUT ROWID;

    CREATE TABLE gen (id INTEGER PRIMARY KEY, name TEXT, v TEXT GENERATED ALWAYS AS (app_norm(name)) VIRTUAL, s TEXT GENERATED ALWAYS AS (app_norm(name)) STORED);

    CREATE VIEW parent_names AS SELECT name FROM parent;
    CREATE TRIGGER child_touch AFTER UPDATE ON child BEGIN SELECT 1; END;
    CREATE VIRTUAL TABLE docs USING fts5(title, body);
    CREATE VIRTUAL TABLE boxes USING rtree(id, minx, maxx);
  `);

  const tx = db.transaction(() => {
    const sel = db.prepare('INSERT INTO "select" ("from", "Mixed Case", "quote""d", "space col") VALUES (?, ?, ?, ?)');
    sel.run(1, 'CamelCase', 'it"s', 10);
    sel.run(2, 'héllo wörld ✓ 😀', "'single'", null);
    sel.run(3, '', null, -1);
    db.prepare('INSERT INTO "Weird ""Table"" Name" VALUES (?, ?, ?)').run(1, 'tab\there\nnewline\\backslash', 1e-300);

    const mixed = db.prepare('INSERT INTO mixed VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    mixed.run(1, 42n, 1, 1.5, '', 255, 2006, 'G', 'long text', Buffer.from([1, 2, 3]));
    mixed.run(2, 3.25, 'two', 'n/a', null, 0, 1999, 'PG-13', '', Buffer.from([0]));
    mixed.run(3, 'text', 3, 2, ' ', 1, null, null, null, null);
    mixed.run(4, Buffer.from([0xde, 0xad, 0xbe, 0xef]), '', 1e308, '', null, 2024, 'R', 'x', Buffer.alloc(0));
    mixed.run(5, null, null, null, null, null, null, null, null, null);
    mixed.run(6, -9223372036854775808n, 9223372036854775807n, 0.5, 'nul\u0000inside', 7, 0, '', 'ü', Buffer.from('POINT(1 2)'));

    const texts = db.prepare(`INSERT INTO texts VALUES (?, ?, ?, CAST(? AS TEXT), ?, ?, ?)`);
    texts.run(1, 'plain', 'a\u0000b', Buffer.from([0x61, 0xff, 0x62]), Buffer.from('utf8 blob ✓'), Buffer.from([0, 1, 2, 255]), '{"a": [1, 2]}');
    texts.run(2, 'ünïcödé 中文 🎉', '\u0000', Buffer.from([0xc3]), 'text', Buffer.alloc(0), 'not json');
    texts.run(3, '', '', Buffer.from([0x80, 0x41]), null, null, null);
    texts.run(5, 'ok', 'ok', Buffer.from('valid'), 'ok', Buffer.from('ok'), '{}');
    texts.run(4, null, null, null, Buffer.from([0x68, 0x69]), Buffer.from('text in a blob'), '[]');

    const numbers = db.prepare('INSERT INTO numbers VALUES (?, ?, ?, ?, ?, ?)');
    numbers.run(9223372036854775807n, 9223372036854775807n, 9007199254740993n, 19.99, 999.99, '123456789012345678');
    numbers.run(-9223372036854775808n, -9223372036854775808n, 0.1, 0, 12345.678, 1.5);
    numbers.run(9007199254740993n, 9007199254740993n, -9007199254740995n, 0.1, -1, 0);
    numbers.run(1, 2147483648n, null, null, null, null);

    const times = db.prepare('INSERT INTO times (id, iso, isotz, epoch_s, epoch_ms, day, ymd, bad, clock) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    times.run(1, '2024-01-31 23:59:59', '2024-01-31T23:59:59Z', 1_700_000_000, 1_700_000_000_123n, 19_723 * 86_400, 20240131, '2021-02-30 10:00:00', '10:00:00');
    times.run(2, '2024-02-29T12:00:00.123456', '2024-02-29 12:00:00+05:30', 0, 0, 0, 19991231, 'tomorrow', '23:59:59.5');
    times.run(3, '1999-12-31', '1999-12-31T00:00:00.000Z', -86_400, -1, -86_400, 20000101, '2024-01-01 10:00:00', '00:00');
    times.run(4, null, null, null, null, null, null, null, null);

    const flags = db.prepare('INSERT INTO flags VALUES (?, ?, ?, ?, ?)');
    flags.run(1, 1, 't', 'true', 1);
    flags.run(2, 0, 'f', 'FALSE', 2);
    flags.run(3, 1, null, null, 0);

    const kv = db.prepare('INSERT INTO kv VALUES (?, ?)');
    for (const k of ['a', 'B', 'b', 'é', 'Z', '', ' ', '10', '9']) kv.run(k, Buffer.from(k));
    const pairs = db.prepare('INSERT INTO pairs VALUES (?, ?, ?)');
    pairs.run(1, 'x', 'one');
    pairs.run(2, 'x', 2);
    pairs.run(1, 'Y', null);
    const nokey = db.prepare('INSERT INTO nokey VALUES (?, ?)');
    nokey.run('dup', 1);
    nokey.run('dup', 1);
    nokey.run(null, null);
    db.prepare('INSERT INTO desc_key VALUES (?, ?)').run(5, 'five');
    db.prepare('INSERT INTO desc_key VALUES (?, ?)').run(-3, 'minus three');

    db.exec(`
      INSERT INTO parent VALUES (1, 'one'), (2, 'two');
      INSERT INTO child VALUES (10, 1, 2, 0), (11, 99, 1, 5), (12, NULL, 98, 1);
      INSERT INTO store VALUES (1, 100), (2, NULL);
      INSERT INTO staff VALUES (100, 1, NULL), (101, 1, 100), (102, 3, 101);
      INSERT INTO people (name, nick) VALUES ('Bob', 'b'), ('alice', 'a'), ('ALICE', NULL);
      INSERT INTO coll_keyed VALUES ('b', 1), ('A', 2), ('c', 3);
      INSERT INTO tags VALUES ('x', 1);
      INSERT INTO gen (id, name) VALUES (1, 'Bob'), (2, NULL);
      INSERT INTO docs VALUES ('hello', 'full text');
      INSERT INTO boxes VALUES (1, 0, 1);
    `);

    // Enough rows to span several snapshot chunks and checksum ranges.
    const bulk = db.prepare('INSERT INTO mixed (id, anything, num, ratio, empty) VALUES (?, ?, ?, ?, ?)');
    for (let i = 0; i < BULK_ROWS; i++) {
      const id = 1000 + i;
      const anything = i % 5 === 0 ? BigInt(i) * 1_000_000_007n : i % 5 === 1 ? i / 7 : i % 5 === 2 ? `row ${i}` : i % 5 === 3 ? Buffer.from([i & 255, 0]) : null;
      bulk.run(id, anything, i, i / 3, i % 2 === 0 ? '' : null);
    }
  });
  tx();
  db.close();

  // The application registers its own collation; a file that names it is what it leaves behind.
  const rewrite = new Database(path);
  rewrite.unsafeMode(true);
  rewrite.pragma('writable_schema = ON');
  rewrite.prepare("UPDATE sqlite_schema SET sql = replace(sql, 'COLLATE NOCASE', ?) WHERE name IN ('people', 'coll_keyed', 'tags')").run(`COLLATE ${FOREIGN_COLLATION}`);
  rewrite.pragma('writable_schema = OFF');
  rewrite.close();
}
