/**
 * docker-compose.yml, Dockerfile and .dockerignore, checked without a Docker engine:
 * the compose file must only use settings the CLI reads and subcommands it has, its
 * services must wire up (dependencies, health checks, volumes, addresses), and the
 * image must be multi-stage, non-root and start bin/liteshift.js. `docker compose config`
 * runs too when the Compose CLI is installed. Needs neither Kafka nor PostgreSQL.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildProgram } from '../cli/src/main.js';
import { SETTINGS, type SettingSpec } from '../shared/src/config.js';
import { Health, createMetricsRegistry, startHttpServer } from '../shared/src/http/index.js';
import { createLogger } from '../shared/src/log.js';

const root = join(import.meta.dirname, '..');
const composeText = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
const dockerfileText = readFileSync(join(root, 'Dockerfile'), 'utf8');
const dockerignoreText = readFileSync(join(root, '.dockerignore'), 'utf8');
const rootPackage = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string>; workspaces: string[] };

/** Variables the compose file reads for itself; documented in its header. */
const COMPOSE_ONLY_VARIABLES = ['SQLITE_DIR', 'SQLITE_FILE', 'POSTGRES_PASSWORD', 'LITESHIFT_UID', 'LITESHIFT_GID'];
/** In .env these describe the host; the containers need in-network values. */
const NEVER_FROM_HOST = ['SQLITE_PATH', 'DATABASE_URL', 'KAFKA_BROKERS'];
const DEFAULT_PASSWORD_EXPRESSION = '${POSTGRES_PASSWORD:-liteshift}';
const LITESHIFT_IMAGE = 'liteshift:local';

interface Healthcheck {
  test?: string[] | string;
}
interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: Record<string, { condition?: string }> | string[];
  volumes?: string[];
  healthcheck?: Healthcheck;
  restart?: string;
  profiles?: string[];
  user?: string;
}
interface ComposeFile {
  version?: unknown;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const compose = parse(composeText, { merge: true }) as ComposeFile;
const services = compose.services;
const settingList: SettingSpec[] = Object.values(SETTINGS);
const settingEnvNames = settingList.map((spec) => spec.env);
const specByEnv = new Map(settingList.map((spec) => [spec.env, spec]));
const program = buildProgram();
const subcommands = program.commands.map((command) => command.name());

// ---------------------------------------------------------------------------------------
// Compose interpolation, as the Compose specification defines it: $$ is a literal $,
// $NAME and ${NAME} substitute, ${NAME:-default} / ${NAME-default} (and :? ? :+ +)
// take a default that may itself interpolate. Any other $ is an error in Compose.

interface VariableUse {
  name: string;
  operator: string;
  argument: string;
}

function interpolate(text: string, env: Record<string, string> = {}, uses: VariableUse[] = []): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch !== '$') {
      out += ch;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next !== undefined && /[A-Za-z_]/.test(next)) {
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1))![0];
      uses.push({ name, operator: '', argument: '' });
      out += env[name] ?? '';
      i += 1 + name.length;
      continue;
    }
    if (next !== '{') throw new Error(`invalid interpolation at "${text.slice(i, i + 20)}": write $$ for a literal $`);
    // Find the matching brace, allowing nested ${...} in the argument.
    let depth = 1;
    let j = i + 2;
    while (j < text.length && depth > 0) {
      if (text[j] === '$' && text[j + 1] === '{') {
        depth++;
        j += 2;
        continue;
      }
      if (text[j] === '}') depth--;
      j++;
    }
    if (depth !== 0) throw new Error(`unclosed \${ in "${text}"`);
    const body = text.slice(i + 2, j - 1);
    const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:-|-|:\?|\?|:\+|\+)([\s\S]*))?$/.exec(body);
    if (!match) throw new Error(`invalid interpolation \${${body}}`);
    const [, name, operator = '', rawArgument = ''] = match;
    const argument = interpolate(rawArgument, env, uses);
    uses.push({ name: name!, operator, argument });
    const value = env[name!];
    const unset = value === undefined;
    const empty = unset || value === '';
    if (operator === ':-') out += empty ? argument : value;
    else if (operator === '-') out += unset ? argument : value;
    else if (operator === ':?' || operator === '?') {
      if (operator === ':?' ? empty : unset) throw new Error(`required variable ${name} is missing: ${argument}`);
      out += value;
    } else if (operator === ':+') out += empty ? '' : argument;
    else if (operator === '+') out += unset ? '' : argument;
    else out += value ?? '';
    i = j;
  }
  return out;
}

