import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { access, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { LiteshiftError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { retry, sleep } from '../retry.js';
import { HOST, LOG4J2_PROPERTIES, newClusterId, pickPort, previousPorts, serverProperties } from './broker-config.js';
import { ensureKafkaJars } from './kafka-jars.js';
import { defaultCacheDir, defaultStateDir, KAFKA_VERSION } from './paths.js';
import { describeBroker } from './probe.js';
import { isRunning, looksLikeBroker, missingTool, runTool, signalGroup, tailLines } from './process.js';
import { readState, removeState, withStackLock, writeState, type StackState } from './state.js';

export interface StackUpOptions {
  stateDir?: string;
  /** Broker port to use when it is free; otherwise (and by default) any free port. */
  port?: number;
  log: Logger;
  heapMb?: number;
  /** Where the Kafka jars are cached; defaults to $LITESHIFT_CACHE_DIR or ~/.cache/liteshift. */
  cacheDir?: string;
}

export interface StackUpResult {
  brokers: string;
  pid: number;
  reused: boolean;
  stateDir: string;
}

export interface StackDownOptions {
  stateDir?: string;
  log: Logger;
  /** Also delete the broker's data (topics, offsets). */
  purge?: boolean;
}

export interface StackStatusOptions {
  stateDir?: string;
  log: Logger;
}

export interface StackStatus {
  running: boolean;
  brokers?: string;
  pid?: number;
}

const STARTUP_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 30_000;
const STARTED_LINE = 'Kafka Server started';
const FATAL_LINE = 'Exiting Kafka due to fatal exception';

interface Layout {
  stateDir: string;
  dataDir: string;
  serverProperties: string;
  log4j: string;
  brokerLog: string;
}

function layout(stateDir: string): Layout {
  return {
    stateDir,
    dataDir: join(stateDir, 'data'),
    serverProperties: join(stateDir, 'server.properties'),
    log4j: join(stateDir, 'log4j2.properties'),
    brokerLog: join(stateDir, 'broker.log'),
  };
}

function resolveStateDir(stateDir: string | undefined): string {
  return resolve(stateDir ?? defaultStateDir());
}

/**
 * Starts a single-node KRaft broker that outlives this process, or returns the one
 * already running for this state dir.
 */
export async function stackUp(opts: StackUpOptions): Promise<StackUpResult> {
  const paths = layout(resolveStateDir(opts.stateDir));
  const { log } = opts;
  await mkdir(paths.stateDir, { recursive: true });

  return withStackLock(paths.stateDir, log, async () => {
    const existing = await readState(paths.stateDir);
    if (existing) {
      if (await ownBrokerAlive(existing, paths)) {
        try {
          await retry(() => describeBroker(existing.brokers, log), { retries: 2, initialDelayMs: 500 });
          log.info({ brokers: existing.brokers, pid: existing.pid }, 'reusing the running Kafka broker');
          return { brokers: existing.brokers, pid: existing.pid, reused: true, stateDir: paths.stateDir };
        } catch (error) {
          // Alive but deaf (hung JVM, or a port now owned by something else): replace it.
          log.warn({ pid: existing.pid, err: errorMessage(error) }, 'Kafka broker process is not answering; restarting it');
          await stopProcess(existing.pid, log);
        }
      }
      await removeState(paths.stateDir);
    }

    const libs = await ensureKafkaJars({ cacheDir: opts.cacheDir ?? defaultCacheDir(), log });
    // The clock starts after the jar download: a cold Maven run depends on the network,
    // not on the broker.
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;

    const previous = await previousPorts(paths.serverProperties);
    const port = await pickPort(opts.port ?? previous.port);
    if (opts.port !== undefined && port !== opts.port) {
      log.warn({ requested: opts.port, port }, 'requested Kafka port is busy; using another');
    }
    const controllerPort = await pickPort(previous.controllerPort, [port]);

    await mkdir(paths.dataDir, { recursive: true });
    await writeFile(paths.serverProperties, serverProperties({ port, controllerPort, dataDir: paths.dataDir }));
    await writeFile(paths.log4j, LOG4J2_PROPERTIES);
    await formatStorage(libs, paths, log);

    const brokers = `${HOST}:${port}`;
    const heapMb = opts.heapMb ?? 512;
    log.info({ brokers, stateDir: paths.stateDir }, `starting Kafka ${KAFKA_VERSION} broker`);
    const started = Date.now();
    const child = await spawnBroker(libs, paths, heapMb);

    // Recorded before the wait so that an interrupted `stack up` still leaves a pid that
    // `stack down` can find and stop.
    const state: StackState = { pid: child.pid, port, controllerPort, brokers, startedAt: new Date().toISOString() };
    await writeState(paths.stateDir, state);

    try {
      await waitUntilReady(brokers, paths.brokerLog, child, deadline, log);
    } catch (error) {
      signalGroup(child.pid, 'SIGKILL');
      await removeState(paths.stateDir);
      const logText = await readFile(paths.brokerLog, 'utf8').catch(() => '');
      throw new LiteshiftError('STACK_FAILED', `Kafka broker did not start: ${errorMessage(error)}`, {
        hint: `see ${paths.brokerLog}`,
        cause: new Error(tailLines(logText, 30) || '(broker.log is empty)', { cause: error }),
      });
    }
    log.info({ brokers, pid: child.pid, ms: Date.now() - started }, 'Kafka broker ready');
    return { brokers, pid: child.pid, reused: false, stateDir: paths.stateDir };
  });
}

export async function stackDown(opts: StackDownOptions): Promise<{ stopped: boolean }> {
  const paths = layout(resolveStateDir(opts.stateDir));
  const { log } = opts;
  if (!(await exists(paths.stateDir))) return { stopped: false };

  return withStackLock(paths.stateDir, log, async () => {
    const state = await readState(paths.stateDir);
    let stopped = false;
    if (state && (await ownBrokerAlive(state, paths))) {
      log.info({ pid: state.pid, brokers: state.brokers }, 'stopping Kafka broker');
      await stopProcess(state.pid, log);
      stopped = true;
    }
    await removeState(paths.stateDir);
    if (opts.purge) {
      await rm(paths.dataDir, { recursive: true, force: true });
      log.info({ dir: paths.dataDir }, 'removed Kafka data');
    }
    return { stopped };
  });
}

export async function stackStatus(opts: StackStatusOptions): Promise<StackStatus> {
  const paths = layout(resolveStateDir(opts.stateDir));
  const state = await readState(paths.stateDir);
  if (!state || !(await ownBrokerAlive(state, paths))) return { running: false };
  try {
    await describeBroker(state.brokers, opts.log);
    return { running: true, brokers: state.brokers, pid: state.pid };
  } catch {
    return { running: false, pid: state.pid };
  }
}

async function ownBrokerAlive(state: StackState, paths: Layout): Promise<boolean> {
  return (await isRunning(state.pid)) && (await looksLikeBroker(state.pid, paths.serverProperties));
}

/** SIGTERM lets Kafka flush and close its logs cleanly, which makes the next start faster. */
async function stopProcess(pid: number, log: Logger): Promise<void> {
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + STOP_GRACE_MS;
  while (Date.now() < deadline) {
    if (!(await isRunning(pid))) return;
    await sleep(200);
  }
  log.warn({ pid }, `Kafka broker ignored SIGTERM for ${STOP_GRACE_MS / 1000} s; killing it`);
  signalGroup(pid, 'SIGKILL');
  for (let i = 0; i < 25 && (await isRunning(pid)); i++) await sleep(200);
}

function javaArgs(libs: string, paths: Layout, extra: readonly string[]): string[] {
  return [
    `-Dlog4j2.configurationFile=${paths.log4j}`,
    // The JVM expands the trailing `*` itself; no shell is involved.
    '-cp',
    join(libs, '*'),
    ...extra,
  ];
}

/** Formatting is a one-time step per data dir; meta.properties is what it leaves behind. */
async function formatStorage(libs: string, paths: Layout, log: Logger): Promise<void> {
  if (await exists(join(paths.dataDir, 'meta.properties'))) return;
  const clusterId = newClusterId();
  log.info({ dir: paths.dataDir, clusterId }, 'formatting Kafka storage');
  const { code, output } = await runTool(
    'java',
    javaArgs(libs, paths, [
      '-Xmx256m',
      'kafka.tools.StorageTool',
      'format',
      '-t',
      clusterId,
      '-c',
      paths.serverProperties,
      '--ignore-formatted',
    ]),
  );
  if (code !== 0) {
    throw new LiteshiftError('STACK_FAILED', `formatting Kafka storage failed (exit ${code})`, {
      hint: `if ${paths.dataDir} is damaged, remove it (it holds only this local stack's topics) and retry`,
      cause: new Error(tailLines(output, 20)),
    });
  }
}

interface BrokerChild {
  pid: number;
  /** Set once the JVM has exited; the message says how. */
  exited: () => string | undefined;
}

async function spawnBroker(libs: string, paths: Layout, heapMb: number): Promise<BrokerChild> {
  // Keep the previous run's log for post-mortems, and start a fresh one so that the
  // started/fatal lines found below belong to this run.
  await rename(paths.brokerLog, `${paths.brokerLog}.1`).catch(() => undefined);
  const fd = openSync(paths.brokerLog, 'a');
  let exitReason: string | undefined;
  try {
    const heap = [`-Xms${Math.min(256, heapMb)}m`, `-Xmx${heapMb}m`];
    // C1 only, no C2: the JIT's optimising tier was the broker's largest CPU user, still
    // compiling after millions of records. A fresh broker took 6.1 CPU-s to start and 6.5
    // for three 200,000-task extracts, 3.7 of them in the compiler threads; with C1 alone,
    // 3.4 and 3.1. The request handlers are no slower: even warm, after 4M records, a
    // million more cost it 1.2–2.3 CPU-s against 1.6–3.2 with C2.
    const jit = ['-XX:TieredStopAtLevel=1'];
    const child = spawn(
      'java',
      [...heap, ...jit, ...javaArgs(libs, paths, ['kafka.Kafka', paths.serverProperties])],
      // Own process group and no pipes back to us: the broker must outlive the CLI, and
      // stackDown signals the whole group.
      { cwd: paths.stateDir, detached: true, stdio: ['ignore', fd, fd] },
    );
    const spawnError = await new Promise<Error | undefined>((resolveSpawn) => {
      child.once('spawn', () => resolveSpawn(undefined));
      child.once('error', (error) => resolveSpawn(error));
    });
    if (spawnError || child.pid === undefined) {
      if ((spawnError as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') throw missingTool('java', spawnError);
      throw new LiteshiftError('STACK_FAILED', `could not start java: ${errorMessage(spawnError)}`, { cause: spawnError });
    }
    child.once('exit', (code, signal) => {
      exitReason = signal ? `broker process was killed by ${signal}` : `broker process exited with code ${code}`;
    });
    child.unref();
    const pid = child.pid;
    return { pid, exited: () => exitReason };
  } finally {
    closeSync(fd);
  }
}

async function waitUntilReady(
  brokers: string,
  brokerLog: string,
  child: BrokerChild,
  deadline: number,
  log: Logger,
): Promise<void> {
  for (;;) {
    const text = await readFile(brokerLog, 'utf8').catch(() => '');
    if (text.includes(FATAL_LINE)) throw new Error(`fatal exception at startup: ${fatalReason(text)}`);
    const exited = child.exited();
    if (exited) throw new Error(exited);
    if (text.includes(STARTED_LINE)) break;
    if (Date.now() > deadline) throw new Error(`no "${STARTED_LINE}" within ${STARTUP_TIMEOUT_MS / 1000} s`);
    await sleep(200);
  }
  // The log line means listeners are open; a metadata round trip proves clients can use it.
  await retry(
    async () => {
      const exited = child.exited();
      if (exited) throw new Error(exited);
      return describeBroker(brokers, log);
    },
    {
      retries: 30,
      initialDelayMs: 200,
      maxDelayMs: 2_000,
      isRetriable: (error) => error instanceof LiteshiftError && child.exited() === undefined && Date.now() < deadline,
    },
  );
}

/** The exception line under the fatal marker usually names the fix (port in use, node id mismatch…). */
function fatalReason(logText: string): string {
  const after = logText.slice(logText.indexOf(FATAL_LINE)).split('\n')[1]?.trim() ?? '';
  const reason = after.replace(/^[\w.$]+(Exception|Error):\s*/, '');
  return reason.length > 200 ? `${reason.slice(0, 199)}…` : reason || 'see broker.log';
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
