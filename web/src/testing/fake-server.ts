// A fake API at the fetch boundary: tests declare answers per method and path, the app
// runs its real client and middleware against them, and tests inspect the requests.
//
//   const server = installFakeServer();
//   server.on('POST', '/api/v1/auth/session/refresh', json(grant()), apiError(401, 'unauthorized', 'no session'));
//   ...
//   expect(server.requests('POST', '/api/v1/auth/session/refresh')).toHaveLength(1);
import { vi } from 'vitest';

export type Answer = Response | ((request: Request) => Response | Promise<Response>);

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Headers;
  /** The body as text ('' when none). */
  body: string;
}

export interface FakeServer {
  /** Answers for `method path`, used in order; the last one repeats. */
  on: (method: string, path: string, ...answers: Answer[]) => FakeServer;
  /** Every request so far, optionally only those to `method path`. */
  requests: (method?: string, path?: string) => RecordedRequest[];
}

/** A JSON response. */
export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

/** A response in the API's error shape. */
export function apiError(status: number, code: string, message: string, details?: unknown): Response {
  return json({ error: details === undefined ? { code, message } : { code, message, details } }, status);
}

/** A 204. */
export function noContent(): Response {
  return new Response(null, { status: 204 });
}

/** Replaces global fetch for the current test (Vitest restores it afterwards). Unknown
 *  paths answer 404 in the API's error shape. */
export function installFakeServer(): FakeServer {
  const routes = new Map<string, Answer[]>();
  const recorded: RecordedRequest[] = [];

  const fetchFake = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init);
    const url = new URL(request.url);
    const body = request.body ? await request.clone().text() : '';
    recorded.push({ method: request.method, path: url.pathname, headers: new Headers(request.headers), body });
    const answers = routes.get(`${request.method} ${url.pathname}`);
    const answer = answers && (answers.length > 1 ? answers.shift() : answers[0]);
    if (!answer) return apiError(404, 'not_found', `no fake for ${request.method} ${url.pathname}`);
    // A Response can be read once: hand out a copy so a repeating answer keeps working.
    return typeof answer === 'function' ? answer(request) : answer.clone();
  });
  vi.stubGlobal('fetch', fetchFake);

  const server: FakeServer = {
    on(method, path, ...answers) {
      routes.set(`${method} ${path}`, answers);
      return server;
    },
    requests(method, path) {
      return recorded.filter((r) => (!method || r.method === method) && (!path || r.path === path));
    },
  };
  return server;
}
