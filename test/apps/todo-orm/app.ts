import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { Between, DataSource, type Repository } from 'typeorm';
import { mulberry32 } from '@liteshift/shared';
import { MIGRATIONS, dialectOf, entities, type Dialect, type RecurringPattern, type Task, type TaskStatus, type User } from './schema.js';

/**
 * A small Todo backend written with TypeORM, as an application would be: one module, the
 * database chosen by DATABASE_URL alone (`sqlite:///path/app.db` or `postgres://…`). It
 * creates its schema with its own migrations, does what its users do (sign up, add, start,
 * complete, star, reschedule and delete tasks), and checks what an application relies on
 * after a move to PostgreSQL: the same answers, aware datetimes, real booleans, password
 * hashes that verify, new ids past the old ones.
 */
export class TodoApp {
  readonly dialect: Dialect;
  private constructor(readonly dataSource: DataSource) {
    this.dialect = dialectOf(dataSource);
  }

  static async open(databaseUrl: string): Promise<TodoApp> {
    const dataSource = new DataSource(dataSourceOptions(databaseUrl));
    await dataSource.initialize();
    return new TodoApp(dataSource);
  }

  close(): Promise<void> {
    return this.dataSource.destroy();
  }

  get users(): Repository<User> {
    return this.dataSource.getRepository<User>('User');
  }

  get tasks(): Repository<Task> {
    return this.dataSource.getRepository<Task>('Task');
  }

  get patterns(): Repository<RecurringPattern> {
    return this.dataSource.getRepository<RecurringPattern>('RecurringPattern');
  }

  /** Runs the application's pending migrations, the first `upTo` of them at most; returns the names run. */
  async migrate(upTo = MIGRATIONS.length): Promise<string[]> {
    // TypeORM runs every pending migration it is shown: it is shown only those wanted.
    const runner = new DataSource({ ...this.dataSource.options, migrations: MIGRATIONS.slice(0, upTo) });
    await runner.initialize();
    try {
      return (await runner.runMigrations({ transaction: 'each' })).map((m) => m.name);
    } finally {
      await runner.destroy();
    }
  }

  async createUser(email: string, password: string, displayName: string): Promise<User> {
    return this.users.save(this.users.create({ email, passwordHash: hashPassword(password), displayName, isAdmin: false }));
  }

  async signIn(email: string, password: string): Promise<User | null> {
    const user = await this.users.findOneBy({ email });
    return user && verifyPassword(user.passwordHash, password) ? user : null;
  }

  async addPattern(userId: number, rule: RecurringPattern['rule'], intervalDays: number, startsAt: Date): Promise<RecurringPattern> {
    return this.patterns.save(this.patterns.create({ userId, rule, intervalDays, startsAt, active: true }));
  }

  async addTask(userId: number, fields: Partial<Pick<Task, 'title' | 'dueAt' | 'priority' | 'isStarred' | 'recurringPatternId'>>): Promise<Task> {
    return this.tasks.save(this.tasks.create({ title: 'untitled', status: 'todo', priority: 0, isStarred: false, dueAt: null, recurringPatternId: null, ...fields, userId }));
  }

  async startTask(id: number): Promise<void> {
    await this.tasks.update(id, { status: 'doing' });
  }

  async completeTask(id: number, at: Date): Promise<void> {
    await this.tasks.update(id, { status: 'done', completedAt: at });
  }

  async rescheduleTask(id: number, dueAt: Date): Promise<void> {
    await this.tasks.update(id, { dueAt });
  }

  async toggleStar(id: number): Promise<void> {
    const task = await this.tasks.findOneByOrFail({ id });
    await this.tasks.update(id, { isStarred: !task.isStarred });
  }

  async deleteTask(id: number): Promise<void> {
    await this.tasks.delete(id);
  }

  /** Users with tasks and patterns, the same for the same `seed`: dates to the millisecond, as the application keeps them. */
  async seed(options: { users: number; tasksPerUser: number; seed?: number }): Promise<void> {
    const random = mulberry32(options.seed ?? 1);
    for (let u = 1; u <= options.users; u++) {
      const user = await this.createUser(emailOf(u), passwordOf(u), `User ${u}`);
      const pattern = await this.addPattern(user.id, (['daily', 'weekly', 'monthly'] as const)[u % 3]!, 1 + (u % 7), at(random, 0, 30));
      for (let t = 1; t <= options.tasksPerUser; t++) {
        const task = await this.addTask(user.id, {
          title: `Task ${t} of user ${u}`,
          dueAt: random() < 0.15 ? null : at(random, 0, 90),
          priority: Math.floor(random() * 4),
          isStarred: random() < 0.3,
          recurringPatternId: random() < 0.2 ? pattern.id : null,
        });
        const r = random();
        if (r < 0.3) await this.completeTask(task.id, at(random, 10, 60));
        else if (r < 0.5) await this.startTask(task.id);
      }
    }
  }

