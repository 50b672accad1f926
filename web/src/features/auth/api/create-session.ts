// POST /api/v1/auth/session: signs in with email and password. The answer carries the
// access token (kept in memory by the session store); the refresh token travels only in
// an HttpOnly cookie that scripts never see.
import { api, unwrap } from '@/lib/api/client';

export interface Credentials {
  email: string;
  password: string;
}

export function createSession(credentials: Credentials) {
  return unwrap(api.POST('/api/v1/auth/session', { body: credentials }));
}

/** What the session endpoints answer (sign-in and refresh). */
export type SessionGrant = Awaited<ReturnType<typeof createSession>>;
