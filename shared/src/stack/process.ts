import { spawn } from 'node:child_process';
import { access, constants, readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { LiteshiftError } from '../errors.js';

export const INSTALL_HINT =
  'install Maven and Java 17+: apt-get install maven openjdk-17-jre-headless (Debian/Ubuntu) or brew install maven openjdk@17 (macOS)';

export interface ToolResult {
  code: number | null;
  /** stdout and stderr interleaved, capped so a chatty tool cannot exhaust memory. */
  output: string;
}

const OUTPUT_CAP = 256 * 1024;

/**
 * Runs a command to completion. A missing executable becomes a STACK_FAILED with the
 * install hint, because that is the one failure a user can fix without reading logs.
 */
export function runTool(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    let output = '';
    const append = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (output.length > OUTPUT_CAP) output = output.slice(-OUTPUT_CAP);
    };
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', append);
    child.stderr.on('data', append);
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') reject(missingTool(command, error));
      else reject(error);
    });
    child.on('close', (code) => resolve({ code, output }));
  });
}

export function missingTool(command: string, cause?: unknown): LiteshiftError {
  return missingTools([command], cause);
}

function missingTools(commands: readonly string[], cause?: unknown): LiteshiftError {
  const names = commands.map((command) => `\`${command}\``).join(' and ');
  const [verb, pronoun] = commands.length > 1 ? ['were', 'them'] : ['was', 'it'];
  return new LiteshiftError('STACK_FAILED', `${names} ${verb} not found on PATH; the local Kafka stack needs ${pronoun}`, {
    hint: INSTALL_HINT,
    cause,
  });
}

/** Reports every missing tool at once, so the user installs them in one go. */
export async function requireOnPath(commands: readonly string[]): Promise<void> {
  const missing: string[] = [];
  for (const command of commands) {
    if (!(await onPath(command))) missing.push(command);
  }
  if (missing.length > 0) throw missingTools(missing);
}

async function onPath(command: string): Promise<boolean> {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  const names = process.platform === 'win32' ? [command, `${command}.cmd`, `${command}.exe`] : [command];
  for (const dir of dirs) {
    for (const name of names) {
      try {
        await access(join(dir, name), constants.X_OK);
        return true;
      } catch {
        // Not in this directory.
      }
    }
  }
  return false;
}

export function tailLines(text: string, count: number): string {
  const lines = text.replace(/\s+$/, '').split('\n');
  return lines.slice(-count).join('\n');
}

/**
 * A pid in state.json may be stale and recycled; a zombie still answers kill(0). Both
 * must read as "not running" or stackDown would wait 30 s for nothing.
 */
export async function isRunning(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (process.platform !== 'linux') return true;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The state letter follows the parenthesised command name, which may itself hold spaces.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/**
 * Guards the process-group kill against a recycled pid that now belongs to someone else:
 * the command line must be a Kafka broker started with this state dir's config file.
 */
export async function looksLikeBroker(pid: number, serverProperties: string): Promise<boolean> {
  const matches = (commandLine: string): boolean =>
    commandLine.includes('kafka.Kafka') && commandLine.includes(serverProperties);
  if (process.platform === 'linux') {
    try {
      return matches(await readFile(`/proc/${pid}/cmdline`, 'utf8'));
    } catch {
      return false;
    }
  }
  try {
    // -ww: BSD ps truncates long command lines (our classpath is long) without it.
    const { code, output } = await runTool('ps', ['-ww', '-o', 'command=', '-p', String(pid)]);
    return code === 0 && matches(output);
  } catch {
    // Without ps we cannot tell; the caller's state.json is the best evidence left.
    return true;
  }
}

/** The broker runs detached, so its pid is also its process-group id. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return;
    throw error;
  }
}
