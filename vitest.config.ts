import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
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
          // One broker and one PostgreSQL are shared by every file, so files run one at a
          // time. `fileParallelism` is root-only in vitest 3 and would also serialise the
          // unit project; a single fork is the per-project equivalent.
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});
