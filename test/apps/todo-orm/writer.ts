import { TodoApp } from './app.js';

/**
 * The Todo application at work, as a process of its own: rounds of what its users do
 * (app.work), one after another through the ORM, until SIGTERM. The database is named by
 * DATABASE_URL alone. Round numbers start at --from (each round signs up a user of its own).
 *
 *   DATABASE_URL=sqlite:///tmp/todo.db vite-node test/apps/todo-orm/writer.ts -- --from 100
 *
 * stdout, one JSON object a line: {"round":n} after each round, then {"rounds":n,"failures":[…]} at the end.
 */
async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is required');
  const flag = (name: string, fallback: number): number => {
    const at = process.argv.indexOf(name);
    return at >= 0 ? Number(process.argv[at + 1]) : fallback;
  };
  let round = flag('--from', 100);
  const pauseMs = flag('--pause-ms', 100);
  let stopping = false;
  process.once('SIGTERM', () => (stopping = true));
  const app = await TodoApp.open(url);
  const failures: string[] = [];
  let rounds = 0;
  try {
    while (!stopping) {
      try {
        await app.work(round);
        rounds++;
        process.stdout.write(`${JSON.stringify({ round })}\n`);
      } catch (error) {
        // SQLite busy for longer than the driver waits: the application would retry.
        failures.push(error instanceof Error ? error.message : String(error));
      }
      round++;
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  } finally {
    await app.close();
  }
  process.stdout.write(`${JSON.stringify({ rounds, failures })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`todo-orm writer: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 2;
});
