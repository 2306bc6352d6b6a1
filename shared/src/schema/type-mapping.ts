import type { ColumnProfile, ValueKind } from './model.js';

/**
 * Chooses the PostgreSQL type of a column from its declared type *and* the values it
 * actually stores (SQLite lets any column hold any storage class). The rule is: keep
 * every value. A declared type is honoured when every stored value fits it; otherwise
 * the column widens to a type that holds them all, and the reason says so.
 */
export interface TypeChoice {
  kind: ValueKind;
  pgType: string;
  reason: string;
  /** Integers of a date/time column are Unix epochs in this unit. */
  epoch?: 'seconds' | 'milliseconds';
  /** The column is wider than its declared type, so that every value fits. */
  widened?: boolean;
  /** The declared type was kept although some values do not fit it: those rows will be rejected. */
  rejecting?: boolean;
  /** A timestamptz whose text has no UTC offset, read as UTC (ColumnModel.naiveUtc). */
  naiveUtc?: 'adopt' | 'convert';
}

/**
 * What to do when stored values do not fit the declared type: `widen` the column to a
 * type that holds every value (the default: nothing is lost), or keep the declared type
 * and `reject` the rows that do not fit (each reported in liteshift.rejects).
 */
export type MisfitPolicy = 'widen' | 'reject';

/**
 * DATETIME/TIMESTAMP values without a UTC offset (what ORMs write for UTC, and SQLite's own
 * datetime()): `utc` reads them as UTC into timestamptz, as the application meant them and
 * as pgloader does; `naive` keeps timestamp without time zone; `convert` is `utc` and also
 * alters the timestamp columns of a target table an earlier run made.
 */
export type TimestampMode = 'utc' | 'naive' | 'convert';

export interface MappingContext {
  /** INTEGER PRIMARY KEY of a rowid table: SQLite's rowid under another name. */
  rowidAlias?: boolean;
  onMisfit?: MisfitPolicy;
  /** Default utc. */
  timestamps?: TimestampMode;
}

type Affinity = 'INTEGER' | 'TEXT' | 'BLOB' | 'REAL' | 'NUMERIC';

/** SQLite's own affinity rules (https://sqlite.org/datatype3.html §3.1), in their order. */
export function affinityOf(declared: string): Affinity {
  const t = declared.toUpperCase();
  if (t.includes('INT')) return 'INTEGER';
  if (t.includes('CHAR') || t.includes('CLOB') || t.includes('TEXT')) return 'TEXT';
  if (t.includes('BLOB') || t.trim() === '') return 'BLOB';
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return 'REAL';
  return 'NUMERIC';
}

export type TypeFamily = 'boolean' | 'timestamp' | 'timestamptz' | 'date' | 'time' | 'decimal' | 'plain';

/** Families a declared name asks for beyond its affinity (which the profile then checks). */
export function familyOf(declared: string): TypeFamily {
  const t = declared.toUpperCase().replace(/\(.*$/, '').trim();
  if (/\bBOOL(EAN)?\b/.test(t)) return 'boolean';
  if (/^(TIMESTAMPTZ|TIMESTAMP WITH TIME ZONE|DATETIMEOFFSET)$/.test(t)) return 'timestamptz';
  if (/^(DATETIME|DATETIME2|TIMESTAMP|TIMESTAMP WITHOUT TIME ZONE|SMALLDATETIME)$/.test(t)) return 'timestamp';
  if (t === 'DATE') return 'date';
  if (/^TIME( WITHOUT TIME ZONE)?$/.test(t)) return 'time';
  if (/^(DECIMAL|NUMERIC|NUMBER|MONEY|SMALLMONEY)$/.test(t)) return 'decimal';
  return 'plain';
}

/** `(p,s)` of DECIMAL(p,s) / NUMERIC(p,s) when both are sane for PostgreSQL. */
export function numericParams(declared: string): { precision: number; scale: number } | null {
  const m = /\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)/.exec(declared);
  if (!m) return null;
  const precision = Number(m[1]);
  const scale = m[2] === undefined ? 0 : Number(m[2]);
  if (precision < 1 || precision > 1000 || scale > precision) return null;
  return { precision, scale };
}

const PG_TYPE: Record<Exclude<ValueKind, 'numeric'>, string> = {
  integer: 'bigint',
  real: 'double precision',
  text: 'text',
  blob: 'bytea',
  boolean: 'boolean',
  timestamp: 'timestamp',
  timestamptz: 'timestamptz',
  date: 'date',
  time: 'time',
};

export function pgTypeOf(kind: ValueKind, declared = ''): string {
  if (kind !== 'numeric') return PG_TYPE[kind];
  const params = numericParams(declared);
  return params ? `numeric(${params.precision},${params.scale})` : 'numeric';
}

