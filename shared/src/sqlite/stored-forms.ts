import { sqliteCompareExpr, type BooleanForm, type ColumnModel, type TemporalForm } from '../schema/model.js';
import { quoteIdent } from '../schema/identifiers.js';
import type { SqliteDatabase } from './open.js';

/**
 * How the application spelled its dates, times and booleans, read from a sample of the
 * stored values: PostgreSQL keeps a timestamp, not its text, so the way back
 * (`export-sqlite`) needs the form recorded in the model to write the value as the
 * application wrote it. A sample, not a pass over the table: an application writes one
 * form (the most common one wins), and the profile has already read every row once.
 */
const SAMPLE_VALUES = 2_000;
/** Rows looked at for the sample: a column that is almost always NULL must not cost a scan of the table. */
const SAMPLE_ROWS = 200_000;

export const DEFAULT_TEMPORAL_FORM: TemporalForm = { type: 'temporal', separator: ' ', dateOnly: false, seconds: true, fractionDigits: 0, fractionAlways: false, zone: '' };

type FormFamily = 'temporal' | 'time' | 'boolean';

function formFamily(column: ColumnModel): FormFamily | null {
  if (column.synthetic || column.epoch) return null;
  if (column.kind === 'boolean') return 'boolean';
  if (column.kind === 'time') return 'time';
  if (column.kind === 'timestamp' || column.kind === 'timestamptz') return 'temporal';
  return null;
}

/**
 * Sets `storedForm` on the date/time and boolean columns of a table whose values say how
 * they were written; `schema` is where the table is read (a private readable copy, at times).
 */
export function detectStoredForms(db: SqliteDatabase, table: string, columns: readonly ColumnModel[], schema = 'main'): void {
  for (const column of columns) {
    const family = formFamily(column);
    if (!family) continue;
    // The profile counted no text at all: there is no spelling to learn.
    if (family !== 'boolean' && column.profile?.detailed && column.profile.texts === 0) continue;
    // A collation only the application registers fails any statement that touches it: BINARY then.
    const c = sqliteCompareExpr(column);
    const sample = db
      .prepare(`SELECT v FROM (SELECT ${c} AS v FROM ${schema}.${quoteIdent(table)} NOT INDEXED LIMIT ${SAMPLE_ROWS}) WHERE v IS NOT NULL LIMIT ${SAMPLE_VALUES}`)
      .pluck()
      .all() as unknown[];
    const form = family === 'boolean' ? booleanFormOf(sample) : temporalFormOf(sample.filter((v): v is string => typeof v === 'string'), family === 'time');
    if (form) column.storedForm = form;
  }
}

const TRUE_SPELLINGS = ['1', 't', 'true', 'y', 'yes', 'on'];
const FALSE_SPELLINGS = ['0', 'f', 'false', 'n', 'no', 'off'];

function mostCommon<T>(counts: Map<T, number>): T | undefined {
  let best: T | undefined;
  for (const [value, n] of counts) if (best === undefined || n > counts.get(best)!) best = value;
  return best;
}

/** The false of a spelling of true, in the same case ('TRUE' → 'FALSE', 'Yes' → 'No'). */
function pairedFalse(spelling: string): string {
  const lower = FALSE_SPELLINGS[TRUE_SPELLINGS.indexOf(spelling.toLowerCase())]!;
  if (spelling === spelling.toUpperCase()) return lower.toUpperCase();
  if (spelling[0] === spelling[0]!.toUpperCase()) return lower[0]!.toUpperCase() + lower.slice(1);
  return lower;
}

function pairedTrue(spelling: string): string {
  const lower = TRUE_SPELLINGS[FALSE_SPELLINGS.indexOf(spelling.toLowerCase())]!;
  if (spelling === spelling.toUpperCase()) return lower.toUpperCase();
  if (spelling[0] === spelling[0]!.toUpperCase()) return lower[0]!.toUpperCase() + lower.slice(1);
  return lower;
}

/** Integers 0/1 (what most ORMs store), or the text spellings most values use. */
export function booleanFormOf(sample: readonly unknown[]): BooleanForm | null {
  const trues = new Map<string, number>();
  const falses = new Map<string, number>();
  let numbers = 0;
  for (const value of sample) {
    if (typeof value !== 'string') {
      numbers++;
      continue;
    }
    const spelling = value.trim();
    if (TRUE_SPELLINGS.includes(spelling.toLowerCase())) trues.set(spelling, (trues.get(spelling) ?? 0) + 1);
    else if (FALSE_SPELLINGS.includes(spelling.toLowerCase())) falses.set(spelling, (falses.get(spelling) ?? 0) + 1);
  }
  const texts = [...trues.values(), ...falses.values()].reduce((a, b) => a + b, 0);
  if (texts === 0 && numbers === 0) return null;
  if (numbers >= texts) return { type: 'boolean', true: 1, false: 0 };
  const t = mostCommon(trues);
  const f = mostCommon(falses);
  return { type: 'boolean', true: t ?? pairedTrue(f!), false: f ?? pairedFalse(t!) };
}

const CLOCK = /^(\d{2}):(\d{2})(:\d{2})?(?:\.(\d+))?/;
const DATE_PART = /^\d{4}-\d{2}-\d{2}/;

function zoneOf(rest: string): TemporalForm['zone'] | null {
  const z = rest.trim();
  if (z === '') return '';
  if (/^[zZ]$/.test(z)) return 'Z';
  if (/^[+-]\d{2}:\d{2}$/.test(z)) return '+00:00';
  if (/^[+-]\d{4}$/.test(z)) return '+0000';
  if (/^[+-]\d{2}$/.test(z)) return '+00';
  return null;
}

function tally<T>(counts: Map<T, number>, value: T): void {
  counts.set(value, (counts.get(value) ?? 0) + 1);
}

/**
 * The form most of the sampled texts share: ISO-8601 dates and times as SQLite's
 * datetime(), JavaScript's toISOString(), Python's isoformat() or a driver writes them.
 * Null when no text reads as one (the column holds epochs, or nothing).
 */
export function temporalFormOf(texts: readonly string[], timeOnly = false): TemporalForm | null {
  const separators = new Map<' ' | 'T', number>();
  const zones = new Map<TemporalForm['zone'], number>();
  let withTime = 0;
  let dateOnly = 0;
  let withSeconds = 0;
  let withFraction = 0;
  let fractionDigits = 0;
  for (const text of texts) {
    let clock = text;
    if (!timeOnly) {
      if (!DATE_PART.test(text)) continue;
      if (text.length === 10) {
        dateOnly++;
        continue;
      }
      const separator = text[10];
      if (separator !== ' ' && separator !== 'T') continue;
      tally(separators, separator);
      clock = text.slice(11);
    }
    const m = CLOCK.exec(clock);
    if (!m) continue;
    const zone = zoneOf(clock.slice(m[0].length));
    if (zone === null) continue;
    withTime++;
    tally(zones, zone);
    if (m[3]) withSeconds++;
    if (m[4]) {
      withFraction++;
      fractionDigits = Math.max(fractionDigits, m[4].length);
    }
  }
  if (withTime + dateOnly === 0) return null;
  return {
    type: 'temporal',
    separator: mostCommon(separators) ?? ' ',
    dateOnly: withTime === 0,
    seconds: withTime === 0 || withSeconds * 2 >= withTime,
    fractionDigits: Math.min(fractionDigits, 9),
    fractionAlways: withTime > 0 && withFraction === withTime,
    zone: mostCommon(zones) ?? '',
  };
}
