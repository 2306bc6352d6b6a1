import { Kafka, logLevel } from 'kafkajs';

function client(brokers: string): Kafka {
  return new Kafka({ clientId: 'liteshift-test-helper', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
}

/** Topics whose name starts with `<prefix>.` (what liteshift creates for a prefix). */
export async function topicsWithPrefix(brokers: string, prefix: string): Promise<string[]> {
  const admin = client(brokers).admin();
  await admin.connect();
  try {
    return (await admin.listTopics()).filter((t) => t === prefix || t.startsWith(`${prefix}.`)).sort();
  } finally {
    await admin.disconnect();
  }
}

/** Deletes the topics and the loader's consumer group of a test's prefix; never fails a test. */
export async function deleteTopicsWithPrefix(brokers: string, prefix: string): Promise<void> {
  const admin = client(brokers).admin();
  try {
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(`${prefix}-`));
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
  } catch {
    // cleanup only
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** A topic prefix no other test (or run) uses. */
export function uniquePrefix(label: string): string {
  return `lst-${label.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 40)}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}
