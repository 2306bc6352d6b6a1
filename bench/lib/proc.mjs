// Child processes for the benchmark: run one to completion measuring wall time and peak
// RSS, or keep one running (a service) and sample its memory. Every child is started in a
// process group of its own and remembered, so that cleanup (also on SIGINT) can stop it.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const GNU_TIME = '/usr/bin/time';
const live = new Set();
let counter = 0;

/** Whether GNU time (which reports max RSS) is usable here; else /proc is polled. */
export const haveGnuTime = (() => {
  if (!existsSync(GNU_TIME)) return false;
  const probe = spawnSync(GNU_TIME, ['-f', '%M', 'true'], { encoding: 'utf8' });
  return probe.status === 0 && /^\d+\s*$/m.test(probe.stderr);
})();

/** Peak RSS of a running process so far (VmHWM), in bytes; undefined once it is gone. */
export function peakRssOf(pid) {
  return procStatusField(pid, 'VmHWM');
}

/** Current RSS of a running process (VmRSS), in bytes. */
export function rssOf(pid) {
  return procStatusField(pid, 'VmRSS');
}

function procStatusField(pid, field) {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Is `cmd` on the PATH (or an existing path)? */
export function which(cmd) {
  const r = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

const CLOCK_TICKS = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  return Number(r.stdout) || 100;
})();

/**
 * CPU time (user + system, ms) used so far by the local processes `matches` picks (given
 * a pid and its command name): each live one's own plus what it collected from children
 * that exited. Undefined when none is readable (a remote or containerised server).
 */
function cpuOfProcessesMs(matches) {
  const tick = 1000 / CLOCK_TICKS;
  let total = 0;
  let seen = false;
  let names;
  try {
    names = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return undefined;
  }
  for (const pid of names) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      if (!matches(pid, stat.slice(stat.indexOf('(') + 1, close))) continue;
      const f = stat.slice(close + 2).split(' ');
      // After the name, counting its state as 0: utime 11, stime 12, cutime 13, cstime 14.
      total += (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * tick;
      seen = true;
    } catch {
      // gone meanwhile
    }
  }
  return seen ? total : undefined;
}

/** The local PostgreSQL server's CPU so far (the postmaster collects what exited backends used). */
export function postgresServerCpuMs() {
  return cpuOfProcessesMs((_, name) => name === 'postgres');
}

let brokerStateDir;

/**
 * Whose CPU the Kafka CPU figures are: the broker of the liteshift stack in `stateDir`. Other
 * brokers on the machine (another checkout's tests start their own) are no part of it: a
 * sum over every kafka.Kafka JVM counted them, and went negative when one exited meanwhile.
 */
export function measureBrokerOf(stateDir) {
  brokerStateDir = stateDir;
}

/** The CPU so far of the broker measureBrokerOf named (a JVM running kafka.Kafka from its state dir). */
export function kafkaBrokerCpuMs() {
  if (brokerStateDir === undefined) return undefined;
  return cpuOfProcessesMs((pid, name) => {
    if (name !== 'java') return false;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('kafka.Kafka') && cmdline.includes(brokerStateDir);
  });
}

/**
 * The figures of a runMeasured result that every section reports; the Kafka broker's CPU
 * only for a command that used it (an idle broker's is no part of pgloader's cost).
 */
export function figuresOf(r, { kafka = false } = {}) {
  return { exitCode: r.code, wallMs: r.wallMs, peakRssBytes: r.peakRssBytes, cpuMs: r.cpuMs, serverCpuMs: r.serverCpuMs, ...(kafka ? { brokerCpuMs: r.brokerCpuMs } : {}) };
}

/**
 * Runs a command to completion. Returns { code, signal, wallMs, peakRssBytes, cpuMs,
 * serverCpuMs, brokerCpuMs, stdout }. stderr (and stdout unless captured) go to `logFile`. Peak RSS and
 * CPU (user + system of the command and its children) come from GNU time (`%M`, `%U`,
 * `%S`) when present, else peak RSS from polling /proc/<pid>/status VmHWM every 50 ms and
 * no CPU. serverCpuMs, brokerCpuMs: what the local PostgreSQL server (all its sessions)
 * and a local Kafka broker spent meanwhile.
 */
