// The typed API client: `api.GET('/api/v1/runs/{id}', { params: { path: { id } } })`,
// with paths, parameters and bodies checked against the generated schema.
//
// Its middleware
// - adds `Authorization: Bearer <access token>` from the session,
// - on a 401, asks the session for ONE silent refresh and retries the request once with
//   the new token; if that fails too, the session ends (the router then shows /login),
// - turns network failures into an `ApiError` with status 0.
//
// lib/ cannot import features/, so the session plugs itself in with `connectSession`
// (features/auth/stores/session.ts does it when it loads). Connections that cannot carry
// headers (WebSocket, EventSource) read the token through `accessToken`,
// `accessTokenExpiry` and `refreshAccessToken` instead, so no other feature needs the
// auth feature.
import createClient, { type Middleware } from 'openapi-fetch';
import { apiErrorFromBody, isAbortError, toApiError } from './errors';
import type { paths } from './schema';

/** What the client needs from the session. */
export interface SessionBridge {
  /** The current access token, or null when signed out. */
  getAccessToken: () => string | null;
  /** When the access token expires (epoch ms), or null when signed out. */
  getAccessTokenExpiry: () => number | null;
  /** Renews the access token silently (refresh cookie); true when a new one is in place.
   *  Concurrent callers must share one request. */
  refresh: () => Promise<boolean>;
  /** Called when a request stays unauthorized after a refresh: end the session locally. */
  onUnauthorized: () => void;
}

let session: SessionBridge | null = null;

/** Plugs the session into the client. */
export function connectSession(bridge: SessionBridge | null): void {
  session = bridge;
}

/** The current access token, or null when signed out (or no session is connected). */
export function accessToken(): string | null {
  return session?.getAccessToken() ?? null;
}

/** When the access token expires (epoch ms), or null. */
export function accessTokenExpiry(): number | null {
  return session?.getAccessTokenExpiry() ?? null;
}

/** Renews the access token silently; true when a new one is in place. */
export function refreshAccessToken(): Promise<boolean> {
  return session?.refresh() ?? Promise.resolve(false);
}

/** Auth endpoints are never retried after a 401: their 401 is the answer (and retrying a
 *  refresh with a refresh would loop). */
function retriesOn401(schemaPath: string): boolean {
  return !schemaPath.startsWith('/api/v1/auth/');
}

/** fetch, looked up at call time so tests can stub the global. */
const callFetch = (request: Request): Promise<Response> => globalThis.fetch(request);

/** Copies of requests that may need a retry, by middleware request id (a body can only be
 *  read once, so the copy is taken before sending). */
const retryCopies = new Map<string, Request>();

function withBearer(request: Request, token: string | null): Request {
  if (token) request.headers.set('Authorization', `Bearer ${token}`);
  return request;
}

export const authMiddleware: Middleware = {
  onRequest({ request, schemaPath, id }) {
    if (!request.headers.has('Authorization')) withBearer(request, session?.getAccessToken() ?? null);
    if (retriesOn401(schemaPath)) retryCopies.set(id, request.clone());
    return request;
  },

  async onResponse({ request, response, id }) {
    const copy = retryCopies.get(id);
    retryCopies.delete(id);
    if (response.status !== 401 || !copy || !session) return undefined;

    // Another request may have refreshed while this one was in flight: then the new
    // token is already there and no second refresh is needed.
    const sent = request.headers.get('Authorization');
    const current = session.getAccessToken();
    const renewed = (current !== null && `Bearer ${current}` !== sent) || (await session.refresh());
    if (!renewed) {
      session.onUnauthorized();
      return undefined;
    }
    const retried = await callFetch(withBearer(copy, session.getAccessToken()));
    if (retried.status === 401) session.onUnauthorized();
    return retried;
  },

  onError({ error, id }) {
    retryCopies.delete(id);
    if (isAbortError(error)) return undefined;
    return toApiError(error);
  },
};

/** The one API client. Same origin: the UI is served by the API server (or proxied by
 *  Vite in development). An absolute base keeps `Request` happy outside browsers. */
export const api = createClient<paths>({
  baseUrl: globalThis.location?.origin ?? '',
  fetch: callFetch,
  credentials: 'same-origin',
});
api.use(authMiddleware);

/** Result shape of every `api.GET/POST/…` call. */
interface ClientResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/**
 * Awaits an `api` call and returns its data, or throws an `ApiError` (server error body,
 * unexpected answer, or network failure). Cancellations are rethrown as they are.
 *
 *   const run = await unwrap(api.GET('/api/v1/runs/{id}', { params: { path: { id } } }));
 */
export async function unwrap<T>(call: Promise<ClientResult<T>>): Promise<T> {
  let result: ClientResult<T>;
  try {
    result = await call;
  } catch (error) {
    if (isAbortError(error)) throw error;
    throw toApiError(error);
  }
  if (!result.response.ok) throw apiErrorFromBody(result.response.status, result.error);
  return result.data as T;
}
