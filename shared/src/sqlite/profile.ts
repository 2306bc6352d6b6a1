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
 * One pass over the table computes, for every column, which storage classes it holds and
 * whether its text reads as the declared kind. The aggregates asked for depend on the
 * declared type, so a plain text column costs four sums, not a date parse.
 */
export function profileTable(db: SqliteDatabase, table: string, columns: readonly ProfiledColumn[]): Map<string, ColumnProfile> {
  const select: string[] = ['count(*)'];
  const readers: ((row: unknown[], at: number) => [Partial<ColumnProfile>, number])[] = [];
  for (const column of columns) {
    const c = column.expr ?? quoteIdent(column.name);
    const parts = [
      `sum(typeof(${c}) = 'integer')`,
      `sum(typeof(${c}) = 'real')`,
      `sum(typeof(${c}) = 'text')`,
      `sum(typeof(${c}) = 'blob')`,
    ];
    const extras: (keyof ColumnProfile)[] = [];
    const family = familyOf(column.declaredType);
    const affinity = affinityOf(column.declaredType);
    if (affinity === 'INTEGER' || affinity === 'BLOB' || affinity === 'NUMERIC') {
      parts.push(`min(CASE WHEN typeof(${c}) = 'integer' THEN ${c} END)`, `max(CASE WHEN typeof(${c}) = 'integer' THEN ${c} END)`);
      extras.push('minInteger', 'maxInteger');
    }
    if (family === 'timestamp' || family === 'timestamptz' || family === 'date') {
      // datetime() accepts what PostgreSQL's timestamp input accepts for ISO text; the
      // prefix check keeps SQLite's extra forms ('now', bare times) out.
      const tooLong = family === 'date' ? ` OR length(${c}) > 10` : '';
      parts.push(
        `sum(typeof(${c}) = 'text' AND (${c} NOT GLOB ${ISO_PREFIX} OR datetime(${c}) IS NULL${tooLong}))`,
        `sum(typeof(${c}) = 'text' AND (${c} GLOB '*[+-][0-9][0-9]:[0-9][0-9]' OR ${c} GLOB '*[Zz]'))`,
      );
      extras.push('textMisfits', 'textWithZone');
    } else if (family === 'time') {
      parts.push(`sum(typeof(${c}) = 'text' AND (${c} NOT GLOB '[0-9][0-9]:[0-9][0-9]*' OR time(${c}) IS NULL))`);
      extras.push('textMisfits');
    } else if (family === 'boolean') {
      parts.push(`sum(${c} IS NOT NULL AND lower(${c}) NOT IN ('0', '1', 't', 'f', 'true', 'false'))`);
      extras.push('booleanMisfits');
    } else if (family === 'decimal') {
      const params = numericParams(column.declaredType);
      if (params) {
        const limit = `1e${params.precision - params.scale}`;
        parts.push(`sum(typeof(${c}) IN ('integer', 'real') AND (round(${c}, ${params.scale}) <> ${c} OR abs(${c}) >= ${limit}))`);
        extras.push('numericMisfits');
      }
    }
    select.push(...parts);
    readers.push((row, at) => {
      const n = (i: number) => Number(row[at + i] ?? 0);
      const profile: Partial<ColumnProfile> = { integers: n(0), reals: n(1), texts: n(2), blobs: n(3) };
      let i = 4;
      for (const extra of extras) {
        const value = row[at + i];
        if (extra === 'minInteger' || extra === 'maxInteger') {
          if (value !== null && value !== undefined) profile[extra] = String(value);
        } else {
          profile[extra] = Number(value ?? 0);
        }
        i++;
      }
      return [profile, at + i];
    });
  }
  const row = db.prepare(`SELECT ${select.join(', ')} FROM ${quoteIdent(table)}`).raw(true).get() as unknown[];
  const rows = Number(row[0]);
  const out = new Map<string, ColumnProfile>();
  let at = 1;
  columns.forEach((column, index) => {
    const [partial, next] = readers[index]!(row, at);
    at = next;
    const nonNull = (partial.integers ?? 0) + (partial.reals ?? 0) + (partial.texts ?? 0) + (partial.blobs ?? 0);
    out.set(column.name, { rows, nulls: rows - nonNull, integers: 0, reals: 0, texts: 0, blobs: 0, ...partial });
  });
  return out;
}
