import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { describeRun, humanStderrLines, runCli } from './helpers/cli.js';
import { FaultPipeline } from './helpers/fault-pipeline.js';
import { colourStats, decodePng } from './helpers/png.js';
import { withClient } from './helpers/postgres.js';
import { Service } from './helpers/services.js';

/*
 * `liteshift verify --watch --http`: the status page, in a real browser, over a live
 * migration (extract --follow, load --follow, real Kafka and PostgreSQL).
 */

/** A table name that is markup: the page must show it as text and run none of it. */
const HOSTILE = '<img src=x onerror="window.pwned=1">';
const TABLES = ['users', 'tasks', 'recurring_patterns', HOSTILE];
const VIEWPORT = { width: 1280, height: 900 };
const PAGE_DEADLINE_MS = 90_000;

/** The system's Chromium: $CHROMIUM_PATH, or chromium / chromium-browser / google-chrome on PATH. */
function findChromium(): string | null {
  if (process.env.CHROMIUM_PATH) return existsSync(process.env.CHROMIUM_PATH) ? process.env.CHROMIUM_PATH : null;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
      if (dir && existsSync(join(dir, name))) return join(dir, name);
    }
  }
  return null;
}

/** A port nobody listens on now (the CLI's port 0 means "no server"). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const chromium = findChromium();
if (!chromium) console.warn('status-page tests skipped: no Chromium found (install it with `apt-get install chromium`, or set CHROMIUM_PATH)');

describe.skipIf(!chromium)('verify --watch --http: the live status page in a browser', () => {
  const pipeline = new FaultPipeline('status-page', {
    brokers: inject('kafkaBrokers'),
    adminUrl: inject('adminDatabaseUrl'),
    counts: { users: 50, tasks: 600, recurringPatterns: 60 },
  });
  let browser: Browser;
  let page: Page;
  let url = '';

  /** Text of the verdict badge and of each table row, as the page shows them now. */
  const shown = (): Promise<{ verdict: string; rows: Record<string, string>; reasons: string[]; body: string }> =>
    page.evaluate(() => ({
      verdict: document.getElementById('verdict')?.textContent ?? '',
      rows: Object.fromEntries([...document.querySelectorAll('tr[data-table]')].map((tr) => [tr.getAttribute('data-table'), (tr as HTMLElement).innerText])),
      reasons: [...document.querySelectorAll('#reasons li')].map((li) => li.textContent ?? ''),
      body: document.body.innerText,
    }));

  const waitForPage = async (what: string, until: (s: Awaited<ReturnType<typeof shown>>) => boolean): Promise<Awaited<ReturnType<typeof shown>>> => {
    const deadline = Date.now() + PAGE_DEADLINE_MS;
    for (;;) {
      const now = await shown();
      if (until(now)) return now;
      const verify = pipeline.services.find((s) => s.label === 'verify --watch');
      if (verify && !verify.running) throw new Error(`verify --watch exited while waiting for ${what}\n${verify.describe()}`);
      if (Date.now() > deadline) throw new Error(`the page did not show ${what} within ${PAGE_DEADLINE_MS} ms; it shows:\n${now.body}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  beforeAll(async () => {
    await pipeline.create();
    const db = pipeline.openWritable();
    db.exec(`CREATE TABLE "${HOSTILE.replaceAll('"', '""')}" (id INTEGER PRIMARY KEY, note TEXT)`);
    db.prepare(`INSERT INTO "${HOSTILE.replaceAll('"', '""')}" (note) VALUES (?), (?)`).run('<script>window.pwned=2</script>', 'plain');
    db.close();
    pipeline.startExtract();
    pipeline.startLoad({ LOG_LEVEL: 'info' });
    await pipeline.waitFor('the snapshot applied and zero lag');
    const port = await freePort();
    url = `http://127.0.0.1:${port}/`;
    pipeline.services.push(new Service('verify --watch', ['verify', '--watch', '--interval', '2', '--http', `127.0.0.1:${port}`], pipeline.env));
    browser = await puppeteer.launch({ executablePath: chromium!, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
    page = await browser.newPage();
    await page.setViewport(VIEWPORT);
  });

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await pipeline.destroy();
  });

  it('while the application writes: every table, the lag, the throughput chart and the verdict READY; a screenshot of it is a real page', async () => {
    pipeline.diagnoseOnFailure();
    const deadline = Date.now() + PAGE_DEADLINE_MS;
    // The server starts with the verifier; until then the browser gets a refused connection.
    while (!(await page.goto(url).then((r) => r?.ok() ?? false, () => false))) {
      if (Date.now() > deadline) throw new Error(`no status page at ${url}\n${pipeline.services.map((s) => s.describe()).join('\n')}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const writer = pipeline.writer(100, 41);
    await writer.waitForAccepted(50);
    const ready = await waitForPage('every table and the verdict READY', (s) => s.verdict === 'READY' && TABLES.every((t) => /\bok\b/.test(s.rows[t] ?? '')));
    for (const table of TABLES) {
      expect(ready.body).toContain(table);
      expect(ready.rows[table]?.split('\t').slice(0, 2)).toEqual([table, 'streaming']);
    }
    expect(ready.reasons).toEqual([]);
    expect(await page.evaluate(() => ({ images: document.images.length, pwned: (window as { pwned?: number }).pwned ?? null }))).toEqual({ images: 0, pwned: null });
    // The application's writes went through the loader while the page watched: the throughput line
    // rises above its baseline (y 178 of the 200-high chart), and the lag chart has its lines.
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll('#chart-throughput polyline')].some((line) => {
          const points = (line.getAttribute('points') ?? '').split(' ');
          return points.length > 1 && points.some((point) => Number(point.split(',')[1]) < 177);
        }) &&
        document.querySelectorAll('#chart-lag polyline').length > 0,
      { timeout: 30_000 },
    );
    const api = (await (await fetch(`${url}api/status`)).json()) as { kafka: boolean; extractor: { captured: boolean }; history: { appliedPerSecond: number | null }[] };
    expect(api).toMatchObject({ kafka: true, extractor: { captured: true } });
    expect(api.history.some((s) => (s.appliedPerSecond ?? 0) > 0), JSON.stringify(api.history)).toBe(true);

    const png = await page.screenshot({ type: 'png' });
    const image = decodePng(png);
    expect({ width: image.width, height: image.height }).toEqual(VIEWPORT);
    const colours = colourStats(image);
    // Text, the green badge, bars and chart lines: a blank or broken page has a handful of colours.
    expect(colours.distinct, JSON.stringify(colours)).toBeGreaterThan(100);
    expect(colours.nonWhite).toBeGreaterThan(0.02);
    await pipeline.drain(writer);
  });

  it('a row corrupted in PostgreSQL turns the page NOT READY, naming the table', async () => {
    pipeline.diagnoseOnFailure();
    await withClient(pipeline.databaseUrl, (client) => client.query("UPDATE tasks SET title = title || ' (tampered)' WHERE id = (SELECT min(id) FROM tasks)"));
    const notReady = await waitForPage('NOT READY naming tasks', (s) => s.verdict === 'NOT READY');
    expect(notReady.reasons.some((r) => r.startsWith('tasks:')), notReady.reasons.join('\n')).toBe(true);
    expect(notReady.rows.tasks).toMatch(/DIFFERS/);
    expect(notReady.rows.users).toMatch(/\bok\b/);
    expect(await page.evaluate(() => document.getElementById('verdict')?.className)).toContain('not-ready');
  });

  it('without Kafka the state is still served, with no lag', async () => {
    pipeline.diagnoseOnFailure();
    const port = await freePort();
    const { KAFKA_BROKERS: _, ...env } = pipeline.env;
    const verify = new Service('verify --watch (no Kafka)', ['verify', '--watch', '--interval', '60', '--http', `127.0.0.1:${port}`], env);
    pipeline.services.push(verify);
    const deadline = Date.now() + PAGE_DEADLINE_MS;
    let state: { kafka: boolean; loaderLag: number | null; extractor: { captured: boolean; lag: number } | null; tables: { table: string; loaderLag: number | null }[] } | null = null;
    while (!state?.extractor) {
      if (!verify.running) throw new Error(`verify --watch exited\n${verify.describe()}`);
      if (Date.now() > deadline) throw new Error(`no state at port ${port}: ${JSON.stringify(state)}\n${verify.describe()}`);
      state = await fetch(`http://127.0.0.1:${port}/api/status`).then((r) => r.json() as Promise<typeof state>, () => null);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(state).toMatchObject({ kafka: false, loaderLag: null, extractor: { captured: true } });
    expect(state.tables.map((t) => t.table).sort()).toEqual([...TABLES].sort());
    expect(state.tables.every((t) => t.loaderLag === null)).toBe(true);
    const stopped = await verify.stop('SIGTERM', 30_000);
    expect(stopped.killed, verify.describe()).toBe(false);
  });

  it('a bad --http value or a port in use: one liteshift: line, non-zero exit', async () => {
    const bad = await runCli(['verify', '--watch', '--http', 'localhost:http'], pipeline.env);
    expect(bad.code, describeRun(bad)).not.toBe(0);
    expect(humanStderrLines(bad)[0], describeRun(bad)).toMatch(/^liteshift: .*--http/);

    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as { port: number }).port;
      const inUse = await runCli(['verify', '--watch', '--http', `127.0.0.1:${port}`], pipeline.env);
      expect(inUse.code, describeRun(inUse)).not.toBe(0);
      expect(humanStderrLines(inUse)[0], describeRun(inUse)).toMatch(new RegExp(`^liteshift: .*${port}`));
    } finally {
      taken.close();
    }
  });
});
