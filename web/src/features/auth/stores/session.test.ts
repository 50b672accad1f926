import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '@/lib/api/errors';
import { apiError, installFakeServer, json, noContent, type FakeServer } from '@/testing/fake-server';
import { TEST_USER, grant, resetSession } from '@/testing/session';
import { bootstrapSession, useSession } from './session';

const SESSION = '/api/v1/auth/session';
const REFRESH = '/api/v1/auth/session/refresh';

let server: FakeServer;

beforeEach(() => {
  resetSession();
  server = installFakeServer();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('session store', () => {
  it('signs in and keeps the access token in memory only', async () => {
    server.on('POST', SESSION, json(grant('token-a')));

    await useSession.getState().signIn('ada@example.com', 'correct horse battery');

    const state = useSession.getState();
    expect(state.status).toBe('signed-in');
    expect(state.accessToken).toBe('token-a');
    expect(state.user).toEqual({ id: TEST_USER.id, email: TEST_USER.email, is_admin: false });
    expect(state.expiresAt).toBeGreaterThan(Date.now());
    expect(window.localStorage).toHaveLength(0);
    expect(window.sessionStorage).toHaveLength(0);
    expect(document.cookie).toBe('');
    const [request] = server.requests('POST', SESSION);
    expect(JSON.parse(request!.body)).toEqual({ email: 'ada@example.com', password: 'correct horse battery' });
  });

  it('throws the server error on wrong credentials and stays signed out', async () => {
    useSession.setState({ status: 'signed-out' });
    server.on('POST', SESSION, apiError(400, 'invalid_grant', 'wrong email or password'));

    const failure = useSession.getState().signIn('ada@example.com', 'nope');

    await expect(failure).rejects.toBeInstanceOf(ApiError);
    await expect(failure).rejects.toMatchObject({ status: 400, code: 'invalid_grant', message: 'wrong email or password' });
    expect(useSession.getState().status).toBe('signed-out');
  });

  it('shares one request between concurrent refreshes', async () => {
    let answer!: (response: Response) => void;
    server.on('POST', REFRESH, () => new Promise<Response>((resolve) => (answer = resolve)));

    const calls = [useSession.getState().refresh(), useSession.getState().refresh(), bootstrapSession()];
    await vi.waitFor(() => expect(server.requests('POST', REFRESH)).toHaveLength(1));
    answer(json(grant('token-b')));

    await expect(Promise.all(calls)).resolves.toEqual([true, true, true]);
    expect(server.requests('POST', REFRESH)).toHaveLength(1);
    expect(useSession.getState().accessToken).toBe('token-b');
  });

  it('ends the session when a refresh is refused', async () => {
    server.on('POST', SESSION, json(grant('token-a')));
    server.on('POST', REFRESH, apiError(401, 'unauthorized', 'no session'));
    await useSession.getState().signIn('ada@example.com', 'pw');

    await expect(useSession.getState().refresh()).resolves.toBe(false);

    expect(useSession.getState()).toMatchObject({ status: 'signed-out', accessToken: null, user: null, expiresAt: null });
  });

  it('starts signed out when there is no session cookie', async () => {
    server.on('POST', REFRESH, apiError(401, 'unauthorized', 'no session'));

    await expect(bootstrapSession()).resolves.toBe(false);

    expect(useSession.getState().status).toBe('signed-out');
  });

  it('signs out on the server and forgets everything', async () => {
    server.on('POST', SESSION, json(grant('token-a')));
    server.on('DELETE', SESSION, noContent());
    await useSession.getState().signIn('ada@example.com', 'pw');

    await useSession.getState().signOut();

    expect(server.requests('DELETE', SESSION)).toHaveLength(1);
    expect(useSession.getState()).toMatchObject({ status: 'signed-out', accessToken: null, user: null, expiresAt: null });
  });

  it('signs out locally even when the server cannot be reached', async () => {
    server.on('POST', SESSION, json(grant('token-a')));
    server.on('DELETE', SESSION, () => Promise.reject(new TypeError('fetch failed')));
    await useSession.getState().signIn('ada@example.com', 'pw');

    await useSession.getState().signOut();

    expect(useSession.getState().status).toBe('signed-out');
  });

  it('renews the token silently about a minute before it expires', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    server.on('POST', SESSION, json(grant('token-a', 900)));
    server.on('POST', REFRESH, json(grant('token-b', 900)));
    await useSession.getState().signIn('ada@example.com', 'pw');

    await vi.advanceTimersByTimeAsync(839_000);
    expect(server.requests('POST', REFRESH)).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1_000);

    expect(server.requests('POST', REFRESH)).toHaveLength(1);
    expect(useSession.getState().accessToken).toBe('token-b');
  });

  it('does not let a refresh that answers after sign-out restore the session', async () => {
    let answer!: (response: Response) => void;
    server.on('POST', SESSION, json(grant('token-a')));
    server.on('DELETE', SESSION, noContent());
    server.on('POST', REFRESH, () => new Promise<Response>((resolve) => (answer = resolve)));
    await useSession.getState().signIn('ada@example.com', 'pw');

    const refreshing = useSession.getState().refresh();
    await useSession.getState().signOut();
    await vi.waitFor(() => expect(answer).toBeTypeOf('function'));
    answer(json(grant('token-b')));

    await expect(refreshing).resolves.toBe(false);
    expect(useSession.getState().status).toBe('signed-out');
  });
});