function choice(kind: ValueKind, reason: string, declared = ''): TypeChoice {
  return { kind, pgType: pgTypeOf(kind, declared), reason };
}

const EMPTY_PROFILE: ColumnProfile = { rows: 0, misfits: 0, detailed: false, nulls: 0, integers: 0, reals: 0, texts: 0, blobs: 0 };

/** What a declared type asks for: a kind, and what among the stored values does not fit it. */
interface Wanted {
  kind: ValueKind;
  /** Declared type whose numeric(p,s) parameters the kind keeps. */
  declared?: string;
  epoch?: 'seconds' | 'milliseconds';
  /** Why the kind was chosen beyond the declared name (every value with a zone, epochs). */
  note?: string;
  /** What does not fit, for the reason; null when every value fits. */
  misfit: string | null;
  /** What widening gives instead of the storage classes' own type. */
  widenTo?: TypeChoice;
  /** Said after what the values are, whatever they are: how a timestamp without offset is read. */
  suffix?: string;
  naiveUtc?: 'adopt' | 'convert';
}

export function chooseType(declared: string, profile: ColumnProfile = EMPTY_PROFILE, ctx: MappingContext = {}): TypeChoice {
  const shown = declared.trim() === '' ? 'no declared type' : `declared ${declared.trim()}`;
  if (ctx.rowidAlias) return choice('integer', `${shown}, rowid alias: identity`);
  const p = profile;
  const wanted = wantedBy(declared, p, ctx.timestamps ?? 'utc');
  if (wanted === null) return byStorage(shown, p);
  const kept = (reason: string): TypeChoice => ({
    ...choice(wanted.kind, `${reason}${wanted.suffix ?? ''}`, wanted.declared),
    ...(wanted.epoch ? { epoch: wanted.epoch } : {}),
    ...(wanted.naiveUtc ? { naiveUtc: wanted.naiveUtc } : {}),
  });
  if (wanted.misfit === null) return kept(`${shown}${wanted.note ?? storedSummary(p, declared)}`);
  if (ctx.onMisfit === 'reject') {
    return { ...kept(`${shown}${wanted.note ?? ''} but holds ${wanted.misfit}${storedSummary(p, declared)}: kept, and rows that do not fit are rejected (--on-misfit reject)`), rejecting: true };
  }
  const widened = wanted.widenTo ?? byStorage(`${shown} but holds ${wanted.misfit}`, p);
  return { ...widened, reason: wanted.widenTo ? `${shown} but holds ${wanted.misfit}${storedSummary(p, declared)}: ${wanted.widenTo.reason}` : widened.reason, widened: true };
}

function wantedBy(declared: string, p: ColumnProfile, timestamps: TimestampMode): Wanted | null {
  const family = familyOf(declared);
  switch (family) {
    case 'boolean': {
      const misfits = (p.booleanMisfits ?? 0) + (p.booleanMisfits ? 0 : p.reals + p.blobs);
      return { kind: 'boolean', misfit: misfits > 0 ? `${count(misfits, 'value')} other than 0/1/true/false` : null };
    }
    case 'timestamp':
    case 'timestamptz':
    case 'date':
    case 'time':
      return temporal(family, p, timestamps);
    case 'decimal': {
      if (p.texts + p.blobs > 0) return { kind: 'numeric', declared, misfit: `non-numeric values (${classCounts(p, ['texts', 'blobs'])})` };
      if (numericParams(declared) && p.numericMisfits) {
        return {
          kind: 'numeric',
          declared,
          misfit: `${count(p.numericMisfits, 'number')} that ${p.numericMisfits === 1 ? 'exceeds' : 'exceed'} its precision or scale`,
          widenTo: choice('numeric', 'unconstrained numeric keeps every digit'),
        };
      }
      return { kind: 'numeric', declared, misfit: null };
    }
    case 'plain':
      break;
  }
  switch (affinityOf(declared)) {
    case 'INTEGER':
      // POINT or FLOATING POINT have INTEGER affinity by the letters alone: the values decide.
      if (!isIntegerName(declared)) return null;
      return { kind: 'integer', misfit: p.texts + p.reals + p.blobs > 0 ? classCounts(p, ['texts', 'reals', 'blobs']) : null };
    case 'REAL':
      return { kind: 'real', misfit: p.texts + p.blobs > 0 ? classCounts(p, ['texts', 'blobs']) : null };
    case 'TEXT': {
      // A TEXT column holding only blobs holds binary data: bytea says so and loses nothing.
      if (p.blobs > 0 && p.texts + p.integers + p.reals === 0) return { kind: 'blob', note: ' but every value is a blob', misfit: null };
      const bad = (p.textNotPg ?? 0) + (p.blobsNotText ?? 0);
      if (bad === 0) return { kind: 'text', ...(p.blobs > 0 ? { note: `${storedSummary(p, declared)} (the blobs are UTF-8 text)` } : {}), misfit: null };
      return { kind: 'text', misfit: notPgText(p) };
    }
    case 'BLOB':
    case 'NUMERIC':
      // BLOB, no type at all, or a name SQLite does not know (YEAR, ENUM, STRING): the stored values decide.
      if (declared.trim() !== '' && affinityOf(declared) === 'BLOB' && p.integers + p.reals + p.texts === 0) return { kind: 'blob', misfit: null };
      return null;
  }
}

