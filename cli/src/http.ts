import { startHttpServer, type HealthState, type HttpServer, type Logger, type Registry, type RouteHandler, type Settings } from '@liteshift/shared';

/** The services' /healthz, /readyz and /metrics (extract, load, verify --watch). */
export const HTTP_KEYS = ['httpPort', 'httpHost'] as const;

export type HttpSettings = Partial<Pick<Settings, 'httpPort'>> & Pick<Settings, 'httpHost'>;

/** A service's /healthz, /readyz and /metrics, when --http-port (LITESHIFT_HTTP_PORT) names a port; null otherwise. */
export async function serveHttp(
  settings: HttpSettings,
  log: Logger,
  registry: Registry,
  health: () => HealthState | Promise<HealthState>,
  routes?: Record<string, RouteHandler>,
): Promise<HttpServer | null> {
  if (!settings.httpPort) return null;
  return startHttpServer({ port: settings.httpPort, host: settings.httpHost, log, registry, health, ...(routes ? { routes } : {}) });
}
