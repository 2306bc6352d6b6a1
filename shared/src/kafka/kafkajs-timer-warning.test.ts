import { afterEach, beforeEach, expect, it } from 'vitest';
import { ignoreKafkajsTimerWarning } from './kafkajs-timer-warning.js';

let original: NodeJS.WarningListener[];
const printed: string[] = [];

beforeEach(() => {
  original = process.listeners('warning');
  process.removeAllListeners('warning');
  // Stands for Node's own printer of warnings.
  process.on('warning', (warning) => printed.push(`${warning.name}: ${warning.message}`));
});

afterEach(() => {
  process.removeAllListeners('warning');
  for (const listener of original) process.on('warning', listener);
});

it("drops kafkajs' negative-timeout warning, once installed twice, and passes every other warning on", async () => {
  ignoreKafkajsTimerWarning();
  ignoreKafkajsTimerWarning();
  // What Node 24 emits for kafkajs' setTimeout(…, -1 - Date.now()).
  process.emitWarning('-1796677024541 is a negative number.\nTimeout duration was set to 1.', 'TimeoutNegativeWarning');
  process.emitWarning('something else', 'SomeWarning');
  await new Promise((resolve) => setImmediate(resolve));
  expect(printed).toEqual(['SomeWarning: something else']);
});
