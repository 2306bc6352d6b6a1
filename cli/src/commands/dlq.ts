import { clearDeadLetters, connectAdmin, createKafka, listDeadLetters, type DeadLetter, type Logger, type Settings } from '@liteshift/shared';
import { formatCount, print, printJson } from '../output.js';

type DlqSettings = Pick<Settings, 'kafkaBrokers' | 'topicPrefix'>;

export interface DlqFlags {
  clear: boolean;
  json: boolean;
  /** Letters to show; all are counted (and cleared). */
  limit: number;
}

/**
 * Lists the messages the loader could not decode and, with --clear, deletes them from the
 * dead-letter topic once the user has dealt with them: until then `verify` says NOT READY.
 */
export async function dlqCommand(settings: DlqSettings, flags: DlqFlags, log: Logger): Promise<void> {
  const kafka = createKafka({ brokers: settings.kafkaBrokers, clientId: 'liteshift-dlq', log });
  const admin = await connectAdmin(kafka, settings.kafkaBrokers);
  try {
    const listing = await listDeadLetters(kafka, admin, settings.topicPrefix, flags.limit);
    const cleared = flags.clear ? await clearDeadLetters(admin, listing) : null;
    if (cleared !== null) log.info({ topic: listing.topic, cleared }, 'dead letters cleared');
    if (flags.json) {
      printJson({
        topic: listing.topic,
        total: listing.total,
        letters: listing.letters.map((l) => ({ ...l, key: l.key === null ? null : l.key.toString('hex') })),
        cleared,
      });
      return;
    }
    if (listing.total === 0) {
      print(`${listing.topic}: no dead letters`);
      return;
    }
    print(`${listing.topic}: ${formatCount(listing.total)} dead letter(s)${listing.letters.length < listing.total ? `, the first ${formatCount(listing.letters.length)}:` : ':'}`);
    for (const letter of listing.letters) print(`  ${describeLetter(letter)}`);
    print('');
    if (cleared === null) {
      print('Each is the message as it was on its topic. Fix what sent it (another producer, an older liteshift) or the');
      print('source row (it streams again), then `liteshift dlq --clear`: status and verify stop counting them.');
    } else {
      print(`cleared ${formatCount(cleared)} dead letter(s): status and verify no longer count them`);
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

function describeLetter(l: DeadLetter): string {
  const where = l.from ? `${l.from.topic} partition ${l.from.partition} offset ${l.from.offset}` : `${l.partition}:${l.offset} of the dead-letter topic`;
  return `${where}: ${l.reason} (key ${showBytes(l.key)}, value ${formatCount(l.valueBytes)} bytes, ${l.at})`;
}

/** Printable ASCII as a quoted string, anything else as hex; long keys cut. */
function showBytes(bytes: Buffer | null): string {
  if (bytes === null) return 'null';
  const shown = bytes.subarray(0, 32);
  const more = bytes.length > shown.length ? '…' : '';
  return shown.every((b) => b >= 0x20 && b < 0x7f) ? `${JSON.stringify(shown.toString('latin1'))}${more}` : `0x${shown.toString('hex')}${more}`;
}
