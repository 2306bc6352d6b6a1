import Database from 'better-sqlite3';
import pg from 'pg';

/**
 * The reads the demo's todo application makes (a FastAPI + SQLAlchemy app: login by
 * email, a user's open tasks by due date, overdue counts, a month's completed tasks, …),
 * as its SQLite and its PostgreSQL dialects spell them. Dates are compared as the
 * application compares them on SQLite: as text, so they only agree when every value is
 * back in the text form the application wrote.
 */
interface AppRead {
  name: string;
  sqlite: string;
  postgres: string;
}

const READS: readonly AppRead[] = [
  {
    name: 'login by email',
    sqlite: 'SELECT id, username, hashed_password, is_active, full_name FROM users WHERE email = $email',
    postgres: 'SELECT id, username, hashed_password, is_active::int AS is_active, full_name FROM users WHERE email = $1',
  },
  {
    name: "a user's open tasks by due date",
    sqlite: 'SELECT id, title, due_date, priority FROM tasks WHERE user_id = $user AND completed = 0 ORDER BY due_date IS NULL, due_date, id',
    postgres: `SELECT id, title, to_char(due_date, 'YYYY-MM-DD HH24:MI:SS') AS due_date, priority FROM tasks WHERE user_id = $1 AND NOT completed ORDER BY due_date IS NULL, due_date, id`,
  },
  {
    name: 'overdue open tasks',
    sqlite: "SELECT count(*) AS n FROM tasks WHERE completed = 0 AND due_date < '2025-06-01 00:00:00'",
    postgres: "SELECT count(*)::int AS n FROM tasks WHERE NOT completed AND due_date < '2025-06-01 00:00:00'",
  },
  {
    name: 'tasks completed in March 2024',
    sqlite: "SELECT count(*) AS n FROM tasks WHERE completed_at >= '2024-03-01' AND completed_at < '2024-04-01'",
    postgres: "SELECT count(*)::int AS n FROM tasks WHERE completed_at >= '2024-03-01' AND completed_at < '2024-04-01'",
  },
  {
    name: 'tasks completed since the switch',
    sqlite: "SELECT id, completed_at FROM tasks WHERE completed_at >= '2026-01-01' ORDER BY completed_at, id",
    postgres: `SELECT id, to_char(completed_at, 'YYYY-MM-DD HH24:MI:SS') || CASE WHEN extract(microseconds FROM completed_at)::int % 1000000 = 0 THEN '' ELSE rtrim(to_char(completed_at, '.US'), '0') END AS completed_at
               FROM tasks WHERE completed_at >= '2026-01-01' ORDER BY completed_at, id`,
  },
  {
    name: 'tasks per status',
    sqlite: 'SELECT status, count(*) AS n FROM tasks GROUP BY status ORDER BY status',
    postgres: 'SELECT status, count(*)::int AS n FROM tasks GROUP BY status ORDER BY status',
  },
  {
    name: 'busiest users',
    sqlite: 'SELECT u.id, u.username, count(t.id) AS n FROM users u LEFT JOIN tasks t ON t.user_id = u.id GROUP BY u.id ORDER BY n DESC, u.id LIMIT 10',
    postgres: 'SELECT u.id, u.username, count(t.id)::int AS n FROM users u LEFT JOIN tasks t ON t.user_id = u.id GROUP BY u.id ORDER BY n DESC, u.id LIMIT 10',
  },
  {
    name: "a user's recurring patterns",
    sqlite: 'SELECT id, frequency, "interval", start_date, end_date FROM recurring_patterns WHERE user_id = $user ORDER BY start_date, id',
    postgres: `SELECT id, frequency, "interval", to_char(start_date, 'YYYY-MM-DD') AS start_date, to_char(end_date, 'YYYY-MM-DD') AS end_date FROM recurring_patterns WHERE user_id = $1 ORDER BY start_date, id`,
  },
  {
    name: 'titles starting with "Buy"',
    sqlite: "SELECT id, title FROM tasks WHERE title LIKE 'Buy%' ORDER BY id LIMIT 50",
    postgres: "SELECT id, title FROM tasks WHERE title LIKE 'Buy%' ORDER BY id LIMIT 50",
  },
];

export interface AppAnswers {
  [read: string]: unknown[];
}

const normal = (rows: Record<string, unknown>[]): unknown[] => rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])));

/** What each read answers on the SQLite file, through the driver the application uses. */
export function sqliteAnswers(path: string, params: { email: string; user: number }): AppAnswers {
  const db = new Database(path, { readonly: true });
  try {
    return Object.fromEntries(
      READS.map((r) => {
        const statement = db.prepare(r.sqlite);
        const wanted = Object.fromEntries(Object.entries(params).filter(([k]) => r.sqlite.includes(`$${k}`)));
        return [r.name, normal(statement.all(wanted) as Record<string, unknown>[])];
      }),
    );
  } finally {
    db.close();
  }
}

export async function postgresAnswers(url: string, params: { email: string; user: number }): Promise<AppAnswers> {
  const client = new pg.Client({ connectionString: url, options: '-c TimeZone=UTC' });
  // bigint ids as numbers, as the application's ORM reads them.
  const types = { getTypeParser: (oid: number, format?: string) => (oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) };
  await client.connect();
  try {
    const out: AppAnswers = {};
    for (const r of READS) {
      const values = r.postgres.includes('$1') ? [r.sqlite.includes('$email') ? params.email : params.user] : [];
      out[r.name] = normal((await client.query({ text: r.postgres, values, types })).rows);
    }
    return out;
  } finally {
    await client.end();
  }
}
