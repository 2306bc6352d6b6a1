/** Node's codes for a certificate whose chain leads to no CA the client trusts, or out of date. */
const UNTRUSTED_CERTIFICATE = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
]);

/** Why a TLS handshake refused the server's certificate, or undefined for any other error. */
export function certificateProblem(error: unknown): 'untrusted' | 'other-host' | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  if (UNTRUSTED_CERTIFICATE.has(code)) return 'untrusted';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return 'other-host';
  return undefined;
}
