import { rmSync } from 'node:fs';
import Database from 'better-sqlite3';

export interface TodoDatabaseOptions {
  users?: number;
  tasks?: number;
  recurringPatterns?: number;
  /** Same seed, same counts: byte-for-byte the same rows. */
  seed?: number;
  /** Called after each committed batch, so a caller can show progress without this module printing. */
  onProgress?: (table: string, done: number, total: number) => void;
}

export interface TodoDatabaseCounts {
  users: number;
  tasks: number;
  recurringPatterns: number;
}

/** The schema a FastAPI + SQLAlchemy todo app would have created; kept verbatim so migrations meet the real thing. */
const TABLES_DDL = `
CREATE TABLE users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  email VARCHAR(255) NOT NULL UNIQUE,
  username VARCHAR(50) NOT NULL UNIQUE,
  hashed_password VARCHAR(255) NOT NULL,
  full_name VARCHAR(100),
  is_active BOOLEAN NOT NULL DEFAULT 1,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at DATETIME
);
CREATE TABLE recurring_patterns (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  frequency VARCHAR(20) NOT NULL CHECK (frequency IN ('daily', 'weekly', 'monthly', 'yearly')),
  interval INTEGER NOT NULL DEFAULT 1,
  days_of_week VARCHAR(20),
  day_of_month INTEGER,
  start_date DATE NOT NULL,
  end_date DATE,
  created_at DATETIME NOT NULL DEFAULT (datetime('now'))
);
CREATE TABLE tasks (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  recurring_pattern_id INTEGER REFERENCES recurring_patterns(id) ON DELETE SET NULL,
  title VARCHAR(200) NOT NULL,
  description TEXT,
  status VARCHAR(20) NOT NULL DEFAULT 'pending',
  priority INTEGER NOT NULL DEFAULT 2,
  due_date DATETIME,
  completed BOOLEAN NOT NULL DEFAULT 0,
  completed_at DATETIME,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
`;

// Built after the rows are in: one sort is much faster than a million random B-tree inserts,
// and sqlite_master ends up identical because these statements come last either way.
const INDEXES_DDL = `
CREATE INDEX ix_tasks_user_id ON tasks (user_id);
CREATE INDEX ix_tasks_due_date ON tasks (due_date);
CREATE INDEX ix_recurring_patterns_user_id ON recurring_patterns (user_id);
`;

const BATCH_SIZE = 50_000;
const DEFAULTS = { users: 1000, tasks: 20_000, recurringPatterns: 2000, seed: 1 } as const;

const RANGE_START = Date.UTC(2023, 0, 1) / 1000;
const RANGE_END = Date.UTC(2025, 11, 31, 23, 59, 59) / 1000;
const DAY = 86_400;

/** mulberry32: tiny, fast and good enough for fake data; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  /** Inclusive on both ends. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }
}

const pad2 = (n: number): string => (n < 10 ? '0' : '') + n;

/** Days since 1970-01-01 to 'YYYY-MM-DD' (Hinnant's civil_from_days); avoids a Date per value on the hot path. */
function formatDate(days: number): string {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return `${y}-${pad2(m)}-${pad2(d)}`;
}

/** Epoch seconds to SQLite's CURRENT_TIMESTAMP text form, so generated rows look like defaulted ones. */
function formatTimestamp(seconds: number): string {
  const days = Math.floor(seconds / DAY);
  const rest = seconds - days * DAY;
  const h = Math.floor(rest / 3600);
  const min = Math.floor((rest % 3600) / 60);
  const s = rest % 60;
  return `${formatDate(days)} ${pad2(h)}:${pad2(min)}:${pad2(s)}`;
}

