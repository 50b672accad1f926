// The browser session: who is signed in and the short-lived access token.
//
// Security rules this store keeps:
// - The access token lives in memory only (this store): never localStorage or
//   sessionStorage, so a script injected later cannot read a stored copy and the token
//   dies with the tab. The refresh token is an HttpOnly cookie that no script sees.
// - A reload therefore starts with status 'unknown' and one silent refresh
//   (`bootstrapSession`) decides between 'signed-in' and 'signed-out'.
// - Refresh tokens rotate: concurrent refreshes share one request (`refresh` is
//   deduplicated), and tabs take turns through a Web Lock so that two tabs never present
//   the same cookie twice (the server would treat that as token theft).
// - The access token is renewed silently ~60 s before it expires.
import { create } from 'zustand';
import { connectSession } from '@/lib/api/client';
import { ApiError } from '@/lib/api/errors';
import { queryClient } from '@/lib/query-client';
import { createSession, type SessionGrant } from '../api/create-session';
import { deleteSession } from '../api/delete-session';
import { refreshSession } from '../api/refresh-session';
import { registerAccount } from '../api/register';

export type SessionStatus = 'unknown' | 'signed-in' | 'signed-out';

export interface SessionUser {
  id: string;
  email: string;
  is_admin: boolean;
}

export interface SessionState {
  /** 'unknown' until the first refresh attempt has answered. */
  status: SessionStatus;
  /** Bearer token for API calls (memory only). */
  accessToken: string | null;
  /** When the access token expires (epoch ms). */
  expiresAt: number | null;
  user: SessionUser | null;

  /** Signs in; throws an `ApiError` (`invalid_grant` on wrong credentials, 429 when
   *  throttled, status 0 when offline). */
  signIn: (email: string, password: string) => Promise<void>;
  /** Creates the account, then signs in with it. Throws an `ApiError`. */
  register: (email: string, password: string) => Promise<void>;
  /** Renews the access token from the refresh cookie; true on success, and on failure the
   *  session ends. Concurrent calls share one request. Never throws. */
  refresh: () => Promise<boolean>;
  /** Ends the session on the server (best effort) and here. */
  signOut: () => Promise<void>;
  /** Ends the session here only (e.g. the server no longer accepts it). */
  expire: () => void;
}

/** Renew this long before expiry. */
const REFRESH_MARGIN_MS = 60_000;
/** Name of the cross-tab lock around refreshes. */
const REFRESH_LOCK = 'cadre-session-refresh';

let refreshTimer: ReturnType<typeof setTimeout> | undefined;
let inFlightRefresh: Promise<boolean> | null = null;
/** Bumped whenever the session ends, so a refresh that started before a sign-out cannot
 *  bring the session back when it answers. */
let generation = 0;

const signedOut = { status: 'signed-out', accessToken: null, expiresAt: null, user: null } as const;

/** Runs `task` while holding the cross-tab refresh lock (directly where Web Locks are
 *  unavailable, e.g. old browsers and jsdom). */
async function withRefreshLock<T>(task: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  if (!locks) return task();
  return await locks.request(REFRESH_LOCK, task);
}

/** When to renew a token valid for `expiresInMs`: 60 s early, or at half-life for very
 *  short tokens. */
function refreshDelay(expiresInMs: number): number {
  return Math.max(expiresInMs - REFRESH_MARGIN_MS, expiresInMs / 2);
}

function clearRefreshTimer() {
  if (refreshTimer !== undefined) clearTimeout(refreshTimer);
  refreshTimer = undefined;
}

export const useSession = create<SessionState>()((set, get) => {
  /** Stores a fresh grant and schedules its renewal. */
  function establish(grant: SessionGrant) {
    const expiresInMs = grant.expires_in * 1000;
    const { id, email, is_admin } = grant.user;
    set({
      status: 'signed-in',
      accessToken: grant.access_token,
      expiresAt: Date.now() + expiresInMs,
      user: { id, email, is_admin },
    });
    clearRefreshTimer();
    refreshTimer = setTimeout(() => void get().refresh(), refreshDelay(expiresInMs));
  }

  function endLocally() {
    generation += 1;
    clearRefreshTimer();
    const wasSignedIn = get().status === 'signed-in';
    set(signedOut);
    // One user's cached data must never show to the next one.
    if (wasSignedIn) queryClient.clear();
  }

  return {
    status: 'unknown',
    accessToken: null,
    expiresAt: null,
    user: null,

    async signIn(email, password) {
      const started = generation;
      const grant = await createSession({ email, password });
      if (started === generation) establish(grant);
    },

    async register(email, password) {
      await registerAccount({ email, password });
      await get().signIn(email, password);
    },

    refresh() {
      inFlightRefresh ??= (async () => {
        const started = generation;
        try {
          const grant = await withRefreshLock(refreshSession);
          if (started !== generation) return false;
          establish(grant);
          return true;
        } catch (error) {
          if (started !== generation) return false;
          const state = get();
          const stillValid = state.expiresAt !== null && state.expiresAt > Date.now();
          if (state.status === 'signed-in' && stillValid && isTransient(error)) {
            // Server unreachable or briefly failing: keep the valid token, retry soon.
            clearRefreshTimer();
            refreshTimer = setTimeout(() => void get().refresh(), 15_000);
            return false;
          }
          endLocally();
          return false;
        } finally {
          inFlightRefresh = null;
        }
      })();
      return inFlightRefresh;
    },

    async signOut() {
      // Sent before the token is forgotten (the middleware reads it synchronously).
      const revoked = deleteSession();
      endLocally();
      try {
        await revoked;
      } catch {
        // Offline or already ended: the local session is gone either way.
      }
    },

    expire: endLocally,
  };
});

/** A failure that may pass: no answer, or a 5xx. */
function isTransient(error: unknown): boolean {
  return !(error instanceof ApiError) || error.status === 0 || error.status >= 500;
}

/** On app start: one silent refresh to find out whether the refresh cookie still holds a
 *  session. Safe to call more than once. */
export function bootstrapSession(): Promise<boolean> {
  const state = useSession.getState();
  if (state.status !== 'unknown') return Promise.resolve(state.status === 'signed-in');
  return state.refresh();
}

// The API client reads the token and asks for refreshes through this bridge.
connectSession({
  getAccessToken: () => useSession.getState().accessToken,
  getAccessTokenExpiry: () => useSession.getState().expiresAt,
  refresh: () => useSession.getState().refresh(),
  onUnauthorized: () => useSession.getState().expire(),
});