/** INT, INTEGER, TINYINT UNSIGNED, BIGINT(20), INT8, UNSIGNED BIG INT, INTEGER AUTO_INCREMENT…: names that mean an integer. */
export function isIntegerName(declared: string): boolean {
  const t = declared
    .toUpperCase()
    .replace(/\(.*?\)/g, ' ')
    // MySQL's words, which SQLite takes as part of the type name (`id integer auto_increment primary key`).
    .replace(/\b(UNSIGNED|SIGNED|ZEROFILL|AUTO_INCREMENT)\b/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return /^((TINY|SMALL|MEDIUM|BIG)?INT(EGER)?[248]?|BIG INT)$/.test(t);
}

/** Epoch bounds accepted as plausible dates: 1900-01-01 to 2200-01-01. */
const EPOCH_MIN_S = -2208988800n;
const EPOCH_MAX_S = 7258118400n;

/**
 * The unit of the integers of a date/time column, when every one of them is a plausible
 * epoch: seconds when they all fall between 1900 and 2200 as seconds, else milliseconds
 * when they do as milliseconds. Integers that all read as YYYYMMDD are no epochs.
 */
export function epochUnit(p: ColumnProfile): 'seconds' | 'milliseconds' | null {
  if (p.integers === 0 || p.minInteger === undefined || p.maxInteger === undefined) return null;
  if (p.integersLikeYmd !== undefined && p.integersLikeYmd === p.integers) return null;
  const min = BigInt(p.minInteger);
  const max = BigInt(p.maxInteger);
  if (min >= EPOCH_MIN_S && max <= EPOCH_MAX_S) return 'seconds';
  if (min >= EPOCH_MIN_S * 1000n && max <= EPOCH_MAX_S * 1000n) return 'milliseconds';
  return null;
}

function temporal(family: 'timestamp' | 'timestamptz' | 'date' | 'time', p: ColumnProfile, timestamps: TimestampMode): Wanted {
  const misfits: string[] = [];
  if (p.textMisfits) misfits.push(`${count(p.textMisfits, 'text value')} that ${p.textMisfits === 1 ? 'is' : 'are'} not ISO-8601 ${family === 'timestamptz' ? 'timestamp' : family}s`);
  if (p.reals) misfits.push(count(p.reals, 'real'));
  if (p.blobs) misfits.push(count(p.blobs, 'blob'));
  const unit = family === 'time' ? null : epochUnit(p);
  if (p.integers > 0 && !unit) {
    const why = p.integersLikeYmd === p.integers ? 'read as YYYYMMDD, not as epochs' : 'are not epochs between 1900 and 2200';
    misfits.push(`${count(p.integers, 'integer')} that ${why}`);
  }
  let kind: ValueKind = family;
  const notes: string[] = [];
  if (unit) {
    notes.push(`integers are Unix epochs in ${unit} (${epochRange(p, unit)}), read as UTC`);
    // An epoch with a time of day in a DATE column: a date would drop the time.
    const offDay = unit === 'seconds' ? p.integersOffDay : p.integersOffDayMs;
    if (family === 'date' && offDay) {
      kind = 'timestamp';
      notes.push(`${count(offDay, 'epoch')} with a time of day: timestamp`);
    }
  }
  const zoned = p.textWithZone ?? 0;
  if (family === 'timestamp') {
    if (zoned > 0 && zoned === p.texts) {
      kind = 'timestamptz';
      notes.push('every text value carries a time zone');
    } else if (zoned > 0 && timestamps === 'naive') {
      misfits.push(`${count(zoned, 'text value')} with a time zone among ${p.texts - zoned} without`);
    }
  }
  const note = notes.length ? `, ${notes.join('; ')}` : undefined;
  const wanted: Wanted = { kind, ...(unit ? { epoch: unit } : {}), ...(note ? { note } : {}), misfit: misfits.length ? misfits.join(', ') : null };
  if (kind !== 'timestamp' || timestamps === 'naive') return wanted;
  // What the application wrote without an offset is UTC (ORMs, SQLite's own datetime()): an instant.
  const kept = zoned > 0 ? `; ${count(zoned, 'text value')} with an offset keep their instant` : '';
  return { ...wanted, kind: 'timestamptz', naiveUtc: timestamps === 'convert' ? 'convert' : 'adopt', suffix: `: timestamptz, the clock without an offset read as UTC${kept} (--timestamps naive keeps timestamp)` };
}

function epochRange(p: ColumnProfile, unit: 'seconds' | 'milliseconds'): string {
  const day = (v: string): string => {
    const ms = unit === 'seconds' ? BigInt(v) * 1000n : BigInt(v);
    return new Date(Number(ms)).toISOString().slice(0, 10);
  };
  return `${day(p.minInteger!)} to ${day(p.maxInteger!)}`;
}

const TWO_53 = 2n ** 53n;

/** Integers a double cannot hold exactly: a column mixing them with reals needs numeric. */
function beyondDouble(p: ColumnProfile): boolean {
  if (p.minInteger === undefined || p.maxInteger === undefined) return false;
  return BigInt(p.minInteger) < -TWO_53 || BigInt(p.maxInteger) > TWO_53;
}

/** The narrowest type that holds every stored value exactly. */
function byStorage(why: string, p: ColumnProfile): TypeChoice {
  const stored = storedSummary(p, '');
  const textOk = !p.textNotPg && !p.blobsNotText;
  if (p.blobs > 0) {
    if (p.integers + p.reals + p.texts === 0) return choice('blob', `${why}${stored}: bytea`);
    if (p.integers + p.reals > 0 && textOk) return choice('text', `${why}${stored}: text (the blobs are UTF-8 text)`);
    return choice('blob', `${why}${stored}: bytea keeps every value as its bytes${textOk ? '' : ` (${notPgText(p)})`}`);
  }
  if (p.texts > 0) {
    if (textOk) return choice('text', `${why}${stored}: text keeps every value`);
    return choice('blob', `${why}${stored}: bytea keeps every value as its bytes (${notPgText(p)})`);
  }
  if (p.reals > 0) {
    if (p.integers > 0 && beyondDouble(p)) return choice('numeric', `${why}${stored}: numeric, as integers beyond 2^53 would lose digits in double precision`);
    return choice('real', `${why}${stored}: double precision`);
  }
  if (p.integers > 0) return choice('integer', `${why}${stored}: bigint`);
  return choice('text', `${why}, no values: text`);
}

function notPgText(p: ColumnProfile): string {
  const parts: string[] = [];
  if (p.textNotPg) parts.push(`${count(p.textNotPg, 'text value')} with a NUL byte or bytes that are not UTF-8`);
  if (p.blobsNotText) parts.push(`${count(p.blobsNotText, 'blob')} that ${p.blobsNotText === 1 ? 'is' : 'are'} not UTF-8 text`);
  return parts.join(', ');
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

function classCounts(p: ColumnProfile, keys: readonly ('texts' | 'reals' | 'blobs' | 'integers')[]): string {
  const names = { texts: 'text', reals: 'real', blobs: 'blob', integers: 'integer' } as const;
  return `${keys.filter((k) => p[k] > 0).map((k) => `${p[k]} ${names[k]}`).join(', ')} value(s)`;
}

/** What the profile knows of the stored values, for the reason. */
function storedSummary(p: ColumnProfile, declared: string): string {
  if (!p.detailed) return p.rows > 0 ? `, every value ${fitsPhrase(declared)}` : '';
  const parts: string[] = [];
  if (p.integers) parts.push(`${p.integers} integer`);
  if (p.reals) parts.push(`${p.reals} real`);
  if (p.texts) parts.push(`${p.texts} text`);
  if (p.blobs) parts.push(`${p.blobs} blob`);
  if (p.nulls) parts.push(`${p.nulls} NULL`);
  const range = p.minInteger !== undefined && p.integers > 0 ? ` (integers ${p.minInteger}..${p.maxInteger})` : '';
  return parts.length ? `, stores ${parts.join(' + ')}${range}` : '';
}

/** What "fits" meant to the cheap first pass, by declared type. */
function fitsPhrase(declared: string): string {
  switch (familyOf(declared)) {
    case 'boolean':
      return 'is 0 or 1';
    case 'timestamp':
    case 'timestamptz':
      return "is ISO-8601 text 'YYYY-MM-DD[ HH:MM:SS]'";
    case 'date':
      return "is ISO-8601 text 'YYYY-MM-DD'";
    case 'time':
      return "is ISO-8601 text 'HH:MM:SS'";
    case 'decimal':
      return 'is a number that fits';
    case 'plain':
      break;
  }
  switch (affinityOf(declared)) {
    case 'INTEGER':
      return 'is an integer';
    case 'REAL':
      return 'is a number';
    case 'TEXT':
      return 'is UTF-8 text or a number';
    default:
      return 'fits';
  }
}