/** Every string in the file (keys excluded), as Compose would interpolate them. */
function allStrings(node: unknown, out: string[] = []): string[] {
  if (typeof node === 'string') out.push(node);
  else if (Array.isArray(node)) for (const item of node) allStrings(item, out);
  else if (node && typeof node === 'object') for (const value of Object.values(node)) allStrings(value, out);
  return out;
}

function environmentOf(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const at = entry.indexOf('=');
        return at < 0 ? [entry, ''] : [entry.slice(0, at), entry.slice(at + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, value === null ? '' : String(value)]));
}

function dependenciesOf(service: Service): Record<string, string> {
  const deps = service.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((name) => [name, 'service_started']));
  return Object.fromEntries(Object.entries(deps).map(([name, spec]) => [name, spec?.condition ?? 'service_started']));
}

interface Mount {
  source: string;
  target: string;
  mode: string;
}

/** Short volume syntax, after interpolation (a default such as ${X:-./data} holds a colon). */
function mountsOf(service: Service, env: Record<string, string> = {}): Mount[] {
  return (service.volumes ?? []).map((spec) => {
    const [source = '', target = '', mode = 'rw'] = interpolate(spec, env).split(':');
    return { source, target, mode };
  });
}

const isNamedVolume = (source: string): boolean => source !== '' && !/^[./~]/.test(source);

const liteshiftServices = Object.entries(services).filter(([, s]) => s.image === LITESHIFT_IMAGE || s.build !== undefined);
const liteshiftNames = liteshiftServices.map(([name]) => name);

/** The subcommands a liteshift service runs: its command, or those its shell entrypoint calls. */
function subcommandsRun(service: Service): string[] {
  if (service.entrypoint) {
    const script = service.entrypoint.join(' ');
    return [...script.matchAll(/\/app\/bin\/liteshift\.js\s+([a-z][a-z-]*)/g)].map((m) => m[1]!);
  }
  return service.command?.[0] ? [service.command[0]] : [];
}

// ---------------------------------------------------------------------------------------

