/**
 * PostgreSQL COPY text format: columns separated by tab, rows by newline, NULL as \N,
 * and backslash, tab, newline and carriage return escaped.
 */
const NEEDS_ESCAPE = /[\\\t\n\r]/;

export function copyField(value: string | null): string {
  if (value === null) return '\\N';
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

export function copyRow(values: readonly (string | null)[]): string {
  let line = '';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) line += '\t';
    line += copyField(values[i]!);
  }
  return `${line}\n`;
}
