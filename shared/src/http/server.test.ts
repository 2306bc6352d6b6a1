import { afterEach, describe, expect, it } from 'vitest';
import { Counter } from 'prom-client';
import { isLiteshiftError } from '../errors.js';
import { createLogger } from '../log.js';
import { Health } from './health.js';
import { createMetricsRegistry } from './metrics-registry.js';
import { startHttpServer, type HttpServer, type HttpServerOptions } from './server.js';

const log = createLogger({ service: 'test', level: 'silent' });
const open: HttpServer[] = [];

async function serve(options: Partial<HttpServerOptions> = {}): Promise<HttpServer> {
  const health = new Health();
  const server = await startHttpServer({ port: 0, host: '127.0.0.1', log, registry: createMetricsRegistry('test'), health: () => health.state, ...options });
  open.push(server);
  return server;
}

async function get(server: HttpServer, path: string, method = 'GET'): Promise<{ status: number; type: string | null; body: string }> {
  const response = await fetch(`http://127.0.0.1:${server.port}${path}`, { method });
  return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((server) => server.close()));
});

describe('startHttpServer', () => {
  it('answers /healthz and /readyz from the health state, with its reason as one JSON line', async () => {
    const health = new Health('starting');
    const server = await serve({ health: () => health.state });
    expect(await get(server, '/healthz')).toMatchObject({ status: 200, type: 'application/json' });
    const notReady = await get(server, '/readyz');
    expect(notReady.status).toBe(503);
    expect(notReady.body).toBe('{"status":"unavailable","reason":"starting"}\n');
    health.ready('streaming');
    expect(JSON.parse((await get(server, '/readyz')).body)).toEqual({ status: 'ok', reason: 'streaming' });
    health.failed('broken for good');
    health.ready('streaming');
    expect(await get(server, '/healthz')).toMatchObject({ status: 503, body: '{"status":"unavailable","reason":"broken for good"}\n' });
    expect((await get(server, '/readyz')).status).toBe(503);
  });

  it('is not ready, but live, when the health check itself fails', async () => {
    const server = await serve({
      health: () => Promise.reject(new Error('PostgreSQL is restarting')),
    });
    expect((await get(server, '/healthz')).status).toBe(200);
    expect(await get(server, '/readyz')).toMatchObject({ status: 503, body: expect.stringContaining('PostgreSQL is restarting') });
  });

  it('serves the registry as Prometheus text, names prefixed liteshift_ with a service label', async () => {
    const registry = createMetricsRegistry('loader');
    new Counter({ name: 'liteshift_test_total', help: 'a test counter', labelNames: ['table'], registers: [registry] }).inc({ table: 'tasks' }, 3);
    const server = await serve({ registry });
    const metrics = await get(server, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.type).toMatch(/^text\/plain/);
    expect(metrics.body).toContain('liteshift_test_total{table="tasks",service="loader"} 3');
    expect(metrics.body).toMatch(/^liteshift_process_resident_memory_bytes\{service="loader"\} \d+$/m);
  });

  it('takes more routes, at start or later; unknown paths 404, other methods 405, a failing handler 500', async () => {
    const server = await serve({ routes: { '/': (_req, res) => void res.writeHead(200, { 'content-type': 'text/html' }).end('<p>page</p>') } });
    server.route('/status.json', (_req, res, url) => void res.writeHead(200).end(JSON.stringify({ q: url.searchParams.get('q') })));
    server.route('/broken', () => {
      throw new Error('no status yet');
    });
    expect(await get(server, '/')).toMatchObject({ status: 200, body: '<p>page</p>' });
    expect(await get(server, '/status.json?q=1')).toMatchObject({ status: 200, body: '{"q":"1"}' });
    expect((await get(server, '/nothing')).status).toBe(404);
    expect((await get(server, '/metrics', 'POST')).status).toBe(405);
    expect(await get(server, '/broken')).toMatchObject({ status: 500, body: expect.stringContaining('no status yet') });
  });

  it('reports a port in use as a mistake naming the setting, and frees its port on close', async () => {
    const first = await serve();
    const error = await serve({ port: first.port }).catch((e: unknown) => e);
    expect(isLiteshiftError(error) && error.code).toBe('CONFIG_INVALID');
    expect(String((error as Error).message)).toBe(`cannot serve HTTP on 127.0.0.1:${first.port}: the port is in use`);
    expect(isLiteshiftError(error) && error.hint).toContain('LITESHIFT_HTTP_PORT');
    await first.close();
    open.splice(open.indexOf(first), 1);
    const again = await serve({ port: first.port });
    expect(again.port).toBe(first.port);
  });
});
