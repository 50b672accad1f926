// Route guards. RequireAuth: signed-in users only; others go to /login, which returns
// them here afterwards. GuestOnly: /login and /register; signed-in users go on to where
// they were headed. Both show a small loading state while the session is 'unknown'.
import type { ReactNode } from 'react';
import { Navigate, Outlet, useLocation, type Location } from 'react-router';
import { PageSpinner } from '@/components/ui';
import { useSession } from '../stores/session';

/** The router state /login receives: where the user was going. */
export interface LoginRedirectState {
  from?: Pick<Location, 'pathname' | 'search' | 'hash'>;
}

export function RequireAuth({ children }: { children?: ReactNode }) {
  const status = useSession((state) => state.status);
  const location = useLocation();
  if (status === 'unknown') return <PageSpinner label="Checking your session…" />;
  if (status === 'signed-out') {
    const state: LoginRedirectState = {
      from: { pathname: location.pathname, search: location.search, hash: location.hash },
    };
    return <Navigate to="/login" replace state={state} />;
  }
  return children ?? <Outlet />;
}

/** Where to go after signing in: the page that sent the user to /login, else a new run. */
export function redirectTarget(state: unknown): string {
  const from = (state as LoginRedirectState | null)?.from;
  if (!from?.pathname || from.pathname === '/login' || from.pathname === '/register') return '/runs/new';
  return `${from.pathname}${from.search ?? ''}${from.hash ?? ''}`;
}

export function GuestOnly({ children }: { children?: ReactNode }) {
  const status = useSession((state) => state.status);
  const location = useLocation();
  if (status === 'unknown') return <PageSpinner label="Checking your session…" />;
  if (status === 'signed-in') return <Navigate to={redirectTarget(location.state)} replace />;
  return children ?? <Outlet />;
}
