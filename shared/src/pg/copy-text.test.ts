import { describe, expect, it } from 'vitest';
import { copyField, copyRow } from './copy-text.js';

describe('copyField', () => {
  it('passes plain text through', () => {
    expect(copyField('hello world')).toBe('hello world');
    expect(copyField('')).toBe('');
    expect(copyField('naïve 😀 "quoted" \'single\'')).toBe('naïve 😀 "quoted" \'single\'');
  });

  it('writes NULL as \\N, and the text "\\N" so that it stays text', () => {
    expect(copyField(null)).toBe('\\N');
    expect(copyField('\\N')).toBe('\\\\N');
    expect(copyField('\\N')).not.toBe(copyField(null));
  });

  it('escapes backslash, tab, newline and carriage return', () => {
    expect(copyField('a\\b')).toBe('a\\\\b');
    expect(copyField('a\tb')).toBe('a\\tb');
    expect(copyField('a\nb')).toBe('a\\nb');
    expect(copyField('a\rb')).toBe('a\\rb');
    expect(copyField('\r\n\t\\')).toBe('\\r\\n\\t\\\\');
  });

  it('escapes every occurrence', () => {
    expect(copyField('\n\n\\\\')).toBe('\\n\\n\\\\\\\\');
  });

  it('leaves bytea hex as PostgreSQL reads it in text COPY (\\\\x…)', () => {
    expect(copyField('\\x00ff')).toBe('\\\\x00ff');
  });

  it('never leaves a raw separator in a field', () => {
    for (const value of ['\t', '\n', '\r', 'a\tb\nc\rd']) expect(copyField(value)).not.toMatch(/[\t\n\r]/);
  });
});

describe('copyRow', () => {
  it('joins fields with tabs and ends with a newline', () => {
    expect(copyRow(['1', null, 'a\tb', 'line\nbreak', 'c:\\dir'])).toBe('1\t\\N\ta\\tb\tline\\nbreak\tc:\\\\dir\n');
  });

  it('a single field and an all-NULL row', () => {
    expect(copyRow(['x'])).toBe('x\n');
    expect(copyRow([null, null])).toBe('\\N\t\\N\n');
    expect(copyRow([''])).toBe('\n');
  });

  it('has exactly one separator per column boundary whatever the values hold', () => {
    const row = copyRow(['a\tb', '\t', 'c\n']);
    expect(row.endsWith('\n')).toBe(true);
    expect(row.slice(0, -1).split('\t')).toHaveLength(3);
    expect(row.slice(0, -1)).not.toContain('\n');
  });
});
