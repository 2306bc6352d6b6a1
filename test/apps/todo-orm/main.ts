import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { TodoApp, type TodoReport } from './app.js';

/**
 * The Todo application from the command line, as a process of its own (its own time zone,
 * its own connections), the database named by DATABASE_URL alone:
 *
 *   DATABASE_URL=sqlite:///tmp/todo.db vite-node test/apps/todo-orm/main.ts -- migrate [--up-to 1]
 *   … seed --users 20 --tasks-per-user 15 | work --round 1 | report | check --expect report.json
 *
 * Prints one JSON document on stdout; `check` exits 1 when it finds a problem.
 */
async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      'up-to': { type: 'string' },
      users: { type: 'string', default: '10' },
      'tasks-per-user': { type: 'string', default: '10' },
      seed: { type: 'string', default: '1' },
      round: { type: 'string', default: '1' },
      expect: { type: 'string' },
    },
  });
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is required');
  const app = await TodoApp.open(url);
  try {
    switch (positionals[0]) {
      case 'migrate':
        return print({ migrations: await app.migrate(values['up-to'] === undefined ? undefined : Number(values['up-to'])) });
      case 'seed':
        await app.seed({ users: Number(values.users), tasksPerUser: Number(values['tasks-per-user']), seed: Number(values.seed) });
        return print(await app.report());
      case 'work':
        await app.work(Number(values.round));
        return print(await app.report());
      case 'report':
        return print(await app.report());
      case 'check': {
        if (!values.expect) throw new Error('check needs --expect <report.json> (what the application answered before)');
        const problems = await app.check(JSON.parse(readFileSync(values.expect, 'utf8')) as TodoReport);
        print({ dialect: app.dialect, problems });
        if (problems.length > 0) process.exitCode = 1;
        return;
      }
      default:
        throw new Error(`unknown command ${positionals[0] ?? '(none)'}: migrate, seed, work, report or check`);
    }
  } finally {
    await app.close();
  }
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`todo-orm: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 2;
});
