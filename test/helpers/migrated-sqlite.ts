import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { expect, inject } from 'vitest';
import { createTodoDatabase, type TodoDatabaseOptions } from '@liteshift/shared';
import { describeRun, migrateArgs, runCli } from './cli.js';
import { deleteTopicsWithPrefix, uniquePrefix } from './kafka.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';

/**
 * A SQLite file (the demo database, or a copy of one) in a directory of its own, migrated
 * (`liteshift migrate`, READY) into a PostgreSQL database and through a topic prefix of its
 * own: where the way back starts. `destroy()` drops all three.
 */
export class MigratedSqlite {
  readonly brokers = inject('kafkaBrokers');
  readonly prefix: string;
  dir = '';
  sqlitePath = '';
  target: TestDatabase | null = null;

  constructor(private readonly label: string) {
    this.prefix = uniquePrefix(label);
  }

  get url(): string {
    if (!this.target) throw new Error('create() first');
    return this.target.url;
  }

  /** The demo database; `prepare` adds to it before the migration (tables the demo lacks). */
  create(counts: TodoDatabaseOptions, prepare?: (path: string) => void): Promise<void> {
    return this.migrate('todo.db', (path) => {
      createTodoDatabase(path, counts);
      prepare?.(path);
    });
  }

  /** A copy of `file` (the corpus's sample databases). */
  createFrom(file: string): Promise<void> {
    return this.migrate(basename(file), (path) => copyFileSync(file, path));
  }

  private async migrate(name: string, build: (path: string) => void): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), `liteshift-${this.label}-`));
    this.sqlitePath = join(this.dir, name);
    build(this.sqlitePath);
    this.target = await createTestDatabase(inject('adminDatabaseUrl'), this.label);
    const run = await runCli(migrateArgs({ sqlitePath: this.sqlitePath, databaseUrl: this.target.url, brokers: this.brokers, prefix: this.prefix }), {}, 300_000);
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.stdout, describeRun(run)).toMatch(/verdict: READY/);
  }

  /** `liteshift export-sqlite` of this database into `path`, plus `extra` flags. */
  exportArgs(path: string, ...extra: string[]): string[] {
    return ['export-sqlite', '--sqlite-path', path, '--postgres-url', this.url, '--kafka-brokers', this.brokers, '--topic-prefix', this.prefix, ...extra];
  }

  async destroy(): Promise<void> {
    await this.target?.drop();
    await deleteTopicsWithPrefix(this.brokers, this.prefix);
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
