/**
 * Connection strings carry passwords. Everything liteshift prints or logs about a
 * database names it as host:port/db only.
 */
export function describePostgresUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const host = parsed.hostname || 'localhost';
    const port = parsed.port || '5432';
    const db = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || '(default)';
    return `${host}:${port}/${db}`;
  } catch {
    return '(unparseable PostgreSQL URL)';
  }
}

/** The URL with its password replaced by ***, for the line the user copies at cutover. */
export function maskPostgresUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    // The driver also reads ?password=… (pg-connection-string), and it wins over the user-info one.
    if (parsed.searchParams.has('password')) parsed.searchParams.set('password', '***');
    return parsed.toString();
  } catch {
    return '(unparseable PostgreSQL URL)';
  }
}

/** Removes every occurrence of each secret from free text (driver messages can echo them). */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length < 1) continue;
    out = out.split(secret).join('***');
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret) out = out.split(encoded).join('***');
  }
  return out.replace(/(postgres(?:ql)?:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1***@');
}