describe('docker-compose.yml', () => {
  it('is a Compose-spec file (no version key) with the pipeline services', () => {
    expect(compose.version).toBeUndefined();
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['kafka', 'postgres', 'demo-db', 'extractor', 'loader', 'verifier']));
    expect(liteshiftNames.sort()).toEqual(['demo-db', 'extractor', 'fallback', 'loader', 'verifier']);
    // The way back runs only when asked for, after cutover.
    expect(services.fallback!.profiles).toEqual(['fallback']);
    expect(services.kafka!.image).toBe('apache/kafka:4.1.1');
    expect(services.postgres!.image).toBe('postgres:16');
  });

  it('builds one image from the Dockerfile for every liteshift service', () => {
    for (const [name, service] of liteshiftServices) {
      expect(service.image, name).toBe(LITESHIFT_IMAGE);
      expect(service.build, name).toBe('.');
    }
  });

  it('runs real CLI subcommands', () => {
    expect(subcommands).toEqual(expect.arrayContaining(['extract', 'load', 'verify', 'demo-db']));
    const expected: Record<string, string> = { extractor: 'extract', loader: 'load', verifier: 'verify', 'demo-db': 'demo-db', fallback: 'fallback' };
    for (const [name, service] of liteshiftServices) {
      const run = subcommandsRun(service);
      expect(run.length, `${name} runs no liteshift subcommand`).toBeGreaterThan(0);
      for (const sub of run) expect(subcommands, `${name}: "${sub}" is not a liteshift subcommand`).toContain(sub);
      expect(run[0], name).toBe(expected[name]);
    }
  });

  it('runs the live pipeline: extract --follow, load --follow, verify --watch, with flags the CLI has', () => {
    expect(services.extractor!.command).toEqual(['extract', '--follow']);
    expect(services.loader!.command).toEqual(['load', '--follow']);
    expect(services.verifier!.command).toEqual(['verify', '--watch']);
    for (const [name, service] of liteshiftServices) {
      const [sub, ...flags] = service.command ?? [];
      if (!sub) continue;
      const longs = program.commands.find((command) => command.name() === sub)!.options.map((option) => option.long);
      for (const flag of flags) expect(longs, `${name}: ${sub} has no ${flag}`).toContain(flag);
    }
  });

  it('uses only environment variables the CLI reads', () => {
    for (const [name, service] of liteshiftServices) {
      for (const key of Object.keys(environmentOf(service))) {
        expect(settingEnvNames, `${name}: ${key} is not a liteshift setting (shared/src/config.ts)`).toContain(key);
      }
    }
  });

  it('passes each service exactly the settings its subcommand accepts', () => {
    for (const [name, service] of liteshiftServices) {
      if (!service.command) continue; // demo-db: a shell wrapper, checked below
      const sub = program.commands.find((command) => command.name() === service.command![0])!;
      const flags = sub.options.map((option) => option.long);
      const accepted = settingList.filter((spec) => flags.includes(spec.flag)).map((spec) => spec.env);
      expect(Object.keys(environmentOf(service)).sort(), name).toEqual(accepted.sort());
    }
  });

  it('gives every setting a value its own validation accepts, with the same defaults as the CLI', () => {
    for (const [name, service] of liteshiftServices) {
      for (const [key, raw] of Object.entries(environmentOf(service))) {
        const spec = specByEnv.get(key)!;
        const uses: VariableUse[] = [];
        const value = interpolate(raw, {}, uses);
        // Empty means unset (resolveSettings), as for TLS and SASL, off in the bundled servers.
        if (value === '') continue;
        const parsed = spec.schema.safeParse(value);
        expect(parsed.success, `${name}: ${key}=${value} is rejected by the CLI`).toBe(true);
        for (const use of uses) {
          if (use.name === key && use.operator === ':-' && spec.default !== undefined) {
            expect(use.argument, `${name}: default of \${${key}} differs from shared/src/config.ts`).toBe(spec.default);
          }
        }
      }
    }
  });

  it('gives a setting the same value in every service that reads it', () => {
    const seen = new Map<string, { service: string; value: string }>();
    for (const [name, service] of liteshiftServices) {
      for (const [key, value] of Object.entries(environmentOf(service))) {
        const first = seen.get(key);
        if (first) expect(value, `${key} in ${name} vs ${first.service}`).toBe(first.value);
        else seen.set(key, { service: name, value });
      }
    }
  });

  it('interpolates validly, only documented variables, and never the host-side addresses', () => {
    expect(COMPOSE_ONLY_VARIABLES.filter((name) => settingEnvNames.includes(name))).toEqual([]);
    const uses: VariableUse[] = [];
    for (const text of allStrings(compose)) interpolate(text, {}, uses); // throws on an unescaped $
    const names = new Set(uses.map((use) => use.name));
    for (const name of names) {
      expect([...settingEnvNames, ...COMPOSE_ONLY_VARIABLES], `\${${name}} is neither a setting nor documented`).toContain(name);
      expect(NEVER_FROM_HOST, `\${${name}} would take the host's value from .env`).not.toContain(name);
    }
    for (const name of COMPOSE_ONLY_VARIABLES) expect(composeText, `${name} is documented but unused`).toContain(`\${${name}`);
  });

  it('runs demo-db once and the pipeline services until stopped, as a non-root user by default', () => {
    for (const [name, service] of liteshiftServices) {
      // A restarted service resumes where it stopped (positions in SQLite and PostgreSQL).
      expect(service.restart, name).toBe(name === 'demo-db' ? 'no' : 'unless-stopped');
      if (name === 'demo-db') continue; // root only to chown a Docker-created ./data
      expect(interpolate(service.user ?? '1000', {}), name).toBe('1000:1000');
    }
  });

  it('depends only on existing services, healthy ones, or the completed demo-db', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const [target, condition] of Object.entries(dependenciesOf(service))) {
        expect(Object.keys(services), `${name} depends on unknown ${target}`).toContain(target);
        // A health check is what makes service_healthy ever true.
        const expected = target === 'demo-db' ? 'service_completed_successfully' : 'service_healthy';
        expect(condition, `${name} → ${target}`).toBe(expected);
        if (expected === 'service_healthy') expect(services[target]!.healthcheck, `${target} has no health check`).toBeDefined();
      }
    }
    expect(dependenciesOf(services.extractor!)).toEqual({ kafka: 'service_healthy', 'demo-db': 'service_completed_successfully' });
    // The loader waits for the extractor's schemas by itself: it starts beside it.
    expect(dependenciesOf(services.loader!)).toEqual({ kafka: 'service_healthy', postgres: 'service_healthy' });
    expect(dependenciesOf(services.verifier!)).toMatchObject({ kafka: 'service_healthy', postgres: 'service_healthy', loader: 'service_healthy' });

    // No cycles.
    const visiting = new Set<string>();
    const visit = (name: string, path: string[]): void => {
      expect(visiting.has(name), `dependency cycle ${[...path, name].join(' → ')}`).toBe(false);
      visiting.add(name);
      for (const next of Object.keys(dependenciesOf(services[name]!))) visit(next, [...path, name]);
      visiting.delete(name);
    };
    for (const name of Object.keys(services)) visit(name, []);
  });

  describe('health checks of the liteshift services (/readyz on LITESHIFT_HTTP_PORT)', () => {
    const pipeline = liteshiftServices.filter(([name]) => name !== 'demo-db');
    const checkScript = (service: Service): string => {
      const test = service.healthcheck?.test;
      expect(Array.isArray(test) && test.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
      return (test as string[])[3]!;
    };

    it('every long-running service serves HTTP on every interface and checks its own /readyz port', () => {
      expect(pipeline.map(([name]) => name).sort()).toEqual(['extractor', 'fallback', 'loader', 'verifier']);
      for (const [name, service] of pipeline) {
        const env = environmentOf(service);
        expect(env[SETTINGS.httpHost.env], name).toBe('0.0.0.0');
        const port = env[SETTINGS.httpPort.env];
        expect(Number(port), name).toBeGreaterThan(0);
        expect(checkScript(service), name).toContain(`http://127.0.0.1:${port}/readyz`);
      }
      expect(services['demo-db']!.healthcheck).toBeUndefined();
    });

    it('the check exits 0 only while /readyz answers 200 (run with node against a real server)', async () => {
      const health = new Health('starting');
      const server = await startHttpServer({
        port: 0,
        host: '127.0.0.1',
        log: createLogger({ service: 'test', level: 'silent' }),
        registry: createMetricsRegistry('test'),
        health: () => health.state,
      });
      const check = (service: Service, port: number): Promise<number> => {
        const script = checkScript(service).replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${port}`);
        return new Promise((resolve) => execFile(process.execPath, ['-e', script], (error) => resolve(error ? Number(error.code ?? 1) : 0)));
      };
      try {
        for (const [name, service] of pipeline) {
          health.notReady('starting');
          expect(await check(service, server.port), `${name} while not ready`).toBe(1);
          health.ready('streaming');
          expect(await check(service, server.port), `${name} once ready`).toBe(0);
        }
      } finally {
        await server.close();
      }
      expect(await check(services.loader!, server.port), 'nothing listening').toBe(1);
    });
  });

  it('has health checks on Kafka and PostgreSQL', () => {
    const kafkaTest = services.kafka!.healthcheck?.test;
    expect(kafkaTest).toEqual(['CMD', '/opt/kafka/bin/kafka-broker-api-versions.sh', '--bootstrap-server', 'localhost:9092']);
    const pgTest = services.postgres!.healthcheck?.test;
    expect(Array.isArray(pgTest) && pgTest.includes('pg_isready')).toBe(true);
    // TCP, not the socket the image's temporary init server listens on.
    expect(pgTest).toEqual(expect.arrayContaining(['-h', '127.0.0.1']));
  });

  it('configures a single-node KRaft Kafka that the services reach at the advertised address', () => {
    const env = environmentOf(services.kafka!);
    expect(env).toMatchObject({
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '1',
    });
    const listeners = (value: string): Map<string, string> =>
      new Map(value.split(',').map((l) => /^([A-Z_]+):\/\/(.*)$/.exec(l.trim())!.slice(1, 3) as [string, string]));
    const own = listeners(env.KAFKA_LISTENERS!);
    const advertised = listeners(env.KAFKA_ADVERTISED_LISTENERS!);
    const protocols = new Map(env.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP!.split(',').map((p) => p.split(':') as [string, string]));
    for (const name of own.keys()) expect(protocols.has(name), `${name} has no security protocol`).toBe(true);
    expect(own.get('CONTROLLER')).toBe(':9093');
    expect(env.KAFKA_CONTROLLER_QUORUM_VOTERS).toBe(`${env.KAFKA_NODE_ID}@kafka:9093`);
    expect(advertised.get('PLAINTEXT')).toBe('kafka:9092');
    expect(own.get('PLAINTEXT')).toBe(':9092');
    for (const [name, service] of liteshiftServices) {
      const brokers = environmentOf(service).KAFKA_BROKERS;
      if (brokers !== undefined) expect(brokers, name).toBe(advertised.get('PLAINTEXT'));
    }
    // Data on the named volume, not in the image's /tmp default.
    expect(mountsOf(services.kafka!).map((m) => m.target)).toContain(env.KAFKA_LOG_DIRS);
  });

  it('points DATABASE_URL at the postgres service with its database and password', () => {
    const pgEnv = environmentOf(services.postgres!);
    expect(pgEnv.POSTGRES_PASSWORD).toBe(DEFAULT_PASSWORD_EXPRESSION);
    for (const env of [{}, { POSTGRES_PASSWORD: 'an0ther-Secret' }] as Record<string, string>[]) {
      for (const [name, service] of liteshiftServices) {
        const raw = environmentOf(service).DATABASE_URL;
        if (raw === undefined) continue;
        const url = new URL(interpolate(raw, env));
        expect(url.hostname, name).toBe('postgres');
        expect(url.port, name).toBe('5432');
        expect(url.username, name).toBe('postgres');
        expect(url.pathname, name).toBe(`/${pgEnv.POSTGRES_DB}`);
        expect(decodeURIComponent(url.password), name).toBe(interpolate(pgEnv.POSTGRES_PASSWORD!, env));
      }
    }
  });

  it('holds no plaintext password: only the documented default, inside ${...:-...}', () => {
    const withoutDefault = composeText.split(DEFAULT_PASSWORD_EXPRESSION).join('${POSTGRES_PASSWORD}');
    const literalInUrl = [...withoutDefault.matchAll(/[a-z]+:\/\/[^\s/:@]+:([^\s/@]+)@/gi)].filter((m) => !m[1]!.startsWith('${'));
    expect(literalInUrl.map((m) => m[0])).toEqual([]);
    for (const [name, service] of Object.entries(services)) {
      for (const [key, value] of Object.entries(environmentOf(service))) {
        // Empty is no password at all (KAFKA_SASL_PASSWORD: SASL is off in the bundled Kafka).
        if (/PASSWORD|SECRET|TOKEN/i.test(key) && value !== '') expect(value, `${name}: ${key}`).toMatch(/^\$\{[A-Z_]+(:-[^}]*)?\}$/);
      }
    }
    // The default appears nowhere but in its interpolation expressions.
    expect(withoutDefault).not.toMatch(/POSTGRES_PASSWORD:-/);
  });

  it('declares its named volumes and keeps the data of Kafka and PostgreSQL on them', () => {
    const declared = Object.keys(compose.volumes ?? {});
    for (const [name, service] of Object.entries(services)) {
      for (const mount of mountsOf(service)) {
        if (isNamedVolume(mount.source)) expect(declared, `${name} mounts undeclared volume ${mount.source}`).toContain(mount.source);
      }
    }
    expect(mountsOf(services.kafka!).some((m) => isNamedVolume(m.source) && m.target === '/var/lib/kafka/data')).toBe(true);
    expect(mountsOf(services.postgres!).some((m) => isNamedVolume(m.source) && m.target === '/var/lib/postgresql/data')).toBe(true);
  });

  it('mounts SQLITE_DIR, writable, where every SQLite-reading service looks for SQLITE_PATH', () => {
    for (const env of [{}, { SQLITE_DIR: '/srv/app', SQLITE_FILE: 'app.sqlite3' }] as Record<string, string>[]) {
      for (const [name, service] of liteshiftServices) {
        const raw = environmentOf(service).SQLITE_PATH;
        if (raw === undefined) continue;
        const path = interpolate(raw, env);
        expect(posix.basename(path), name).toBe(env.SQLITE_FILE ?? 'todo.db');
        const mount = mountsOf(service, env).find((m) => m.target === posix.dirname(path));
        expect(mount?.source, `${name} does not mount the directory of ${path}`).toBe(env.SQLITE_DIR ?? './data');
        // A WAL-mode database cannot be opened, even read-only, on a read-only mount.
        expect(mount?.mode, name).not.toBe('ro');
      }
    }
    expect(mountsOf(services.loader!)).toEqual([]);
  });

  describe('demo-db entrypoint script (run with sh, /data mapped to a temporary directory)', () => {
    const work = mkdtempSync(join(tmpdir(), 'liteshift-compose-'));
    afterAll(() => rmSync(work, { recursive: true, force: true }));
    const entrypoint = services['demo-db']!.entrypoint ?? [];
    const run = (sqlitePath: string) => {
      const script = interpolate(entrypoint[2] ?? '', {})
        .replaceAll('node /app/bin/liteshift.js', `node ${JSON.stringify(join(root, 'bin', 'liteshift.js'))}`)
        .replaceAll('/data', work);
      return spawnSync(entrypoint[0]!, [entrypoint[1]!, script], { encoding: 'utf8', env: { ...process.env, SQLITE_PATH: sqlitePath } });
    };

    it('is a shell script that calls liteshift demo-db', () => {
      expect(entrypoint.slice(0, 2)).toEqual(['sh', '-ec']);
      expect(environmentOf(services['demo-db']!).SQLITE_PATH).toBe(environmentOf(services.extractor!).SQLITE_PATH);
      expect(existsSync(join(root, 'cli', 'dist', 'main.js')), 'build first: npm run build').toBe(true);
    });

    it('writes the demo database when the default file is missing, then leaves it alone', () => {
      const db = join(work, 'todo.db');
      const first = run(db);
      expect(first.status, first.stderr).toBe(0);
      expect(first.stdout).toMatch(/wrote .*todo\.db/);
      const written = statSync(db).mtimeMs;
      const second = run(db);
      expect(second.status, second.stderr).toBe(0);
      expect(second.stdout).toContain('exists');
      expect(statSync(db).mtimeMs).toBe(written);
    });

    it('fails, creating nothing, when a user-named file is missing', () => {
      const db = join(work, 'app.sqlite3');
      const result = run(db);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('SQLITE_DIR');
      expect(existsSync(db)).toBe(false);
    });
  });

  const composeVersion = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
  const hasCompose = composeVersion.status === 0;
  it.skipIf(!hasCompose)(
    hasCompose
      ? 'is accepted by `docker compose config`'
      : 'is accepted by `docker compose config` — SKIPPED: `docker compose version` failed on this machine (no Compose CLI); the checks above stand in for it',
    () => {
      const emptyEnvFile = join(mkdtempSync(join(tmpdir(), 'liteshift-env-')), 'empty.env');
      writeFileSync(emptyEnvFile, '');
      const env = { ...process.env };
      for (const name of [...COMPOSE_ONLY_VARIABLES, ...settingEnvNames]) delete env[name];
      const args = ['compose', '--env-file', emptyEnvFile, '-f', join(root, 'docker-compose.yml')];
      const quiet = spawnSync('docker', [...args, 'config', '-q'], { cwd: root, encoding: 'utf8', env });
      expect(quiet.status, quiet.stderr).toBe(0);
      const resolved = spawnSync('docker', [...args, 'config', '--format', 'json'], { cwd: root, encoding: 'utf8', env });
      expect(resolved.status, resolved.stderr).toBe(0);
      const model = JSON.parse(resolved.stdout) as { services: Record<string, { environment: Record<string, string> }> };
      // The real interpolation and merge agree with the ones emulated above.
      for (const [name, service] of liteshiftServices) {
        const expected = Object.fromEntries(Object.entries(environmentOf(service)).map(([k, v]) => [k, interpolate(v, {})]));
        expect(model.services[name]!.environment, name).toEqual(expected);
      }
      rmSync(dirname(emptyEnvFile), { recursive: true, force: true });
    },
  );
});

// ---------------------------------------------------------------------------------------
// Dockerfile and .dockerignore

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

function dockerfileStages(text: string): Stage[] {
  const logical = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    if (keyword.toUpperCase() === 'FROM') {
      const [, image = '', name] = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?/i.exec(args) ?? [];
      stages.push({ from: image, name, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push({ keyword: keyword.toUpperCase(), args });
    }
  }
  return stages;
}

/** .dockerignore semantics: last matching pattern wins, `!` re-includes, a matched directory covers its contents. */
function dockerignored(path: string): boolean {
  const rules = dockerignoreText
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const negate = line.startsWith('!');
      const pattern = posix.normalize((negate ? line.slice(1) : line).replace(/^\/+/, ''));
      const source = pattern
        .split(/(\*\*\/|\*\*|\*|\?)/)
        .map((part) =>
          part === '**/' ? '(?:.*/)?' : part === '**' ? '.*' : part === '*' ? '[^/]*' : part === '?' ? '[^/]' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
        )
        .join('');
      return { negate, regex: new RegExp(`^${source}$`) };
    });
  const parts = path.split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let excluded = false;
  for (const rule of rules) if (candidates.some((candidate) => rule.regex.test(candidate))) excluded = !rule.negate;
  return excluded;
}

describe('Dockerfile', () => {
  const stages = dockerfileStages(dockerfileText);
  const runtime = stages.at(-1)!;
  const build = stages.find((stage) => stage.name === 'build');
  const last = (keyword: string): Instruction | undefined => runtime.instructions.filter((i) => i.keyword === keyword).at(-1);

  // The current LTS, which .ci/run tests besides the machine's Node.
  it('is multi-stage on node:24-bookworm-slim', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage.from).toBe('node:24-bookworm-slim');
    expect(build, 'a stage named "build"').toBeDefined();
  });

  it('runs as a non-root user', () => {
    const user = last('USER')?.args.split(':')[0];
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
  });

  it('starts bin/liteshift.js (the package bin) with node', () => {
    const entrypoint = JSON.parse(last('ENTRYPOINT')!.args) as string[];
    expect(entrypoint).toEqual(['node', posix.join('/app', rootPackage.bin.liteshift!)]);
  });

  it('compiles the addon and TypeScript, then drops dev dependencies', () => {
    const runs = build!.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n');
    expect(runs).toMatch(/apt-get install[^\n]*python3[^\n]*make[^\n]*g\+\+/);
    const at = (pattern: RegExp): number => runs.search(pattern);
    expect(at(/npm ci\b/)).toBeGreaterThanOrEqual(0);
    // `prepare` runs tsc (a devDependency) before the sources exist: scripts off, addon built explicitly.
    expect(runs).toMatch(/npm ci --ignore-scripts/);
    expect(at(/npm rebuild better-sqlite3/)).toBeGreaterThan(at(/npm ci\b/));
    expect(at(/tsc -b|npm run build/)).toBeGreaterThan(at(/npm rebuild better-sqlite3/));
    expect(at(/npm prune --omit=dev/)).toBeGreaterThan(at(/tsc -b|npm run build/));
  });

  it('copies only manifests, node_modules, bin and each workspace dist into the runtime image', () => {
    const copies = runtime.instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD');
    const sources: string[] = [];
    for (const copy of copies) {
      expect(copy.args, 'runtime copies from the build stage only').toMatch(/^--from=build\s/);
      const words = copy.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      sources.push(...words.slice(0, -1));
    }
    const allowed = (source: string): boolean =>
      /^\/app\/(package\.json|package-lock\.json|node_modules|bin)$/.test(source) || /^\/app\/.+\/(package\.json|dist)$/.test(source);
    for (const source of sources) expect(allowed(source), `runtime copies ${source}`).toBe(true);
    for (const workspace of rootPackage.workspaces) {
      expect(sources, workspace).toContain(`/app/${workspace}/dist`);
      expect(sources, workspace).toContain(`/app/${workspace}/package.json`);
    }
    for (const needed of ['/app/package.json', '/app/node_modules', '/app/bin']) expect(sources).toContain(needed);
  });

  it('builds from files that exist and that .dockerignore lets through', () => {
    const copies = build!.instructions.filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'));
    for (const workspace of rootPackage.workspaces) {
      expect(copies.some((c) => c.args.includes(`${workspace}/package.json`)), `${workspace}/package.json copied before npm ci`).toBe(true);
    }
    for (const copy of copies) {
      for (const source of copy.args.split(/\s+/).slice(0, -1)) {
        const path = source.replace(/\/$/, '');
        expect(existsSync(join(root, path)), `COPY ${source}: no such file`).toBe(true);
        expect(dockerignored(path), `COPY ${source} is excluded by .dockerignore`).toBe(false);
      }
    }
  });
});

describe('.dockerignore', () => {
  it('keeps build output, dependencies, state, databases and secrets out of the context', () => {
    for (const path of [
      'node_modules',
      'shared/node_modules',
      'dist',
      'cli/dist/main.js',
      'services/loader/dist',
      // A tsbuildinfo without its dist would make `tsc -b` emit nothing in the image.
      'shared/tsconfig.tsbuildinfo',
      'services/extractor/tsconfig.tsbuildinfo',
      '.git',
      '.liteshift',
      'bench/results',
      'todo.db',
      'data/todo.db',
      '.env',
    ]) {
      expect(dockerignored(path), path).toBe(true);
    }
  });

  it('lets the sources and manifests through', () => {
    for (const path of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.base.json', 'bin/liteshift.js', 'shared/src/config.ts', 'cli/src/main.ts']) {
      expect(dockerignored(path), path).toBe(false);
    }
  });
});
