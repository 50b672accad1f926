import { beforeEach, describe, expect, it } from 'vitest';
import { useSession } from '@/features/auth';
import { apiError, installFakeServer, json, type FakeServer } from '@/testing/fake-server';
import { TEST_USER, grant, resetSession } from '@/testing/session';
import { accessToken, accessTokenExpiry, api, refreshAccessToken, unwrap } from './client';
import { ApiError } from './errors';

const ME = '/api/v1/me';
const REFRESH = '/api/v1/auth/session/refresh';
const unauthorized = () => apiError(401, 'unauthorized', 'the access token is invalid or expired');

let server: FakeServer;

function signedInAs(token: string) {
  useSession.setState({ status: 'signed-in', accessToken: token, expiresAt: Date.now() + 60_000, user: TEST_USER });
}

beforeEach(() => {
  resetSession();
  server = installFakeServer();
});

describe('api client', () => {
  it('sends the access token as a bearer token', async () => {
    signedInAs('token-a');
    server.on('GET', ME, json(TEST_USER));

    await expect(unwrap(api.GET('/api/v1/me'))).resolves.toEqual(TEST_USER);

    expect(server.requests('GET', ME)[0]!.headers.get('Authorization')).toBe('Bearer token-a');
  });

  it('on a 401 refreshes once and retries with the new token', async () => {
    signedInAs('expired');
    server.on('GET', ME, unauthorized(), json(TEST_USER));
    server.on('POST', REFRESH, json(grant('token-b')));

    await expect(unwrap(api.GET('/api/v1/me'))).resolves.toEqual(TEST_USER);

    expect(server.requests().map((r) => `${r.method} ${r.path} ${r.headers.get('Authorization')}`)).toEqual([
      'GET /api/v1/me Bearer expired',
      'POST /api/v1/auth/session/refresh Bearer expired',
      'GET /api/v1/me Bearer token-b',
    ]);
    expect(useSession.getState()).toMatchObject({ status: 'signed-in', accessToken: 'token-b' });
  });

  it('retries a request with a body, body intact', async () => {
    signedInAs('expired');
    server.on('POST', '/api/v1/runs', unauthorized(), json({ id: 'run-1' }, 202));
    server.on('POST', REFRESH, json(grant('token-b')));

    await unwrap(api.POST('/api/v1/runs', { body: { task: 'Plot the first 20 primes' } }));

    const [first, retry] = server.requests('POST', '/api/v1/runs');
    expect(JSON.parse(retry!.body)).toEqual({ task: 'Plot the first 20 primes' });
    expect(retry!.body).toBe(first!.body);
    expect(retry!.headers.get('Authorization')).toBe('Bearer token-b');
  });

  it('signs out when the retry is unauthorized too', async () => {
    signedInAs('expired');
    server.on('GET', ME, unauthorized());
    server.on('POST', REFRESH, json(grant('token-b')));

    const failure = unwrap(api.GET('/api/v1/me'));

    await expect(failure).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
    expect(server.requests('GET', ME)).toHaveLength(2);
    expect(server.requests('POST', REFRESH)).toHaveLength(1);
    expect(useSession.getState().status).toBe('signed-out');
  });

  it('signs out without retrying when the refresh is refused', async () => {
    signedInAs('expired');
    server.on('GET', ME, unauthorized());
    server.on('POST', REFRESH, apiError(401, 'unauthorized', 'no session'));

    await expect(unwrap(api.GET('/api/v1/me'))).rejects.toMatchObject({ status: 401 });

    expect(server.requests('GET', ME)).toHaveLength(1);
    expect(useSession.getState().status).toBe('signed-out');
  });

  it('refreshes once for concurrent 401s', async () => {
    signedInAs('expired');
    server.on('GET', ME, (request) =>
      request.headers.get('Authorization') === 'Bearer token-b' ? json(TEST_USER) : unauthorized(),
    );
    server.on('POST', REFRESH, json(grant('token-b')));

    const results = await Promise.all([unwrap(api.GET('/api/v1/me')), unwrap(api.GET('/api/v1/me')), unwrap(api.GET('/api/v1/me'))]);

    expect(results).toEqual([TEST_USER, TEST_USER, TEST_USER]);
    expect(server.requests('POST', REFRESH)).toHaveLength(1);
  });

  it('does not retry the auth endpoints themselves', async () => {
    server.on('POST', REFRESH, apiError(401, 'unauthorized', 'no session'));

    await expect(unwrap(api.POST('/api/v1/auth/session/refresh'))).rejects.toMatchObject({ status: 401 });

    expect(server.requests()).toHaveLength(1);
  });

  it('turns error bodies into ApiError', async () => {
    signedInAs('token-a');
    server.on(
      'GET',
      ME,
      apiError(422, 'validation_failed', '2 fields are invalid', {
        fields: [
          { field: 'task', message: 'must not be empty' },
          { field: 'max_round', message: 'too large' },
        ],
      }),
    );

    const error = await unwrap(api.GET('/api/v1/me')).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 422, code: 'validation_failed', message: '2 fields are invalid' });
    expect((error as ApiError).fieldErrors).toEqual({ task: 'must not be empty', max_round: 'too large' });
  });

  it('turns network failures into ApiError with status 0', async () => {
    signedInAs('token-a');
    server.on('GET', ME, () => Promise.reject(new TypeError('fetch failed')));

    await expect(unwrap(api.GET('/api/v1/me'))).rejects.toMatchObject({ status: 0, code: 'network_error' });
  });

  it('reports answers that are not in the error shape', async () => {
    signedInAs('token-a');
    server.on('GET', ME, new Response('Bad Gateway', { status: 502 }));

    await expect(unwrap(api.GET('/api/v1/me'))).rejects.toMatchObject({ status: 502, code: 'bad_response', message: 'Bad Gateway' });
  });

  it("gives connections without headers the session's token and its renewal", async () => {
    signedInAs('token-a');
    expect(accessToken()).toBe('token-a');
    expect(accessTokenExpiry()).toBe(useSession.getState().expiresAt);

    server.on('POST', REFRESH, json(grant('token-b')));
    await expect(refreshAccessToken()).resolves.toBe(true);
    expect(accessToken()).toBe('token-b');

    resetSession();
    expect(accessToken()).toBeNull();
    expect(accessTokenExpiry()).toBeNull();
  });
});
