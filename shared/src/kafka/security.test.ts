import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kafkaSecurityOf, kafkajsSecurityOptions, platformaticSecurityOptions } from './security.js';

const dir = mkdtempSync(join(tmpdir(), 'liteshift-kafka-security-'));
const ca = join(dir, 'ca.pem');
writeFileSync(ca, 'CA PEM');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/* Both clients must be told the same thing; test/kafka-sasl.test.ts proves SCRAM against a real broker. */
describe('Kafka security options', () => {
  const sasl = { kafkaSaslMechanism: 'scram-sha-512', kafkaSaslUsername: 'alice', kafkaSaslPassword: 'pw' } as const;

  it('nothing set: plain text for both clients', () => {
    const none = kafkaSecurityOf({});
    expect(kafkajsSecurityOptions(none)).toEqual({});
    expect(platformaticSecurityOptions(none)).toEqual({});
  });

  it('SCRAM: kafkajs takes the mechanism in lower case, @platformatic/kafka in upper case', () => {
    const security = kafkaSecurityOf(sasl);
    expect(kafkajsSecurityOptions(security)).toEqual({ sasl: { mechanism: 'scram-sha-512', username: 'alice', password: 'pw' } });
    expect(platformaticSecurityOptions(security)).toEqual({ sasl: { mechanism: 'SCRAM-SHA-512', username: 'alice', password: 'pw' } });
  });

  it('TLS with the built-in CAs, or with a CA file (which alone turns TLS on)', () => {
    expect(kafkajsSecurityOptions(kafkaSecurityOf({ kafkaTls: true }))).toEqual({ ssl: true });
    expect(platformaticSecurityOptions(kafkaSecurityOf({ kafkaTls: true }))).toEqual({ tls: {} });
    const withCa = kafkaSecurityOf({ ...sasl, kafkaCaFile: ca });
    expect(kafkajsSecurityOptions(withCa)).toMatchObject({ ssl: { ca: 'CA PEM' }, sasl: { mechanism: 'scram-sha-512' } });
    expect(platformaticSecurityOptions(withCa)).toMatchObject({ tls: { ca: 'CA PEM' }, sasl: { mechanism: 'SCRAM-SHA-512' } });
  });
});
