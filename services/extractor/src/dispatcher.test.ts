import { describe, expect, it } from 'vitest';
import { ChangeEventCodec, tableSchemas, type ColumnModel, type MessageProducer, type OutgoingMessage, type TableModel } from '@liteshift/shared';
import { EventDispatcher } from './dispatcher.js';

function column(name: string, kind: ColumnModel['kind'] = 'text'): ColumnModel {
  return { name, declaredType: '', notNull: false, sqliteDefault: null, kind, pgType: 'text', pgDefault: null, identity: false, reason: 'test' };
}

const TASKS: TableModel = {
  name: 'tasks',
  withoutRowid: false,
  columns: [column('title'), column('id', 'integer'), column('done', 'integer')],
  key: ['id'],
  keyIsRowid: false,
  foreignKeys: [],
  indexes: [],
  checks: [],
};
const codec = new ChangeEventCodec(tableSchemas(TASKS));

/** Records what reaches it; each send is acknowledged when the test says so. */
class RecordingProducer {
  readonly sent: { topic: string; messages: readonly OutgoingMessage[] }[] = [];
  private pending: { resolve: () => void; reject: (e: Error) => void }[] = [];

  send(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    this.sent.push({ topic, messages });
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  get waiting(): number {
    return this.pending.length;
  }

  ack(): void {
    this.pending.shift()!.resolve();
  }

  fail(error: Error): void {
    this.pending.shift()!.reject(error);
  }
}

function setup(): { producer: RecordingProducer; dispatcher: EventDispatcher } {
  const producer = new RecordingProducer();
  const dispatcher = new EventDispatcher(producer as unknown as MessageProducer, 'app');
  dispatcher.register(TASKS);
  return { producer, dispatcher };
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('EventDispatcher', () => {
  it('sends snapshot reads keyed by the primary key, on the table topic', async () => {
    const { producer, dispatcher } = setup();
    await dispatcher.dispatchSnapshot('tasks', [['milk', 1n, 0n], ['eggs', 2n, 1n]], [1], 9n);
    producer.ack();
    await dispatcher.flush();
    expect(producer.sent).toHaveLength(1);
    expect(producer.sent[0]!.topic).toBe('app.tasks');
    const [first, second] = producer.sent[0]!.messages;
    expect(codec.decodeKey(first!.key!)).toEqual([1n]);
    expect(codec.decodeValue(first!.value!)).toMatchObject({ op: 'r', table: 'tasks', after: ['milk', 1n, 0n], seq: 9n, snapshot: true });
    expect(codec.decodeKey(second!.key!)).toEqual([2n]);
  });

  it('a delete is a delete event followed by a tombstone of the same key', async () => {
    const { producer, dispatcher } = setup();
    await dispatcher.dispatch('tasks', [
      { op: 'u', key: [1n], row: ['milk', 1n, 1n], seq: 10n },
      { op: 'd', key: [2n], row: null, seq: 11n },
    ]);
    producer.ack();
    await dispatcher.flush();
    const messages = producer.sent[0]!.messages;
    expect(messages).toHaveLength(3);
    expect(codec.decodeValue(messages[0]!.value!)).toMatchObject({ op: 'u', after: ['milk', 1n, 1n], seq: 10n, snapshot: false });
    expect(codec.decodeValue(messages[1]!.value!)).toMatchObject({ op: 'd', after: null, seq: 11n });
    expect(messages[2]!.value).toBeNull();
    expect(Buffer.compare(messages[2]!.key!, messages[1]!.key!)).toBe(0);
  });

  it('keeps one batch in flight: the next is encoded at once and sent only once the previous is acknowledged', async () => {
    const { producer, dispatcher } = setup();
    await dispatcher.dispatchSnapshot('tasks', [['a', 1n, 0n]], [1], 1n);
    let secondDone = false;
    const second = dispatcher.dispatchSnapshot('tasks', [['b', 2n, 0n]], [1], 1n).then(() => (secondDone = true));
    await settle();
    expect(producer.sent).toHaveLength(1);
    expect(secondDone).toBe(false);
    producer.ack();
    await second;
    expect(producer.sent).toHaveLength(2);
    producer.ack();
    await dispatcher.flush();
    expect(producer.waiting).toBe(0);
  });

  it('reports a failed send once, at the next dispatch or flush, and stays usable for the retry', async () => {
    const { producer, dispatcher } = setup();
    await dispatcher.dispatchSnapshot('tasks', [['a', 1n, 0n]], [1], 1n);
    producer.fail(new Error('broker gone'));
    await expect(dispatcher.flush()).rejects.toThrow('broker gone');
    await dispatcher.dispatchSnapshot('tasks', [['a', 1n, 0n]], [1], 1n);
    producer.ack();
    await expect(dispatcher.flush()).resolves.toBeUndefined();
    expect(producer.sent).toHaveLength(2);
  });

  it('refuses a table it was not told about', async () => {
    const { dispatcher } = setup();
    await expect(dispatcher.dispatch('users', [])).rejects.toThrow('table users was not registered with the dispatcher');
  });
});
