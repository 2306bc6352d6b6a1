import { deleteTopicsWithPrefix, uniquePrefix } from './kafka.js';
import { adminQuery, createTestDatabase, type TestDatabase } from './postgres.js';

/** The target databases and topic prefixes a test file migrates into, all dropped by `dropAll`. */
export class MigrationTargets {
  private readonly databases: TestDatabase[] = [];
  private readonly prefixes: string[] = [];

  constructor(
    private readonly adminUrl: string,
    private readonly brokers: string,
  ) {}

  /** A fresh database (its sessions in `timezone` when given: the database's own setting, never the server's) and topic prefix. */
  async create(label: string, options: { timezone?: string } = {}): Promise<{ url: string; name: string; prefix: string }> {
    const db = await createTestDatabase(this.adminUrl, label);
    this.databases.push(db);
    if (options.timezone) await adminQuery(this.adminUrl, `ALTER DATABASE "${db.name}" SET timezone = '${options.timezone.replace(/'/g, "''")}'`);
    const prefix = uniquePrefix(label);
    this.prefixes.push(prefix);
    return { url: db.url, name: db.name, prefix };
  }

  async dropAll(): Promise<void> {
    for (const db of this.databases) await db.drop();
    for (const prefix of this.prefixes) await deleteTopicsWithPrefix(this.brokers, prefix);
  }
}
