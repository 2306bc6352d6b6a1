import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { unreadableFileReason } from '../readable-file.js';

/**
 * TLS to PostgreSQL with libpq's meaning of sslmode. node-postgres reads `sslmode=require`
 * in a URL as verify-full (pg-connection-string 2.x, unless `uselibpqcompat=true`), and
 * lets the URL's TLS parameters replace the options it is given. So liteshift takes them
 * out of the URL and builds the TLS options itself:
 * - disable: plain text;
 * - require: encrypted, the certificate not checked (with a CA file: as verify-ca, as libpq);
 * - verify-ca: the certificate is signed by the CA;
 * - verify-full: signed by the CA and naming the host connected to.
 * prefer and allow (try one, fall back to the other) are refused: a migration should not
 * silently travel in plain text.
 */
export const SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** URL parameters that carry TLS settings; liteshift applies them itself. */
const TLS_PARAMS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey'] as const;
/** URL parameters that would set node-postgres's own TLS options behind liteshift's back. */
const REFUSED_PARAMS = ['ssl', 'uselibpqcompat'] as const;
/** sslrootcert=system (libpq 16): the CAs the platform trusts, which for Node are its built-in ones. */
const SYSTEM_CAS = 'system';

function searchParams(url: string): URLSearchParams | undefined {
  try {
    return new URL(url).searchParams;
  } catch {
    return undefined;
  }
}

/** What is wrong with the TLS parameters of a PostgreSQL URL (never echoes the URL). */
export function postgresUrlTlsProblem(url: string): string | undefined {
  const params = searchParams(url);
  if (!params) return undefined;
  const mode = params.get('sslmode');
  if (mode !== null && !(SSL_MODES as readonly string[]).includes(mode)) {
    return `sslmode=${mode} in the URL: use ${SSL_MODES.join(', ')} (prefer and allow, which fall back to plain text, are not supported)`;
  }
  for (const name of REFUSED_PARAMS) {
    if (params.has(name)) return `${name}= in the URL: use sslmode= (${SSL_MODES.join(', ')}) instead`;
  }
  for (const name of ['sslrootcert', 'sslcert', 'sslkey'] as const) {
    const path = params.get(name);
    if (path === null || (name === 'sslrootcert' && path === SYSTEM_CAS)) continue;
    const reason = unreadableFileReason(path);
    if (reason) return `${name}= in the URL: ${reason}`;
  }
  return undefined;
}

export interface PostgresTlsSettings {
  sslMode?: SslMode | undefined;
  caFile?: string | undefined;
}

/** The URL with the TLS settings given apart (flags, PGSSLMODE, PGSSLROOTCERT) where it names none itself: the URL wins, as in libpq. */
export function withPostgresTls(url: string, tls: PostgresTlsSettings): string {
  const parsed = new URL(url);
  let changed = false;
  if (tls.sslMode && !parsed.searchParams.has('sslmode')) {
    parsed.searchParams.set('sslmode', tls.sslMode);
    changed = true;
  }
  if (tls.caFile && !parsed.searchParams.has('sslrootcert')) {
    parsed.searchParams.set('sslrootcert', tls.caFile);
    changed = true;
  }
  return changed ? parsed.toString() : url;
}

/** The sslmode a URL asks for: its own, else verify-full when it names a CA, else disable. */
export function sslModeOf(url: string): SslMode {
  const params = searchParams(url);
  const mode = params?.get('sslmode');
  if (mode && (SSL_MODES as readonly string[]).includes(mode)) return mode as SslMode;
  return params?.has('sslrootcert') ? 'verify-full' : 'disable';
}

/** What node-postgres is given: the URL without its TLS parameters, and the TLS options they mean. */
export function postgresConnectionTls(url: string): { connectionString: string; ssl: false | ConnectionOptions } {
  const params = searchParams(url);
  if (!params || !TLS_PARAMS.some((name) => params.has(name))) return { connectionString: url, ssl: false };
  const parsed = new URL(url);
  for (const name of TLS_PARAMS) parsed.searchParams.delete(name);
  const connectionString = parsed.toString();
  const mode = sslModeOf(url);
  if (mode === 'disable') return { connectionString, ssl: false };

  const rootCert = params.get('sslrootcert');
  const cert = params.get('sslcert');
  const key = params.get('sslkey');
  const ssl: ConnectionOptions = {
    ...(rootCert && rootCert !== SYSTEM_CAS ? { ca: readFileSync(rootCert, 'utf8') } : {}),
    // A client certificate, for servers that authenticate by it (pg_hba `cert`).
    ...(cert ? { cert: readFileSync(cert, 'utf8') } : {}),
    ...(key ? { key: readFileSync(key, 'utf8') } : {}),
  };
  if (mode === 'require' && rootCert === null) return { connectionString, ssl: { ...ssl, rejectUnauthorized: false } };
  // verify-ca (or require given a CA): the chain is checked, the host name is not.
  if (mode !== 'verify-full') return { connectionString, ssl: { ...ssl, checkServerIdentity: () => undefined } };
  return { connectionString, ssl };
}
