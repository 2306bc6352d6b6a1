import type { RouteHandler } from '@liteshift/shared';
import type { StatusBoard } from './board.js';
import { STATUS_PAGE_HTML } from './page.js';

/** Path of the JSON the page polls. */
export const STATUS_API_PATH = '/api/status';

/**
 * The status page's GET routes, to add to the verifier's HTTP server: `/` the page (static:
 * every value reaches it through the JSON and is set as text, never as markup) and
 * `/api/status` the state (`?since=<epoch ms>` for only the newer chart samples).
 */
export function statusPageRoutes(board: StatusBoard): Record<string, RouteHandler> {
  return {
    '/': (_request, response) => {
      response
        .writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-store',
          // Self-contained: nothing from elsewhere may run, load or frame it.
          'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
        })
        .end(STATUS_PAGE_HTML);
    },
    [STATUS_API_PATH]: (_request, response, url) => {
      const since = Number(url.searchParams.get('since'));
      const body = JSON.stringify(board.state(Number.isFinite(since) && since > 0 ? since : undefined));
      response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(body);
    },
  };
}