/** [display form, ASCII form for usernames and emails]; the accented and CJK ones test encodings end to end. */
const FIRST_NAMES: readonly (readonly [string, string])[] = [
  ['James', 'james'], ['Mary', 'mary'], ['Robert', 'robert'], ['Patricia', 'patricia'], ['John', 'john'],
  ['Jennifer', 'jennifer'], ['Michael', 'michael'], ['Linda', 'linda'], ['David', 'david'], ['Elizabeth', 'elizabeth'],
  ['William', 'william'], ['Barbara', 'barbara'], ['Richard', 'richard'], ['Susan', 'susan'], ['Joseph', 'joseph'],
  ['Jessica', 'jessica'], ['Thomas', 'thomas'], ['Sarah', 'sarah'], ['Daniel', 'daniel'], ['Karen', 'karen'],
  ['Priya', 'priya'], ['Wei', 'wei'], ['Amara', 'amara'], ['Lucas', 'lucas'], ['Sofia', 'sofia'],
  ['Mateo', 'mateo'], ['Olga', 'olga'], ['Ahmed', 'ahmed'], ['Fatima', 'fatima'], ['Noah', 'noah'],
];
const LAST_NAMES: readonly (readonly [string, string])[] = [
  ['Smith', 'smith'], ['Johnson', 'johnson'], ['Williams', 'williams'], ['Brown', 'brown'], ['Jones', 'jones'],
  ['Garcia', 'garcia'], ['Miller', 'miller'], ['Davis', 'davis'], ['Rodriguez', 'rodriguez'], ['Martinez', 'martinez'],
  ['Wilson', 'wilson'], ['Anderson', 'anderson'], ['Taylor', 'taylor'], ['Thomas', 'thomas'], ['Moore', 'moore'],
  ['Patel', 'patel'], ['Nguyen', 'nguyen'], ['Kim', 'kim'], ['Okafor', 'okafor'], ['Kowalski', 'kowalski'],
];
const INTERNATIONAL_NAMES: readonly (readonly [string, string, string])[] = [
  ['José García', 'jose', 'garcia'],
  ['Zoë Dubois', 'zoe', 'dubois'],
  ['Renée Lefèvre', 'renee', 'lefevre'],
  ['Jürgen Weiß', 'juergen', 'weiss'],
  ['Günther Straßburger', 'guenther', 'strassburger'],
  ['Björn Åström', 'bjoern', 'astroem'],
  ['Łukasz Wójcik', 'lukasz', 'wojcik'],
  ['François Côté', 'francois', 'cote'],
  ['Çağla Öztürk', 'cagla', 'ozturk'],
  ['山田 太郎', 'taro', 'yamada'],
  ['佐藤 花子', 'hanako', 'sato'],
  ['日本 一郎', 'ichiro', 'nihon'],
  ['Дмитрий Иванов', 'dmitry', 'ivanov'],
  ["Ana O'Neill", 'ana', 'oneill'],
];
const EMAIL_DOMAINS = ['example.com', 'example.org', 'example.net', 'mail.example.com'] as const;
const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

// Short, plausible titles: what people actually type into a todo app.
const TITLES = [
  'Buy milk', 'Pay rent', 'Call mom', 'Book dentist', 'Renew passport', 'Fix leaking tap', 'Water plants', 'Walk the dog',
  'Reply to Anna', 'Gym', 'Laundry', 'Groceries', 'Clean kitchen', 'Submit expenses', 'Plan trip to Kyoto',
  'Order café beans', 'Update résumé', 'Standup notes', 'Backup laptop', 'Cancel Netflix', 'Car service',
  'Pay electricity bill', 'Buy gift for Zoë', 'Email landlord', 'Read chapter 4', 'Prepare slides', 'Tax return',
  'Vet appointment', 'Fix CI pipeline', 'Deploy v2.3', 'Write blog post', 'Return library books', 'Call plumber',
  'Schedule 1:1', 'Change oil', 'Book flights', 'Pick up dry cleaning', 'Mow lawn', 'Meal prep', 'Review PR',
  'Invoice client', 'Renew insurance', 'Haircut', 'Defrost freezer', 'Sort photos', 'Pay credit card',
] as const;
const TITLE_SUFFIXES = [' (urgent)', ' today', ' again', ' before Friday', ' — follow up'] as const;

const WORDS = [
  'remember', 'to', 'the', 'and', 'before', 'after', 'meeting', 'check', 'with', 'team', 'about', 'budget', 'notes',
  'from', 'last', 'week', 'send', 'update', 'client', 'follow', 'up', 'on', 'draft', 'receipt', 'call', 'back',
  'schedule', 'review', 'list', 'items', 'pick', 'order', 'confirm', 'details', 'deadline', 'Monday', 'Friday',
  'morning', 'evening', 'ask', 'Sam', 'share', 'document', 'link', 'in', 'chat', 'maybe', 'also', 'need', 'new',
  'password', 'reset', 'account', 'settings', 'version', 'naïve', 'crème', 'brûlée', 'for', 'dinner', 'at', 'home',
] as const;
// A handful of rows carry what naive CSV/SQL/COPY escaping gets wrong; migrations must preserve them verbatim.
const SPECIAL_CHARS = ["'", '"', '\\', '\t', '\n'] as const;