export async function runMeasured(cmd, args, { cwd, env, logFile, captureStdout = false, tmpDir } = {}) {
  const n = ++counter;
  const timeFile = join(tmpDir, `time-${process.pid}-${n}.txt`);
  const useTime = haveGnuTime;
  const file = useTime ? GNU_TIME : cmd;
  const argv = useTime ? ['-o', timeFile, '-f', '%M %e %U %S', cmd, ...args] : args;
  const fd = openSync(logFile, 'a');
  let child;
  const serverBefore = postgresServerCpuMs();
  const brokerBefore = kafkaBrokerCpuMs();
  const started = performance.now();
  try {
    child = spawn(file, argv, {
      cwd,
      env: env ?? process.env,
      detached: true,
      stdio: ['ignore', captureStdout ? 'pipe' : fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  live.add(child);
  const chunks = [];
  if (captureStdout) child.stdout.on('data', (c) => chunks.push(c));
  let polledPeak = 0;
  const poll = useTime
    ? null
    : setInterval(() => {
        const p = peakRssOf(child.pid);
        if (p !== undefined && p > polledPeak) polledPeak = p;
      }, 50);
  const { code, signal } = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c, s) => resolve({ code: c, signal: s }));
  }).finally(() => {
    live.delete(child);
    if (poll) clearInterval(poll);
  });
  const wallMs = performance.now() - started;
  const serverCpuMs = difference(serverBefore, postgresServerCpuMs());
  const brokerCpuMs = difference(brokerBefore, kafkaBrokerCpuMs());
  let peakRssBytes = polledPeak || undefined;
  let cpuMs;
  if (useTime) {
    try {
      const lines = readFileSync(timeFile, 'utf8').trim().split('\n');
      const m = /^(\d+)\s+[\d.]+\s+([\d.]+)\s+([\d.]+)$/.exec(lines[lines.length - 1] ?? '');
      if (m) {
        peakRssBytes = Number(m[1]) * 1024;
        cpuMs = (Number(m[2]) + Number(m[3])) * 1000;
      }
    } catch {
      // the command never ran
    }
    rmSync(timeFile, { force: true });
  }
  return { code, signal, wallMs, peakRssBytes, cpuMs, serverCpuMs, brokerCpuMs, stdout: Buffer.concat(chunks).toString('utf8') };
}

function difference(before, after) {
  return before !== undefined && after !== undefined ? after - before : undefined;
}

/** Starts a long-running process (a service). Its output goes to logFile. */
export function startService(cmd, args, { cwd, env, logFile }) {
  const fd = openSync(logFile, 'a');
  let child;
  try {
    child = spawn(cmd, args, { cwd, env: env ?? process.env, detached: true, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  live.add(child);
  child.exited = new Promise((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('exit', (code, signal) => resolve({ code, signal }));
  }).finally(() => live.delete(child));
  return child;
}

/** SIGTERM to the process group, then SIGKILL after `graceMs`. */
export async function stopService(child, graceMs = 15_000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exited;
  signalGroup(child.pid, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), graceMs);
  try {
    return await child.exited;
  } finally {
    clearTimeout(timer);
  }
}

function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Stops every child still running (cleanup and SIGINT). */
export async function stopAll() {
  await Promise.all([...live].map((c) => (c.exited ? stopService(c, 5_000) : killNow(c))));
}

async function killNow(child) {
  signalGroup(child.pid, 'SIGTERM');
  await new Promise((resolve) => {
    const t = setTimeout(() => {
      signalGroup(child.pid, 'SIGKILL');
      resolve();
    }, 5_000);
    child.once('close', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** Runs a command quickly and returns { code, stdout, stderr } (setup steps, not measured). */
export function runQuiet(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    const out = [];
    const err = [];
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => err.push(c));
    child.once('error', (error) => {
      live.delete(child);
      resolve({ code: null, stdout: '', stderr: String(error.message), error });
    });
    child.once('close', (code) => {
      live.delete(child);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}
