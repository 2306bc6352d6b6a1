import { describe, expect, it } from 'vitest';
import { rebuildCommand, sqliteAddonError, type RebuildContext } from './addon-check.js';

/** What Node 24 says when it loads a better-sqlite3 built by Node 20. */
const DLOPEN_MISMATCH =
  "The module '/app/node_modules/better-sqlite3/build/Release/better_sqlite3.node'\n" +
  'was compiled against a different Node.js version using\nNODE_MODULE_VERSION 115. This version of Node.js requires\n' +
  'NODE_MODULE_VERSION 137. Please try re-compiling or re-installing\nthe module (for instance, using `npm rebuild` or `npm install`).';

const node24: RebuildContext = { nodeVersion: 'v24.22.3', moduleVersion: '137', installRoot: '/app', cwd: '/app' };

describe('sqliteAddonError', () => {
  it('names the Node the addon was built for and the Node running, on one line', () => {
    const line = sqliteAddonError(DLOPEN_MISMATCH, node24).toUserLine();
    expect(line).toBe(
      "better-sqlite3 (SQLite's native addon) was built for Node 20 (NODE_MODULE_VERSION 115), but this is Node 24.22.3 (NODE_MODULE_VERSION 137)" +
        ' (rebuild it with the Node that runs liteshift: npm rebuild better-sqlite3)',
    );
    expect(line).not.toContain('\n');
  });

  it('a NODE_MODULE_VERSION of no known Node is named as the number', () => {
    const line = sqliteAddonError(DLOPEN_MISMATCH.replace('VERSION 115', 'VERSION 999'), node24).toUserLine();
    expect(line).toContain('was built for NODE_MODULE_VERSION 999, but this is Node 24.22.3');
  });

  it('an addon never built, or failing otherwise, gets the same fix and the first line of the cause', () => {
    expect(sqliteAddonError('Could not locate the bindings file. Tried:\n → /app/build/x.node', node24).toUserLine()).toMatch(
      /^better-sqlite3 \(SQLite's native addon\) is not built \(this is Node 24\.22\.3 \(NODE_MODULE_VERSION 137\)\) \(rebuild it .*npm rebuild better-sqlite3\)$/,
    );
    const other = sqliteAddonError("/lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found\n(required by x.node)", node24);
    expect(other.toUserLine()).toContain("cannot be loaded by Node 24.22.3 (NODE_MODULE_VERSION 137): /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found (rebuild");
    expect(other.code).toBe('SQLITE_ADDON');
  });
});

describe('rebuildCommand', () => {
  it('is just npm rebuild where npm already builds for the running Node', () => {
    expect(rebuildCommand(node24)).toBe('npm rebuild better-sqlite3');
  });

  it('goes to the install, puts the running Node first on the PATH and points npm at its headers when needed', () => {
    expect(rebuildCommand({ ...node24, cwd: '/home/me', nodeBinDir: '/opt/node-24/bin', nodedir: '/opt/node-24' })).toBe(
      'cd /app && PATH=/opt/node-24/bin:$PATH npm_config_nodedir=/opt/node-24 npm rebuild better-sqlite3',
    );
  });
});