const DAY_CODES = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'] as const;

function makeDescription(rng: Rng): string {
  // Most notes are a line or so, a few run long: skewed toward 40 but spanning the whole 40–120 range.
  const length = 40 + Math.floor(81 * rng.next() ** 5);
  let text = '';
  while (text.length < length - 1) text += (text ? ' ' : '') + rng.pick(WORDS);
  // Whole words only; the one that overshoots the cap is dropped, which cannot take the text below 40.
  if (text.length > 119) text = text.slice(0, text.lastIndexOf(' ', 119));
  text = text.charAt(0).toUpperCase() + text.slice(1) + '.';
  if (rng.chance(0.012)) {
    const chars = text.split('');
    for (let n = rng.int(1, 3); n > 0; n--) chars[rng.int(1, chars.length - 1)] = rng.pick(SPECIAL_CHARS);
    text = chars.join('');
  }
  return text;
}

function makeTitle(rng: Rng): string {
  const title = rng.pick(TITLES);
  return rng.chance(0.1) ? title + rng.pick(TITLE_SUFFIXES) : title;
}

function makeBcryptHash(rng: Rng): string {
  let hash = '$2b$12$';
  for (let i = 0; i < 53; i++) hash += BCRYPT_ALPHABET[Math.floor(rng.next() * 64)];
  return hash;
}

function removeDatabaseFiles(path: string): void {
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(path + suffix, { force: true });
}

/**
 * Builds a realistic todo-app SQLite database at `path` (replacing whatever is there), in WAL mode,
 * for tests, the demo and the benchmark. Content depends only on the options, never on the clock.
 */