  /** A round of what the application's users do: sign up, add tasks, start, complete, star, reschedule, delete. */
  async work(round: number): Promise<void> {
    const random = mulberry32(1000 + round);
    const user = await this.createUser(`round${round}@example.com`, `pw-round-${round}`, `Round ${round}`);
    const others = await this.users.find({ order: { id: 'ASC' }, take: 5 });
    for (const owner of [user, ...others]) {
      const task = await this.addTask(owner.id, { title: `Round ${round} for ${owner.email}`, dueAt: at(random, 20, 80), priority: 2 });
      await this.toggleStar(task.id);
    }
    const open = await this.tasks.find({ where: { status: 'todo' }, order: { id: 'ASC' }, take: 6 });
    if (open[0]) await this.startTask(open[0].id);
    if (open[1]) await this.completeTask(open[1].id, at(random, 40, 70));
    if (open[2]) await this.rescheduleTask(open[2].id, at(random, 60, 90));
    if (open[3]) await this.deleteTask(open[3].id);
  }

  /** What the application answers, through the ORM: the same numbers and instants on either database. */
  async report(): Promise<TodoReport> {
    const byStatus = {} as Record<TaskStatus, number>;
    for (const status of ['todo', 'doing', 'done'] as const) byStatus[status] = await this.tasks.countBy({ status });
    const perUser = (await this.tasks
      .createQueryBuilder('t')
      .select('t.user_id', 'userId')
      .addSelect('COUNT(*)', 'n')
      .groupBy('t.user_id')
      .orderBy('t.user_id')
      .getRawMany()) as { userId: number | string; n: number | string }[];
    const first = await this.tasks.find({ order: { id: 'ASC' }, take: 8 });
    const max = async (repo: Repository<{ id: number }>): Promise<number> => Number((await repo.createQueryBuilder('x').select('MAX(x.id)', 'm').getRawOne())?.m ?? 0);
    return {
      users: await this.users.count(),
      tasks: await this.tasks.count(),
      patterns: await this.patterns.count(),
      byStatus,
      dueFirstWeekOfMarch: await this.tasks.countBy({ dueAt: Between(new Date('2026-03-01T00:00:00Z'), new Date('2026-03-08T00:00:00Z')) }),
      doneInFebruary: await this.tasks.countBy({ status: 'done', completedAt: Between(new Date('2026-02-01T00:00:00Z'), new Date('2026-03-01T00:00:00Z')) }),
      starred: await this.tasks.countBy({ isStarred: true }),
      perUser: Object.fromEntries(perUser.map((r) => [String(r.userId), Number(r.n)])),
      firstTasks: first.map((t) => ({
        id: t.id,
        status: t.status,
        isStarred: t.isStarred,
        dueAt: t.dueAt?.toISOString() ?? null,
        completedAt: t.completedAt?.toISOString() ?? null,
        createdAt: t.createdAt.toISOString(),
      })),
      maxIds: { users: await max(this.users), tasks: await max(this.tasks), patterns: await max(this.patterns) },
    };
  }

