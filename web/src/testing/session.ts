// Session fixtures for tests.
import { useSession } from '@/features/auth';
import { installFakeServer, json, type FakeServer } from './fake-server';

export const TEST_USER = {
  id: '0b6f5f8e-1c1e-4d3e-9a55-2f1f4a0c9b01',
  email: 'ada@example.com',
  is_admin: false,
  disabled: false,
  created_at: '2026-05-01T10:00:00Z',
};

/** A session grant as POST /api/v1/auth/session[/refresh] answers it. */
export function grant(accessToken = 'access-1', expiresIn = 900) {
  return { access_token: accessToken, token_type: 'bearer', expires_in: expiresIn, user: TEST_USER };
}

/** Back to a fresh page load: no session known yet, no timers. */
export function resetSession(): void {
  useSession.getState().expire();
  useSession.setState({ status: 'unknown' });
}

/** `/api/v1/info` of a single-process server with the bubblewrap sandbox active. */
export const SERVER_INFO = {
  version: '0.1.0',
  registration: false,
  sandbox: {
    backend: 'bwrap',
    state: 'active',
    enforced: ['network: none (own network namespace, loopback only)', 'memory: 512 MiB for the whole execution, no swap (cgroup v1; out-of-memory kills are reported)'],
  },
};

/** A fake server for a signed-in page load: the silent refresh succeeds and the server
 *  facts answer (registration closed). Add the page's own routes with `.on(…)`. */
export function installSignedInServer(): FakeServer {
  return installFakeServer()
    .on('POST', '/api/v1/auth/session/refresh', json(grant()))
    .on('GET', '/api/v1/info', json(SERVER_INFO));
}
