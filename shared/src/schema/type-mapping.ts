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
}

export interface MappingContext {
  /** INTEGER PRIMARY KEY of a rowid table: SQLite's rowid under another name. */
  rowidAlias?: boolean;
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

export function chooseType(declared: string, profile: ColumnProfile = EMPTY_PROFILE, ctx: MappingContext = {}): TypeChoice {
  const shown = declared.trim() === '' ? 'no declared type' : `declared ${declared.trim()}`;
  if (ctx.rowidAlias) return choice('integer', `${shown}, rowid alias: identity`);
  const p = profile;
  const stored = storedSummary(p);
  const family = familyOf(declared);

  switch (family) {
    case 'boolean':
      if (!p.booleanMisfits && p.reals === 0 && p.blobs === 0) return choice('boolean', `${shown}${stored}`);
      return byStorage(`${shown} but holds values other than 0/1/true/false`, p);
    case 'timestamp':
    case 'timestamptz':
    case 'date':
    case 'time': {
      if (p.integers + p.reals + p.blobs > 0 || p.textMisfits) {
        return byStorage(`${shown} but not every value is an ISO-8601 ${family}`, p);
      }
      if (family === 'timestamp' && p.texts > 0 && p.textWithZone === p.texts) {
        return choice('timestamptz', `${shown}, every value carries a time zone`);
      }
      if (family === 'timestamp' && p.textWithZone) {
        return choice('text', `${shown} but only some values carry a time zone: kept as text`);
      }
      return choice(family, `${shown}${stored}`);
    }
    case 'decimal': {
      if (p.texts + p.blobs > 0) return byStorage(`${shown} but holds non-numeric values`, p);
      if (numericParams(declared) && p.numericMisfits) {
        return choice('numeric', `${shown} but some values exceed its precision or scale: unconstrained numeric`);
      }
      return choice('numeric', `${shown}${stored}`, declared);
    }
    case 'plain':
      break;
  }

  const affinity = affinityOf(declared);
  switch (affinity) {
    case 'INTEGER':
      if (p.texts + p.reals + p.blobs === 0) return choice('integer', `${shown}${stored}`);
      return byStorage(`${shown} but holds ${nonInteger(p)}`, p);
    case 'REAL':
      if (p.texts + p.blobs === 0) return choice('real', `${shown}${stored}`);
      return byStorage(`${shown} but holds ${p.texts ? 'text' : 'blobs'}`, p);
    case 'TEXT':
      if (p.blobs === 0) return choice('text', `${shown}${stored}`);
      if (p.blobs > 0 && p.texts + p.integers + p.reals === 0) return choice('blob', `${shown} but every value is a blob`);
      return choice('text', `${shown}; holds blobs (rejected unless they are UTF-8)`);
    case 'BLOB':
      if (declared.trim() !== '' && p.integers + p.reals + p.texts === 0) return choice('blob', `${shown}${stored}`);
      return byStorage(shown, p);
    case 'NUMERIC':
      return byStorage(shown, p);
  }
}

/** The narrowest kind that holds every stored value. */
function byStorage(why: string, p: ColumnProfile): TypeChoice {
  const stored = storedSummary(p);
  if (p.blobs > 0) {
    if (p.integers + p.reals === 0) return choice('blob', `${why}${stored}: bytea`);
    return choice('text', `${why}${stored}: text (blobs rejected unless UTF-8)`);
  }
  if (p.texts > 0) return choice('text', `${why}${stored}: text keeps every value`);
  if (p.reals > 0) return choice('real', `${why}${stored}: double precision`);
  if (p.integers > 0) return choice('integer', `${why}${stored}: bigint`);
  return choice('text', `${why}, no values: text`);
}

function nonInteger(p: ColumnProfile): string {
  const parts: string[] = [];
  if (p.texts) parts.push(`${p.texts} text`);
  if (p.reals) parts.push(`${p.reals} real`);
  if (p.blobs) parts.push(`${p.blobs} blob`);
  return `${parts.join(', ')} value(s)`;
}

function storedSummary(p: ColumnProfile): string {
  if (!p.detailed) return p.rows > 0 ? ', every value fits' : '';
  const parts: string[] = [];
  if (p.integers) parts.push('integer');
  if (p.reals) parts.push('real');
  if (p.texts) parts.push('text');
  if (p.blobs) parts.push('blob');
  return parts.length ? `, stores ${parts.join('+')}` : '';
}
