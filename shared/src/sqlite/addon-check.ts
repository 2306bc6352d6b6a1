import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, sep } from 'node:path';
import { LiteshiftError, errorMessage } from '../errors.js';

/**
 * NODE_MODULE_VERSION (the ABI a native addon is built for) of each Node major, from
 * Node's doc/abi_version_registry.json: an addon's error names the number, a user knows the major.
 */
const NODE_MAJOR_OF_MODULE_VERSION: ReadonlyMap<number, number> = new Map([
  [108, 18], [111, 19], [115, 20], [120, 21], [127, 22], [131, 23], [137, 24], [141, 25], [147, 26], [153, 27],
]);

/** What the rebuild command has to set so that it builds for the Node running now. */
export interface RebuildContext {
  /** Node's version, as in process.version. */
  nodeVersion: string;
  /** process.versions.modules of the running Node. */
  moduleVersion: string;
  /** Where better-sqlite3 is installed: the folder holding its node_modules. */
  installRoot: string;
  cwd: string;
  /** Set when `node` on the PATH is another Node: the folder of the running one. */
  nodeBinDir?: string | undefined;
  /** Set when npm builds addons against another Node's headers: the running Node's folder. */
  nodedir?: string | undefined;
}

/**
 * Loads better-sqlite3's native addon once, at start: an addon built for another Node
 * (npm ci run by another Node, or npm configured with another Node's headers) otherwise
 * fails at the first SQLite file, as a multi-line dlopen error or an "unexpected error".
 */
export function checkSqliteAddon(): void {
  try {
    new Database(':memory:').close();
  } catch (error) {
    throw sqliteAddonError(errorMessage(error), rebuildContext());
  }
}

/** The one line for an addon that does not load, and the command that rebuilds it for this Node. */
export function sqliteAddonError(loadError: string, context: RebuildContext): LiteshiftError {
  const hint = `rebuild it with the Node that runs liteshift: ${rebuildCommand(context)}`;
  const running = `Node ${context.nodeVersion.replace(/^v/, '')} (NODE_MODULE_VERSION ${context.moduleVersion})`;
  const versions = /NODE_MODULE_VERSION (\d+)\.[\s\S]*NODE_MODULE_VERSION (\d+)/.exec(loadError);
  if (versions) {
    const builtFor = NODE_MAJOR_OF_MODULE_VERSION.get(Number(versions[1]));
    const built = builtFor ? `Node ${builtFor} (NODE_MODULE_VERSION ${versions[1]})` : `NODE_MODULE_VERSION ${versions[1]}`;
    return new LiteshiftError('SQLITE_ADDON', `better-sqlite3 (SQLite's native addon) was built for ${built}, but this is ${running}`, { hint });
  }
  if (/Could not locate the bindings file/.test(loadError)) {
    return new LiteshiftError('SQLITE_ADDON', `better-sqlite3 (SQLite's native addon) is not built (this is ${running})`, { hint });
  }
  const firstLine = loadError.split('\n', 1)[0] ?? loadError;
  return new LiteshiftError('SQLITE_ADDON', `better-sqlite3 (SQLite's native addon) cannot be loaded by ${running}: ${firstLine}`, { hint });
}

export function rebuildCommand(context: RebuildContext): string {
  return [
    context.cwd === context.installRoot ? '' : `cd ${context.installRoot} && `,
    context.nodeBinDir ? `PATH=${context.nodeBinDir}:$PATH ` : '',
    context.nodedir ? `npm_config_nodedir=${context.nodedir} ` : '',
    'npm rebuild better-sqlite3',
  ].join('');
}

/** Looked up only once the addon failed: asking npm for its configuration takes half a second. */
function rebuildContext(): RebuildContext {
  const packageDir = dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json'));
  const marker = `${sep}node_modules${sep}`;
  const installRoot = packageDir.slice(0, packageDir.lastIndexOf(marker));
  const nodePrefix = dirname(dirname(process.execPath));
  const onPath = nodeOnPath();
  const npmNodedir = npmConfiguredNodedir();
  return {
    nodeVersion: process.version,
    moduleVersion: process.versions.modules,
    installRoot,
    cwd: process.cwd(),
    nodeBinDir: onPath !== undefined && onPath !== realpathSync(process.execPath) ? dirname(process.execPath) : undefined,
    // A nodedir that is not this Node's makes node-gyp build against the wrong headers.
    nodedir: npmNodedir !== undefined && npmNodedir !== nodePrefix ? nodePrefix : undefined,
  };
}

/** The real path of the `node` a shell would run (npm's own shebang finds it so), if any. */
function nodeOnPath(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'node');
    try {
      accessSync(candidate, constants.X_OK);
      return realpathSync(candidate);
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

function npmConfiguredNodedir(): string | undefined {
  const npm = spawnSync('npm', ['config', 'get', 'nodedir'], { encoding: 'utf8', timeout: 10_000 });
  const value = npm.status === 0 ? npm.stdout.trim() : '';
  return value === '' || value === 'undefined' || value === 'null' ? undefined : value;
}
