import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Every integration file has its own SQLite files, databases and topic prefix on the
    // shared broker and server, so files run side by side, whatever the cores: much of
    // their time is spent waiting for Kafka, PostgreSQL and the services they start.
    // (Vitest's default, one worker less than the cores, ran them one at a time on 2.)
    maxWorkers: 2,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['shared/src/**/*.test.ts', 'services/**/src/**/*.test.ts', 'cli/src/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
