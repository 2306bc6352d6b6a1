import { chmodSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './pg-cluster.js';

export interface TestCertificates {
  /** The CA that signs `cert`. */
  ca: string;
  /** A CA that signs nothing here: a client trusting only it must refuse the server. */
  otherCa: string;
  cert: string;
  /** PKCS#8, unencrypted, mode 0600 (PostgreSQL refuses a key others can read; Kafka reads PKCS#8 PEM). */
  key: string;
}

const openssl = (...args: string[]) => run('openssl', args);

/** A CA and a server certificate it signs for `subjectAltName` (e.g. `DNS:localhost`), made with openssl in `dir`. */
export async function makeCertificates(dir: string, subjectAltName: string): Promise<TestCertificates> {
  const path = (name: string) => join(dir, name);
  const subject = (cn: string) => ['-subj', `/CN=${cn}`];
  for (const ca of ['ca', 'other-ca']) {
    await openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-keyout', path(`${ca}.key`), '-out', path(`${ca}.pem`), ...subject(`liteshift test ${ca}`));
  }
  await openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', path('server.key'), '-out', path('server.csr'), ...subject('liteshift test server'));
  await writeFile(path('san.ext'), `subjectAltName=${subjectAltName}\n`);
  await openssl('x509', '-req', '-in', path('server.csr'), '-CA', path('ca.pem'), '-CAkey', path('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', path('san.ext'), '-out', path('server.crt'));
  chmodSync(path('server.key'), 0o600);
  return { ca: path('ca.pem'), otherCa: path('other-ca.pem'), cert: path('server.crt'), key: path('server.key') };
}
