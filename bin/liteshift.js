#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';

/**
 * The one-shot commands that read every row (migrate, demo, verify, export-sqlite) make many short-lived
 * objects per row: a young generation of 64 MB instead of V8's 16 spends far less time in
 * garbage collection (1M tasks: migrate 19.2–20.2 s → 16.0–17.7 s, verify 7.6 → 6.3 s). V8
 * sizes it only at start-up, so these commands run in a child Node started with it. The
 * services (extract, load, verify --watch) keep the default: their memory stays lower.
 */
const YOUNG_GENERATION = '--max-semi-space-size=64';
const [command, ...rest] = process.argv.slice(2);
const batch = ['migrate', 'demo', 'export-sqlite', 'apply-sqlite'].includes(command) || (command === 'verify' && !rest.includes('--watch'));

if (batch && !process.execArgv.some((a) => a.startsWith('--max-semi-space-size'))) {
  const child = spawn(process.execPath, [YOUNG_GENERATION, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  // Ctrl-C reaches the child from the terminal too; a signal sent to this process alone is passed on.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
} else {
  // A reader that leaves early (`liteshift plan | head`) ends the output, not the command.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error) => {
      if (error.code !== 'EPIPE') throw error;
    });
  }
  const { main } = await import('../cli/dist/main.js');
  const code = await main(process.argv);
  // Exit at once: a client still retrying in the background (an unreachable broker) must
  // not keep the process alive after the error has been reported. Once stdout and stderr
  // are flushed, though: what a pipe could not take yet is queued in this process, and
  // exit dropped it (`plan | wc -c` counted 86 to 245 KB of a 404 KB plan).
  await Promise.all([process.stdout, process.stderr].map((stream) => new Promise((resolve) => stream.write('', resolve))));
  process.exit(code);
}
