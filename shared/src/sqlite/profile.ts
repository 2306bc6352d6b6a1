import type { ColumnProfile } from '../schema/model.js';
import { quoteIdent } from '../schema/identifiers.js';
import { familyOf, affinityOf, numericParams } from '../schema/type-mapping.js';
import type { SqliteDatabase } from './open.js';

export interface ProfiledColumn {
  name: string;
  declaredType: string;
  /** SQL that reads the column (rowid for the synthetic key). */
  expr?: string;
}

const ISO_PREFIX = "'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*'";

/**
 * A value that does not fit its declared type at first sight. Kept to one cheap test per
 * column, because this pass reads every row of every table before anything can move.
 * SQLite's affinity already converts what it can on insert (a TEXT column turns numbers
 * into text), so only what affinity let through needs looking at.
 */
function misfitTest(column: ProfiledColumn): string | null {
  const c = column.expr ?? quoteIdent(column.name);
  const family = familyOf(column.declaredType);
  switch (family) {
    case 'timestamp':
    case 'timestamptz':
    case 'date':
    case 'time': {
      const shape = family === 'time' ? "'[0-9][0-9]:[0-9][0-9]*'" : ISO_PREFIX;
      // Values longer than a plain 'YYYY-MM-DD HH:MM:SS' may carry a zone: looked at closely.
      const long = family === 'date' ? 10 : family === 'time' ? 8 : 19;
      return `${c} IS NOT NULL AND (typeof(${c}) <> 'text' OR ${c} NOT GLOB ${shape} OR length(${c}) > ${long})`;
    }
    case 'boolean':
      return `${c} NOT IN (0, 1)`;
    case 'decimal': {
      const params = numericParams(column.declaredType);
      const bounds = params ? ` OR round(${c}, ${params.scale}) <> ${c} OR abs(${c}) >= 1e${params.precision - params.scale}` : '';
      return `${c} IS NOT NULL AND (typeof(${c}) NOT IN ('integer', 'real')${bounds})`;
    }
    case 'plain':
      break;
  }
  switch (affinityOf(column.declaredType)) {
    case 'INTEGER':
      return `${c} IS NOT NULL AND typeof(${c}) <> 'integer'`;
    case 'TEXT':
      return `typeof(${c}) = 'blob'`;
    case 'REAL':
      return `typeof(${c}) IN ('text', 'blob')`;
    default:
      return null; // BLOB/no type and other NUMERIC names: the stored classes decide, always counted
  }
}

/** The detailed aggregates for one column: storage classes and the declared kind's checks. */
function detailParts(column: ProfiledColumn): { sql: string[]; extras: (keyof ColumnProfile)[] } {
  const c = column.expr ?? quoteIdent(column.name);
  const sql = ['integer', 'real', 'text', 'blob'].map((t) => `count(*) FILTER (WHERE typeof(${c}) = '${t}')`);
  const extras: (keyof ColumnProfile)[] = [];
  const family = familyOf(column.declaredType);
  if (family === 'timestamp' || family === 'timestamptz' || family === 'date') {
    const tooLong = family === 'date' ? ` OR length(${c}) > 10` : '';
    sql.push(
      `count(*) FILTER (WHERE typeof(${c}) = 'text' AND (${c} NOT GLOB ${ISO_PREFIX} OR datetime(${c}) IS NULL${tooLong}))`,
      `count(*) FILTER (WHERE typeof(${c}) = 'text' AND (${c} GLOB '*[+-][0-9][0-9]:[0-9][0-9]' OR ${c} GLOB '*[Zz]'))`,
    );
    extras.push('textMisfits', 'textWithZone');
  } else if (family === 'time') {
    sql.push(`count(*) FILTER (WHERE typeof(${c}) = 'text' AND (${c} NOT GLOB '[0-9][0-9]:[0-9][0-9]*' OR time(${c}) IS NULL))`);
    extras.push('textMisfits');
  } else if (family === 'boolean') {
    sql.push(`count(*) FILTER (WHERE ${c} IS NOT NULL AND lower(${c}) NOT IN ('0', '1', 't', 'f', 'true', 'false'))`);
    extras.push('booleanMisfits');
  } else if (family === 'decimal') {
    const params = numericParams(column.declaredType);
    if (params) {
      const limit = `1e${params.precision - params.scale}`;
      sql.push(`count(*) FILTER (WHERE typeof(${c}) IN ('integer', 'real') AND (round(${c}, ${params.scale}) <> ${c} OR abs(${c}) >= ${limit}))`);
      extras.push('numericMisfits');
    }
  }
  return { sql, extras };
}

/**
 * Which storage classes each column holds, so the PostgreSQL type can hold every value.
 * A first pass costs one aggregate per column; only columns where it finds something
 * (or whose declared type says nothing, like BLOB or none) get the detailed second pass.
 */
export function profileTable(db: SqliteDatabase, table: string, columns: readonly ProfiledColumn[]): Map<string, ColumnProfile> {
  const from = `FROM main.${quoteIdent(table)}`;
  const tests = columns.map(misfitTest);
  const first = db
    .prepare(`SELECT count(*)${tests.map((t) => (t ? `, count(*) FILTER (WHERE ${t})` : '')).join('')} ${from}`)
    .raw(true)
    .get() as unknown[];
  const rows = Number(first[0]);
  const out = new Map<string, ColumnProfile>();
  const detailed: ProfiledColumn[] = [];
  let at = 1;
  columns.forEach((column, i) => {
    if (tests[i] === null) {
      detailed.push(column);
      out.set(column.name, blank(rows, 0));
      return;
    }
    const misfits = Number(first[at++]);
    out.set(column.name, blank(rows, misfits));
    if (misfits > 0) detailed.push(column);
  });
  if (detailed.length === 0 || rows === 0) return out;

  const parts = detailed.map(detailParts);
  const second = db.prepare(`SELECT ${parts.flatMap((p) => p.sql).join(', ')} ${from}`).raw(true).get() as unknown[];
  at = 0;
  detailed.forEach((column, i) => {
    const n = (): number => Number(second[at++] ?? 0);
    const profile = out.get(column.name)!;
    profile.detailed = true;
    profile.integers = n();
    profile.reals = n();
    profile.texts = n();
    profile.blobs = n();
    profile.nulls = rows - profile.integers - profile.reals - profile.texts - profile.blobs;
    for (const extra of parts[i]!.extras) (profile[extra] as number) = n();
  });
  return out;
}

function blank(rows: number, misfits: number): ColumnProfile {
  return { rows, misfits, detailed: false, nulls: 0, integers: 0, reals: 0, texts: 0, blobs: 0 };
}
