import type { ValueKind } from './model.js';
import { tokenize } from './sql-tokens.js';

/**
 * `--cast table.column=type`: the user's own choice of PostgreSQL type for a column, as
 * pgloader's CAST clause. Only types the loader knows how to convert to (and the verifier
 * how to compare) are accepted, so a cast can refuse rows but never break a COPY.
 */
export interface CastRule {
  table: string;
  column: string;
  /** The PostgreSQL type, normalised (e.g. `integer`, `numeric(12,2)`, `varchar(40)`). */
  pgType: string;
  kind: ValueKind;
}

interface CastTarget {
  kind: ValueKind;
  pgType: string;
}

const TYPES: readonly [RegExp, (m: RegExpExecArray) => CastTarget | string][] = [
  [/^(bigint|int8)$/, () => ({ kind: 'integer', pgType: 'bigint' })],
  [/^(integer|int|int4)$/, () => ({ kind: 'integer', pgType: 'integer' })],
  [/^(smallint|int2)$/, () => ({ kind: 'integer', pgType: 'smallint' })],
  [/^(double precision|float8|float|double)$/, () => ({ kind: 'real', pgType: 'double precision' })],
  // float4 keeps 6 significant digits: the verifier would rightly find most values changed.
  [/^(real|float4)$/, () => 'real (float4) keeps only 6 significant digits; use double precision or numeric'],
  [/^(numeric|decimal)$/, () => ({ kind: 'numeric', pgType: 'numeric' })],
  [
    /^(?:numeric|decimal)\((\d+)(?:,(\d+))?\)$/,
    (m) => {
      const precision = Number(m[1]);
      const scale = Number(m[2] ?? 0);
      if (precision < 1 || precision > 1000 || scale > precision) return `numeric(${m[1]},${m[2] ?? 0}) is not a valid precision and scale`;
      return { kind: 'numeric', pgType: `numeric(${precision},${scale})` };
    },
  ],
  [/^text$/, () => ({ kind: 'text', pgType: 'text' })],
  [/^(varchar|character varying)$/, () => ({ kind: 'text', pgType: 'text' })],
  [
    /^(?:varchar|character varying)\((\d+)\)$/,
    (m) => (Number(m[1]) >= 1 && Number(m[1]) <= 10_485_760 ? { kind: 'text', pgType: `varchar(${Number(m[1])})` } : `varchar(${m[1]}) is out of range`),
  ],
  [/^json$/, () => ({ kind: 'text', pgType: 'json' })],
  [/^(bytea|blob)$/, () => ({ kind: 'blob', pgType: 'bytea' })],
  [/^(boolean|bool)$/, () => ({ kind: 'boolean', pgType: 'boolean' })],
  [/^(timestamp|timestamp without time zone|datetime)$/, () => ({ kind: 'timestamp', pgType: 'timestamp' })],
  [/^(timestamptz|timestamp with time zone)$/, () => ({ kind: 'timestamptz', pgType: 'timestamptz' })],
  [/^date$/, () => ({ kind: 'date', pgType: 'date' })],
  [/^(time|time without time zone)$/, () => ({ kind: 'time', pgType: 'time' })],
];

export const CAST_TYPES_HELP =
  'bigint, integer, smallint, double precision, numeric, numeric(p,s), text, varchar(n), json, bytea, boolean, timestamp, timestamptz, date, time';

/** The kind and normalised PostgreSQL type of a cast target, or why it cannot be one. */
export function castTarget(type: string): CastTarget | string {
  const normal = type.trim().toLowerCase().replace(/\s+/g, ' ').replace(/\s*([(),])\s*/g, '$1');
  for (const [pattern, make] of TYPES) {
    const m = pattern.exec(normal);
    if (m) return make(m);
  }
  return `unknown type "${type.trim()}" (liteshift casts to ${CAST_TYPES_HELP})`;
}

/**
 * Parses `table.column=type` rules, separated by commas or semicolons (a comma inside
 * numeric(12,2) belongs to the type). Names may be quoted as in SQL ("my table".[a b]),
 * so names with dots, spaces or '=' work. Throws an Error naming every mistake.
 */
export function parseCasts(spec: string): CastRule[] {
  return parseRules(spec, parseRule);
}

/** Every rule of `spec` read by `parse`, which answers a rule or what is wrong with it; throws an Error naming every mistake. */
export function parseRules<R>(spec: string, parse: (text: string) => R | string): R[] {
  const rules: R[] = [];
  const problems: string[] = [];
  for (const part of splitRules(spec)) {
    const rule = parse(part);
    if (typeof rule === 'string') problems.push(rule);
    else rules.push(rule);
  }
  if (problems.length > 0) throw new Error(problems.join('; '));
  return rules;
}

/** Rules separated by commas, semicolons or newlines; those inside quotes or parentheses belong to the rule. */
export function splitRules(spec: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let current = '';
  for (const ch of spec) {
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === '"' || ch === '`') quote = ch;
    else if (ch === '[') quote = ']';
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if ((ch === ',' || ch === ';' || ch === '\n') && depth === 0) {
      parts.push(current);
      current = '';
      continue;
    }
    current += ch;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

function parseRule(text: string): CastRule | string {
  const tokens = tokenize(text);
  const eq = tokens.findIndex((t) => t.kind === 'op' && t.value === '=');
  if (eq < 0) return `"${text}" is not table.column=type`;
  const names = tokens.slice(0, eq);
  const isName = (i: number) => names[i]?.kind === 'ident' || names[i]?.kind === 'quoted-ident';
  if (names.length !== 3 || !isName(0) || names[1]!.kind !== 'op' || names[1]!.value !== '.' || !isName(2)) {
    return `"${text}": name the column as table.column (quote names with dots or spaces: "my table"."my column")`;
  }
  const target = castTarget(text.slice(tokens[eq]!.end));
  if (typeof target === 'string') return `"${text}": ${target}`;
  return { table: names[0]!.value, column: names[2]!.value, ...target };
}

/** The rule for a column: exact names first, then SQLite's own rule (ASCII case does not matter). */
export function findCast(rules: readonly CastRule[], table: string, column: string): CastRule | undefined {
  return findRule(rules, table, column);
}

/** The rule naming `table`, and `column` (none: a rule for the table itself), matched as findCast matches. */
export function findRule<R extends { table: string; column?: string }>(rules: readonly R[], table: string, column?: string): R | undefined {
  const same = (a: string | undefined, b: string | undefined, anyCase: boolean): boolean =>
    a === b || (anyCase && a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase());
  return rules.find((r) => same(r.table, table, false) && same(r.column, column, false)) ?? rules.find((r) => same(r.table, table, true) && same(r.column, column, true));
}
