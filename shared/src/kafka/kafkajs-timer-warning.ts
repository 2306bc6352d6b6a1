let installed = false;

/**
 * kafkajs 2.2.4, its last release, arms its request queue's timer for `-1 - Date.now()` ms
 * when no request is pending (tulios/kafkajs#1751). Node runs such a timer after 1 ms, as
 * it always did, and since Node 23 also prints a TimeoutNegativeWarning to stderr, once per
 * thread: three lines under `liteshift demo` on Node 24 that tell a user nothing, and the
 * second and third lines of what must be a one-line error. Every other warning is printed
 * as before, by the listeners Node (or anyone) installed.
 */
export function ignoreKafkajsTimerWarning(): void {
  if (installed) return;
  installed = true;
  const printers = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (warning.name !== 'TimeoutNegativeWarning') for (const print of printers) print(warning);
  });
}
