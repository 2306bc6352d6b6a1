import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { LiteshiftError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { HealthState } from './health.js';

/** Handles one GET of its path; the query string is in `url`. */
export type RouteHandler = (request: IncomingMessage, response: ServerResponse, url: URL) => void | Promise<void>;

export interface HttpServerOptions {
  /** 0 picks a free port (tests); the CLI starts no server at all for 0. */
  port: number;
  host: string;
  log: Logger;
  registry: Registry;
  /** Read at every /healthz and /readyz; may query (PostgreSQL reachable?), so keep it quick. */
  health: () => HealthState | Promise<HealthState>;
  /** More GET routes by path (e.g. a status page), beside /healthz, /readyz and /metrics. */
  routes?: Record<string, RouteHandler>;
}

export interface HttpServer {
  /** The port bound (the one picked, when 0 was asked for). */
  readonly port: number;
  /** Adds or replaces a GET route. */
  route(path: string, handler: RouteHandler): void;
  close(): Promise<void>;
}

/** How long /healthz and /readyz wait for `health()` before answering 503. */
const HEALTH_TIMEOUT_MS = 2_000;

/**
 * The operating endpoints of a service, on node:http: /healthz (200 while the service
 * runs its loop, 503 once it failed for good), /readyz (200 only when ready, else 503
 * with a one-line JSON reason) and /metrics (Prometheus text). Resolves once listening;
 * a port in use or not allowed is a LiteshiftError naming the setting.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const { log, registry } = options;
  const routes = new Map<string, RouteHandler>(Object.entries(options.routes ?? {}));
  const probe =
    (key: 'live' | 'ready'): RouteHandler =>
    async (_request, response) => {
      const state = await withTimeout(Promise.resolve().then(options.health), HEALTH_TIMEOUT_MS).catch(
        (error: unknown): HealthState => ({ live: true, ready: false, reason: `health check failed: ${errorMessage(error)}` }),
      );
      sendJson(response, state[key] ? 200 : 503, { status: state[key] ? 'ok' : 'unavailable', reason: state.reason });
    };
  routes.set('/healthz', probe('live'));
  routes.set('/readyz', probe('ready'));
  routes.set('/metrics', async (_request, response) => {
    const body = await registry.metrics();
    response.writeHead(200, { 'content-type': registry.contentType }).end(body);
  });

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const handler = routes.get(url.pathname);
    if (!handler) return void sendJson(response, 404, { status: 'not found', routes: [...routes.keys()] });
    if (request.method !== 'GET' && request.method !== 'HEAD') return void sendJson(response, 405, { status: 'method not allowed' });
    Promise.resolve()
      .then(() => handler(request, response, url))
      .catch((error: unknown) => {
        log.warn({ path: url.pathname, err: errorMessage(error) }, 'HTTP request failed');
        if (!response.headersSent) sendJson(response, 500, { status: 'error', reason: errorMessage(error) });
        else response.destroy();
      });
  });
  // Probes come every few seconds: an idle keep-alive socket must not hold close() up.
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, options.host, options.port)));
    server.listen(options.port, options.host, () => resolve());
  });
  server.on('error', (error) => log.warn({ err: errorMessage(error) }, 'HTTP server error'));
  const port = (server.address() as AddressInfo).port;
  log.info({ host: options.host, port, routes: [...routes.keys()] }, 'HTTP server listening');

  return {
    port,
    route: (path, handler) => void routes.set(path, handler),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function listenError(error: NodeJS.ErrnoException, host: string, port: number): Error {
  const where = `${host}:${port}`;
  if (error.code === 'EADDRINUSE') {
    return new LiteshiftError('CONFIG_INVALID', `cannot serve HTTP on ${where}: the port is in use`, {
      hint: 'choose another --http-port (LITESHIFT_HTTP_PORT), or 0 for no HTTP server',
      cause: error,
    });
  }
  if (error.code === 'EACCES') {
    return new LiteshiftError('CONFIG_INVALID', `cannot serve HTTP on ${where}: permission denied`, {
      hint: 'ports below 1024 need privileges: choose a --http-port (LITESHIFT_HTTP_PORT) of 1024 or more',
      cause: error,
    });
  }
  if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') {
    return new LiteshiftError('CONFIG_INVALID', `cannot serve HTTP on ${where}: no such local address`, {
      hint: 'set --http-host (LITESHIFT_HTTP_HOST) to an address of this machine, e.g. 127.0.0.1 or 0.0.0.0',
      cause: error,
    });
  }
  return error;
}
