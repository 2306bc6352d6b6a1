import { open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LiteshiftError } from '../errors.js';
import type { Logger } from '../log.js';
import { sleep } from '../retry.js';
import { isRunning } from './process.js';

export interface StackState {
  pid: number;
  port: number;
  controllerPort: number;
  brokers: string;
  startedAt: string;
}

export function statePath(stateDir: string): string {
  return join(stateDir, 'state.json');
}

export async function readState(stateDir: string): Promise<StackState | undefined> {
  try {
    const parsed = JSON.parse(await readFile(statePath(stateDir), 'utf8')) as Partial<StackState>;
    if (typeof parsed.pid !== 'number' || typeof parsed.brokers !== 'string') return undefined;
    return parsed as StackState;
  } catch {
    return undefined;
  }
}

/** Written via rename so a reader never sees half a file. */
export async function writeState(stateDir: string, state: StackState): Promise<void> {
  const tmp = `${statePath(stateDir)}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`);
  await rename(tmp, statePath(stateDir));
}

export async function removeState(stateDir: string): Promise<void> {
  await rm(statePath(stateDir), { force: true });
}

const LOCK_WAIT_MS = 180_000;
/** A lock file with no pid yet is someone mid-write; after this long it is debris. */
const EMPTY_LOCK_GRACE_MS = 10_000;

/**
 * Serialises up/down on one state dir: two `stack up` at once (a test run and the demo)
 * would otherwise both see no broker and start two on the same data dir.
 */
export async function withStackLock<T>(stateDir: string, log: Logger, fn: () => Promise<T>): Promise<T> {
  const lockPath = join(stateDir, '.lock');
  const deadline = Date.now() + LOCK_WAIT_MS;
  let announced = false;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx');
      try {
        await handle.writeFile(String(process.pid));
      } finally {
        await handle.close();
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await lockHolder(lockPath);
    if (holder === 'stale') {
      await rm(lockPath, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new LiteshiftError('STACK_FAILED', `another liteshift process (pid ${holder}) is still starting or stopping the stack`, {
        hint: `wait for it, or remove ${lockPath} if that process is gone`,
      });
    }
    if (!announced) {
      log.info({ holder }, 'waiting for another liteshift process to finish with the stack');
      announced = true;
    }
    await sleep(250);
  }
  try {
    return await fn();
  } finally {
    await rm(lockPath, { force: true });
  }
}

async function lockHolder(lockPath: string): Promise<number | 'unknown' | 'stale'> {
  try {
    const text = (await readFile(lockPath, 'utf8')).trim();
    const pid = Number(text);
    if (text.length > 0 && Number.isInteger(pid) && pid > 0) {
      return (await isRunning(pid)) ? pid : 'stale';
    }
    const { mtimeMs } = await stat(lockPath);
    return Date.now() - mtimeMs > EMPTY_LOCK_GRACE_MS ? 'stale' : 'unknown';
  } catch {
    // Vanished between open and read: the holder just released it.
    return 'unknown';
  }
}
