import { describe, expect, it } from 'vitest';
import { describePostgresUrl, maskPostgresUrl, scrubSecrets } from './redact.js';

describe('describePostgresUrl', () => {
  it('is host:port/db', () => {
    expect(describePostgresUrl('postgres://app:s3cret@db.example.com:6543/shop')).toBe('db.example.com:6543/shop');
  });

  it('fills in the default port, host and database', () => {
    expect(describePostgresUrl('postgresql://app:s3cret@db/shop')).toBe('db:5432/shop');
    expect(describePostgresUrl('postgres://app:s3cret@db')).toBe('db:5432/(default)');
  });

  it('decodes the database name', () => {
    expect(describePostgresUrl('postgres://h/my%20db')).toBe('h:5432/my db');
  });

  it.each([
    ['postgres://app:s3cret@db:5432/shop', ['s3cret']],
    ['postgres://app:p%40ss%3Aw0rd@db:5432/shop', ['p%40ss%3Aw0rd', 'p@ss:w0rd', 'ss%3Aw0rd', 'w0rd']],
    ['postgres://app:p@ss:w0rd@db:5432/shop', ['p@ss', 'ss:w0rd', 'w0rd']],
    ['postgres://app:%2F%3F%23secret@db/shop', ['secret']],
    ['postgres://app@db/shop?password=qu3ry-pw', ['qu3ry-pw']],
  ])('never contains the password of %s', (url, secrets) => {
    const described = describePostgresUrl(url);
    for (const secret of secrets) expect(described).not.toContain(secret);
    expect(described).toMatch(/^db:\d+\//);
  });

  it('an unparseable URL is described without repeating it', () => {
    const described = describePostgresUrl('not a url with hunter2');
    expect(described).toBe('(unparseable PostgreSQL URL)');
  });
});

describe('maskPostgresUrl', () => {
  it('replaces the password with ***', () => {
    expect(maskPostgresUrl('postgres://app:s3cret@db:5432/shop')).toBe('postgres://app:***@db:5432/shop');
  });

  it('masks encoded passwords with @ and :', () => {
    const masked = maskPostgresUrl('postgres://app:p%40ss%3Aw0rd@db:5432/shop');
    expect(masked).toBe('postgres://app:***@db:5432/shop');
    expect(masked).not.toContain('w0rd');
  });

  it('leaves a URL without a password alone', () => {
    expect(maskPostgresUrl('postgres://app@db:5432/shop?sslmode=require')).toBe('postgres://app@db:5432/shop?sslmode=require');
  });

  it('masks a password given as a query parameter (the driver reads it)', () => {
    const masked = maskPostgresUrl('postgres://app@db:5432/shop?sslmode=require&password=qu3ry-pw');
    expect(masked).not.toContain('qu3ry-pw');
    expect(masked).toContain('sslmode=require');
    expect(masked).toContain('db:5432/shop');
  });

  it('an unparseable URL is not repeated', () => {
    expect(maskPostgresUrl('::: hunter2')).not.toContain('hunter2');
  });
});

describe('scrubSecrets', () => {
  it('removes every occurrence of each secret, raw and URL-encoded', () => {
    const text = 'password authentication failed for p@ss:w0rd (tried p%40ss%3Aw0rd, then p@ss:w0rd)';
    const scrubbed = scrubSecrets(text, ['p@ss:w0rd']);
    expect(scrubbed).not.toContain('w0rd');
    expect(scrubbed).toBe('password authentication failed for *** (tried ***, then ***)');
  });

  it('ignores empty secrets', () => {
    expect(scrubSecrets('abc', [''])).toBe('abc');
  });

  it('masks the password of any PostgreSQL URL in the text, even one it was not told about', () => {
    const scrubbed = scrubSecrets('cannot connect to postgresql://app:other-pw@db:5432/shop: timeout', []);
    expect(scrubbed).toBe('cannot connect to postgresql://app:***@db:5432/shop: timeout');
    expect(scrubSecrets('see POSTGRES://u:p%40x@h/db', [])).toBe('see POSTGRES://u:***@h/db');
  });

  it('leaves text without secrets unchanged', () => {
    const text = 'connect ECONNREFUSED 127.0.0.1:5432 postgres://db:5432/shop';
    expect(scrubSecrets(text, ['s3cret'])).toBe(text);
  });
});
