import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { settingsMarkdownTable } from '../shared/src/config.js';

const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');

describe('README', () => {
  it('carries the configuration table generated from the settings declaration', () => {
    expect(readme).toContain(settingsMarkdownTable());
  });

  it('starts with the demo and the test command lines', () => {
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const lines = firstBlock.trim().split('\n');
    expect(lines[0]).toMatch(/^npm ci && npx liteshift demo\b/);
    expect(lines[1]).toMatch(/^npm ci && npm test\b/);
  });

  it('is what .ci/run runs', () => {
    const ci = readFileSync(join(import.meta.dirname, '..', '.ci', 'run'), 'utf8');
    expect(ci).toContain('npm ci && npm test');
  });
});
