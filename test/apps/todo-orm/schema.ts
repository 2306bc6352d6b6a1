import { EntitySchema, Table, TableColumn, type DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * The Todo application's model, as TypeORM knows it. One module drives SQLite (through
 * better-sqlite3) and PostgreSQL: only the name of the date-time type differs, chosen by
 * the driver, as an application's own code does (SQLite has no timestamptz, PostgreSQL
 * no datetime). On SQLite TypeORM writes a Date as naive UTC text ('2026-01-05 09:30:00.250')
 * and reads it back as UTC; on PostgreSQL it expects timestamptz.
 */
export type Dialect = 'sqlite' | 'postgres';

export interface User {
  id: number;
  email: string;
  passwordHash: string;
  displayName: string;
  isAdmin: boolean;
  createdAt: Date;
}

export interface RecurringPattern {
  id: number;
  userId: number;
  rule: 'daily' | 'weekly' | 'monthly';
  intervalDays: number;
  startsAt: Date;
  active: boolean;
}

export type TaskStatus = 'todo' | 'doing' | 'done';

export interface Task {
  id: number;
  userId: number;
  recurringPatternId: number | null;
  title: string;
  status: TaskStatus;
  priority: number;
  dueAt: Date | null;
  completedAt: Date | null;
  isStarred: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export function dateTimeType(dialect: Dialect): 'timestamptz' | 'datetime' {
  return dialect === 'postgres' ? 'timestamptz' : 'datetime';
}

export function dialectOf(dataSource: DataSource): Dialect {
  return dataSource.options.type === 'postgres' ? 'postgres' : 'sqlite';
}

export function entities(dialect: Dialect): EntitySchema[] {
  const dt = dateTimeType(dialect);
  const id = { type: 'integer', primary: true, generated: 'increment' } as const;
  return [
    new EntitySchema<User>({
      name: 'User',
      tableName: 'users',
      columns: {
        id,
        email: { type: 'varchar', length: 200, unique: true },
        passwordHash: { name: 'password_hash', type: 'varchar', length: 200 },
        displayName: { name: 'display_name', type: 'varchar', length: 100 },
        isAdmin: { name: 'is_admin', type: 'boolean', default: false },
        createdAt: { name: 'created_at', type: dt, createDate: true },
      },
    }),
    new EntitySchema<RecurringPattern>({
      name: 'RecurringPattern',
      tableName: 'recurring_patterns',
      columns: {
        id,
        userId: { name: 'user_id', type: 'integer' },
        rule: { type: 'varchar', length: 20 },
        intervalDays: { name: 'interval_days', type: 'integer' },
        startsAt: { name: 'starts_at', type: dt },
        active: { type: 'boolean', default: true },
      },
    }),
    new EntitySchema<Task>({
      name: 'Task',
      tableName: 'tasks',
      columns: {
        id,
        userId: { name: 'user_id', type: 'integer' },
        recurringPatternId: { name: 'recurring_pattern_id', type: 'integer', nullable: true },
        title: { type: 'varchar', length: 500 },
        status: { type: 'varchar', length: 10, default: 'todo' },
        priority: { type: 'integer', default: 0 },
        dueAt: { name: 'due_at', type: dt, nullable: true },
        completedAt: { name: 'completed_at', type: dt, nullable: true },
        isStarred: { name: 'is_starred', type: 'boolean', default: false },
        createdAt: { name: 'created_at', type: dt, createDate: true },
        updatedAt: { name: 'updated_at', type: dt, updateDate: true },
      },
    }),
  ];
}

const dateTimeOf = (q: QueryRunner): string => dateTimeType(dialectOf(q.connection));
const idColumn = { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' } as const;

/** The first schema, as the application's migration created it. */
export class CreateTodoSchema1767225600000 implements MigrationInterface {
  name = 'CreateTodoSchema1767225600000';

  async up(q: QueryRunner): Promise<void> {
    const dt = dateTimeOf(q);
    await q.createTable(
      new Table({
        name: 'users',
        columns: [
          idColumn,
          { name: 'email', type: 'varchar', length: '200', isUnique: true },
          { name: 'password_hash', type: 'varchar', length: '200' },
          { name: 'display_name', type: 'varchar', length: '100' },
          { name: 'is_admin', type: 'boolean', default: false },
          { name: 'created_at', type: dt, default: 'CURRENT_TIMESTAMP' },
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'recurring_patterns',
        columns: [
          idColumn,
          { name: 'user_id', type: 'integer' },
          { name: 'rule', type: 'varchar', length: '20' },
          { name: 'interval_days', type: 'integer' },
          { name: 'starts_at', type: dt },
          { name: 'active', type: 'boolean', default: true },
        ],
        foreignKeys: [{ columnNames: ['user_id'], referencedTableName: 'users', referencedColumnNames: ['id'], onDelete: 'CASCADE' }],
      }),
    );
    await q.createTable(
      new Table({
        name: 'tasks',
        columns: [
          idColumn,
          { name: 'user_id', type: 'integer' },
          { name: 'recurring_pattern_id', type: 'integer', isNullable: true },
          { name: 'title', type: 'varchar', length: '120' },
          { name: 'status', type: 'varchar', length: '10', default: "'todo'" },
          { name: 'priority', type: 'integer', default: 0 },
          { name: 'due_at', type: dt, isNullable: true },
          { name: 'completed_at', type: dt, isNullable: true },
          { name: 'is_starred', type: 'boolean', default: false },
          { name: 'created_at', type: dt, default: 'CURRENT_TIMESTAMP' },
          { name: 'updated_at', type: dt, default: 'CURRENT_TIMESTAMP' },
        ],
        foreignKeys: [
          { columnNames: ['user_id'], referencedTableName: 'users', referencedColumnNames: ['id'], onDelete: 'CASCADE' },
          { columnNames: ['recurring_pattern_id'], referencedTableName: 'recurring_patterns', referencedColumnNames: ['id'], onDelete: 'SET NULL' },
        ],
        indices: [
          { name: 'IDX_tasks_user_status', columnNames: ['user_id', 'status'] },
          { name: 'IDX_tasks_due_at', columnNames: ['due_at'] },
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['tasks', 'recurring_patterns', 'users']) await q.dropTable(table);
  }
}

/**
 * A later migration that alters a column: titles may be longer. On SQLite TypeORM rebuilds
 * the table (CREATE temporary_tasks, copy, DROP tasks, RENAME), as every ORM does there.
 */
export class WidenTaskTitle1767312000000 implements MigrationInterface {
  name = 'WidenTaskTitle1767312000000';

  async up(q: QueryRunner): Promise<void> {
    await q.changeColumn('tasks', 'title', new TableColumn({ name: 'title', type: 'varchar', length: '500' }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.changeColumn('tasks', 'title', new TableColumn({ name: 'title', type: 'varchar', length: '120' }));
  }
}

/** In the order they run. */
export const MIGRATIONS = [CreateTodoSchema1767225600000, WidenTaskTitle1767312000000];