  /**
   * What the application relies on, checked through the ORM against what it answered
   * before (on SQLite): returns the problems found, none when all is well. It writes a
   * user and a task of its own (new ids must come after the largest existing one).
   */
  async check(before: TodoReport): Promise<string[]> {
    const problems: string[] = [];
    const now = await this.report();
    for (const key of Object.keys(before) as (keyof TodoReport)[]) {
      if (key === 'maxIds') continue;
      if (JSON.stringify(now[key]) !== JSON.stringify(before[key])) problems.push(`${key}: ${JSON.stringify(now[key])}, was ${JSON.stringify(before[key])}`);
    }
    const isDate = (d: unknown): boolean => d instanceof Date && !Number.isNaN(d.getTime());
    for (const task of await this.tasks.find()) {
      if (typeof task.isStarred !== 'boolean') problems.push(`task ${task.id}: is_starred is ${typeof task.isStarred}, not boolean`);
      if (typeof task.id !== 'number') problems.push(`task ${task.id}: id is ${typeof task.id}, not number`);
      for (const field of ['createdAt', 'updatedAt', 'dueAt', 'completedAt'] as const) {
        if (task[field] !== null && !isDate(task[field])) problems.push(`task ${task.id}: ${field} is ${String(task[field])}, not a date`);
      }
    }
    for (const user of await this.users.find()) {
      if (typeof user.isAdmin !== 'boolean') problems.push(`user ${user.id}: is_admin is ${typeof user.isAdmin}, not boolean`);
    }
    for (const u of [1, 2, 3]) if (!(await this.signIn(emailOf(u), passwordOf(u)))) problems.push(`${emailOf(u)}: the password does not verify`);
    if (await this.signIn(emailOf(1), 'wrong')) problems.push('a wrong password verifies');

    // New rows: ids after the largest migrated one, instants kept to the millisecond, found by range.
    const probe = await this.createUser(`probe-${this.dialect}@example.com`, 'probe-pw', 'Probe');
    if (probe.id <= before.maxIds.users) problems.push(`new user id ${probe.id} is not past the largest migrated one (${before.maxIds.users})`);
    if (!(await this.signIn(probe.email, 'probe-pw'))) problems.push('a new user cannot sign in');
    const due = new Date('2026-03-04T23:45:06.789Z');
    const task = await this.addTask(probe.id, { title: 'probe', dueAt: due });
    if (task.id <= before.maxIds.tasks) problems.push(`new task id ${task.id} is not past the largest migrated one (${before.maxIds.tasks})`);
    await this.completeTask(task.id, new Date('2026-02-14T12:00:00.000Z'));
    const read = await this.tasks.findOneByOrFail({ id: task.id });
    if (read.dueAt?.getTime() !== due.getTime()) problems.push(`a new task's due date reads back as ${read.dueAt?.toISOString()}, not ${due.toISOString()}`);
    if (read.status !== 'done' || !isDate(read.completedAt)) problems.push('a completed task does not read back done with its date');
    const after = await this.report();
    if (after.dueFirstWeekOfMarch !== now.dueFirstWeekOfMarch + 1) problems.push(`the date range counts ${after.dueFirstWeekOfMarch} after adding one task due in it, was ${now.dueFirstWeekOfMarch}`);
    if (after.doneInFebruary !== now.doneInFebruary + 1) problems.push(`tasks done in February: ${after.doneInFebruary} after completing one, was ${now.doneInFebruary}`);
    return problems;
  }
}

export interface TodoReport {
  users: number;
  tasks: number;
  patterns: number;
  byStatus: Record<TaskStatus, number>;
  dueFirstWeekOfMarch: number;
  doneInFebruary: number;
  starred: number;
  perUser: Record<string, number>;
  firstTasks: { id: number; status: string; isStarred: boolean; dueAt: string | null; completedAt: string | null; createdAt: string }[];
  maxIds: { users: number; tasks: number; patterns: number };
}

/** The data source of a DATABASE_URL: `postgres://…`, or `sqlite:///absolute/path` (also `file:`). */
export function dataSourceOptions(databaseUrl: string): ConstructorParameters<typeof DataSource>[0] {
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) {
    // Ids are bigint once in PostgreSQL: numbers, as on SQLite.
    return { type: 'postgres', url: databaseUrl, entities: entities('postgres'), parseInt8: true };
  }
  const path = /^(?:sqlite|file):(?:\/\/)?(.+)$/.exec(databaseUrl)?.[1];
  if (!path) throw new Error(`DATABASE_URL must be postgres://… or sqlite:///path, not ${databaseUrl}`);
  return { type: 'better-sqlite3', database: path, entities: entities('sqlite'), timeout: 10_000 };
}

function hashPassword(password: string): string {
  const salt = randomBytes(16);
  return `scrypt$${salt.toString('base64')}$${scryptSync(password, salt, 32).toString('base64')}`;
}

function verifyPassword(stored: string, password: string): boolean {
  const [scheme, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  return timingSafeEqual(scryptSync(password, Buffer.from(salt, 'base64'), expected.length), expected);
}

export const emailOf = (u: number): string => `user${u}@example.com`;
export const passwordOf = (u: number): string => `pw-${u}-secret`;

/** An instant `from` to `to` days after 2026-01-05 UTC, to the millisecond. */
function at(random: () => number, from: number, to: number): Date {
  return new Date(Date.UTC(2026, 0, 5) + Math.floor((from + random() * (to - from)) * 86_400_000));
}