export function createTodoDatabase(path: string, opts: TodoDatabaseOptions = {}): TodoDatabaseCounts {
  const userCount = opts.users ?? DEFAULTS.users;
  const taskCount = opts.tasks ?? DEFAULTS.tasks;
  const patternCount = opts.recurringPatterns ?? DEFAULTS.recurringPatterns;
  for (const [name, value] of Object.entries({ users: userCount, tasks: taskCount, recurringPatterns: patternCount })) {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  }
  if (userCount === 0 && taskCount + patternCount > 0) {
    throw new RangeError('tasks and recurring patterns need at least one user to belong to');
  }
  const rng = new Rng(opts.seed ?? DEFAULTS.seed);
  const onProgress = opts.onProgress;

  removeDatabaseFiles(path);
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    // Safe only because a crash mid-build leaves a file nobody wants anyway.
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -131072');
    db.pragma('temp_store = MEMORY');
    db.exec(TABLES_DDL);

    function insertInBatches(table: string, total: number, insertOne: (id: number) => void): void {
      const runBatch = db.transaction((from: number, to: number) => {
        for (let id = from; id <= to; id++) insertOne(id);
      });
      for (let from = 1; from <= total; from += BATCH_SIZE) {
        const to = Math.min(total, from + BATCH_SIZE - 1);
        runBatch(from, to);
        onProgress?.(table, to, total);
      }
    }

    // Children must not predate their owner, so remember when each user and pattern appeared.
    const userCreated = new Float64Array(userCount + 1);
    const insertUser = db.prepare(
      'INSERT INTO users (id, email, username, hashed_password, full_name, is_active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    insertInBatches('users', userCount, (id) => {
      let fullName: string;
      let first: string;
      let last: string;
      if (rng.chance(0.1)) {
        [fullName, first, last] = rng.pick(INTERNATIONAL_NAMES);
      } else {
        const f = rng.pick(FIRST_NAMES);
        const l = rng.pick(LAST_NAMES);
        fullName = `${f[0]} ${l[0]}`;
        first = f[1];
        last = l[1];
      }
      // The id suffix is what guarantees uniqueness; the names only make it look real.
      const email = `${first}.${last}${id}@${rng.pick(EMAIL_DOMAINS)}`;
      const username = `${first}${rng.pick(['_', '.', ''])}${last}${id}`;
      const created = rng.int(RANGE_START, RANGE_START + Math.floor((RANGE_END - RANGE_START) * 0.8));
      userCreated[id] = created;
      const updated = rng.chance(0.4) ? null : formatTimestamp(rng.int(created, RANGE_END));
      insertUser.run(
        id,
        email,
        username,
        makeBcryptHash(rng),
        rng.chance(0.2) ? null : fullName,
        rng.chance(0.92) ? 1 : 0,
        formatTimestamp(created),
        updated,
      );
    });

    const patternUser = new Int32Array(patternCount + 1);
    const insertPattern = db.prepare(
      'INSERT INTO recurring_patterns (id, user_id, frequency, interval, days_of_week, day_of_month, start_date, end_date, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    insertInBatches('recurring_patterns', patternCount, (id) => {
      const userId = rng.int(1, userCount);
      patternUser[id] = userId;
      const created = rng.int(userCreated[userId] ?? RANGE_START, RANGE_END);
      const roll = rng.next();
      const frequency = roll < 0.3 ? 'daily' : roll < 0.7 ? 'weekly' : roll < 0.95 ? 'monthly' : 'yearly';
      let daysOfWeek: string | null = null;
      if (frequency === 'weekly') {
        daysOfWeek = DAY_CODES.filter(() => rng.chance(0.35)).join(',') || rng.pick(DAY_CODES);
      }
      const startDay = Math.floor(created / DAY) + rng.int(0, 14);
      const lastDay = Math.floor(RANGE_END / DAY);
      const endDate = rng.chance(0.6) ? null : formatDate(Math.min(lastDay, startDay + rng.int(30, 365)));
      insertPattern.run(
        id,
        userId,
        frequency,
        frequency === 'daily' ? rng.pick([1, 1, 1, 2, 3]) : rng.pick([1, 1, 1, 1, 2, 4]),
        daysOfWeek,
        frequency === 'monthly' ? rng.int(1, 28) : null,
        formatDate(Math.min(lastDay, startDay)),
        endDate,
        formatTimestamp(created),
      );
    });

    const insertTask = db.prepare(
      'INSERT INTO tasks (id, user_id, recurring_pattern_id, title, description, status, priority, due_date, completed, completed_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    insertInBatches('tasks', taskCount, (id) => {
      let userId: number;
      let patternId: number | null = null;
      if (patternCount > 0 && rng.chance(0.1)) {
        patternId = rng.int(1, patternCount);
        // A recurring task belongs to whoever owns its pattern.
        userId = patternUser[patternId] ?? 1;
      } else {
        userId = rng.int(1, userCount);
      }
      const created = rng.int(userCreated[userId] ?? RANGE_START, RANGE_END);
      const dueDay = Math.min(Math.floor(RANGE_END / DAY), Math.floor(created / DAY) + rng.int(0, 60));
      const dueDate = rng.chance(0.3) ? null : formatTimestamp(Math.max(created, dueDay * DAY + rng.pick([0, 9, 12, 17, 23]) * 3600));
      const description = rng.chance(0.25) ? null : makeDescription(rng);
      const completed = rng.chance(0.35);
      let status: string;
      let completedAt: number | null = null;
      let updated: number;
      if (completed) {
        status = 'done';
        completedAt = rng.int(created, Math.min(RANGE_END, created + 45 * DAY));
        updated = completedAt;
      } else {
        status = rng.chance(0.25) ? 'in_progress' : 'pending';
        updated = rng.chance(0.5) ? created : rng.int(created, Math.min(RANGE_END, created + 30 * DAY));
      }
      const roll = rng.next();
      insertTask.run(
        id,
        userId,
        patternId,
        makeTitle(rng),
        description,
        status,
        roll < 0.2 ? 1 : roll < 0.7 ? 2 : roll < 0.92 ? 3 : 4,
        dueDate,
        completed ? 1 : 0,
        completedAt === null ? null : formatTimestamp(completedAt),
        formatTimestamp(created),
        formatTimestamp(updated),
      );
    });

    db.exec(INDEXES_DDL);
    db.pragma('synchronous = NORMAL');
    // Leaves a single self-contained file behind, which is what gets copied around and measured.
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  return { users: userCount, tasks: taskCount, recurringPatterns: patternCount };
}
