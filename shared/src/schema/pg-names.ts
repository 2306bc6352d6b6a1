import { LiteshiftError } from '../errors.js';
import { findRule, parseRules } from './casts.js';
import { PG_NAME_BYTES, fitPgName, pgNameFits } from './identifiers.js';
import { foldIdentifier, type ColumnModel, type IdentifierFolding, type Notice, type TableModel } from './model.js';
import { tokenize, type Token } from './sql-tokens.js';

/**
 * The PostgreSQL names of SQLite's tables and columns. SQLite takes a name of any length;
 * PostgreSQL keeps its first 63 bytes and drops the rest, so two names equal in those
 * bytes become one: two columns make CREATE TABLE fail, two tables share one target (the
 * second CREATE TABLE IF NOT EXISTS does nothing and its rows land in the first). So each
 * name is settled when the schema is read, and kept in the model that the DDL, the loader,
 * the verifier and replay all read: the user's choice (--rename), else SQLite's name
 * (--fold-identifiers applied), shortened by fitPgName when PostgreSQL would cut it. Names
 * that would still be one in PostgreSQL stop the plan.
 */

/** `--rename table=name` or `--rename table.column=name`: the user's PostgreSQL name, used exactly. */
export interface RenameRule {
  table: string;
  /** Absent: the rule names the table. */
  column?: string;
  name: string;
}

/**
 * Parses rename rules, separated by commas, semicolons or newlines; names are quoted as in
 * SQL when they hold dots, spaces or '=' ("my table"."my column"="My Column"). Throws an
 * Error naming every mistake.
 */
export function parseRenames(spec: string): RenameRule[] {
  return parseRules(spec, parseRename);
}

const isName = (t: Token | undefined): t is Token => t?.kind === 'ident' || t?.kind === 'quoted-ident';

function parseRename(text: string): RenameRule | string {
  const tokens = tokenize(text);
  const eq = tokens.findIndex((t) => t.kind === 'op' && t.value === '=');
  if (eq < 0) return `"${text}" is not table=name or table.column=name`;
  const [table, dot, column, ...more] = tokens.slice(0, eq);
  const dotted = dot?.kind === 'op' && dot.value === '.' && isName(column);
  if (!isName(table) || more.length > 0 || (dot !== undefined && !dotted)) {
    return `"${text}": name the table, or the column as table.column (quote names with dots or spaces: "my table"."my column")`;
  }
  const target = tokens.slice(eq + 1);
  if (target.length !== 1 || !isName(target[0])) return `"${text}": the new name is one name (quote it when it holds other characters: "Order Items")`;
  const name = target[0].value;
  if (!pgNameFits(name)) return `"${text}": the new name is ${Buffer.byteLength(name)} bytes; PostgreSQL takes 1 to ${PG_NAME_BYTES}`;
  return { table: table.value, ...(dotted ? { column: column.value } : {}), name };
}

export interface NamingOptions {
  foldIdentifiers?: IdentifierFolding;
  renames?: readonly RenameRule[];
}

/** Sets each table's pgName, with a notice for every name that is not SQLite's (folding aside) saying why. */
export function nameTables(tables: readonly TableModel[], options: NamingOptions, notices: Notice[]): void {
  const rules = (options.renames ?? []).filter((r) => r.column === undefined);
  settle(
    tables.map((t) => ({ item: t, label: t.name, where: { table: t.name }, rule: findRule(rules, t.name) })),
    'tables',
    options,
    notices,
  );
}

/** Sets the pgName of each column of `table`; liteshift's own (synthetic) columns keep theirs. */
export function nameColumns(table: string, columns: readonly ColumnModel[], options: NamingOptions, notices: Notice[]): void {
  const rules = (options.renames ?? []).filter((r) => r.column !== undefined);
  settle(
    columns.map((c) => ({
      item: c,
      label: `${table}.${c.name}`,
      where: { table, column: c.name },
      rule: c.synthetic ? undefined : findRule(rules, table, c.name),
      ...(c.synthetic ? { ours: true } : {}),
    })),
    'columns',
    options,
    notices,
  );
}

interface Entry {
  item: { name: string; pgName?: string };
  label: string;
  where: { table: string; column?: string };
  rule: RenameRule | undefined;
  /** liteshift's own column: its name cannot be chosen. */
  ours?: boolean;
}

function settle(entries: readonly Entry[], what: 'tables' | 'columns', options: NamingOptions, notices: Notice[]): void {
  const taken = new Map<string, Entry>();
  for (const entry of entries) {
    const folded = foldIdentifier(entry.item.name, options.foldIdentifiers ?? 'none');
    const pgName = entry.rule?.name ?? fitPgName(folded);
    const other = taken.get(pgName);
    if (other) {
      const renamed = [other, entry].find((e) => e.rule);
      const free = renamed ?? [entry, other].find((e) => !e.ours)!;
      throw new LiteshiftError(renamed ? 'CONFIG_INVALID' : 'SQLITE_UNSUPPORTED', `${what} ${other.label} and ${entry.label} would both be "${pgName}" in PostgreSQL`, {
        hint: `give ${renamed || other.ours || entry.ours ? free.label : 'one of them'} another name: --rename ${free.label}=<name>`,
      });
    }
    taken.set(pgName, entry);
    if (pgName === entry.item.name) delete entry.item.pgName;
    else entry.item.pgName = pgName;
    if (entry.rule) {
      notices.push({ level: 'info', ...entry.where, message: `named "${pgName}" in PostgreSQL by --rename` });
    } else if (pgName !== folded) {
      const why = folded === '' ? 'an empty name, which PostgreSQL refuses' : `name of ${Buffer.byteLength(folded)} bytes, PostgreSQL keeps ${PG_NAME_BYTES}`;
      notices.push({
        level: 'info',
        ...entry.where,
        message: `${why}: created as "${pgName}" (its first bytes and a hash of the whole name, the same on every run; --rename chooses another)`,
      });
    }
  }
}
