// Every route of the UI. Auth pages load eagerly (they are the first thing most visits
// see); feature pages load on demand, each in its own chunk. To add a page: add its route
// here with `page(() => import(...), 'ExportName')`.
import type { ComponentType } from 'react';
import { Navigate, createBrowserRouter, type RouteObject } from 'react-router';
import { PageSpinner } from '@/components/ui';
import { GuestOnly, LoginPage, RegisterPage, RequireAuth } from '@/features/auth';
import { AppLayout } from './layout/AppLayout';
import { NotFoundPage, RouteError } from './RouteError';

/** A lazily loaded route component: the module and the name of its export. */
function page<M extends Record<string, unknown>>(load: () => Promise<M>, name: keyof M & string): RouteObject['lazy'] {
  return async () => ({ Component: (await load())[name] as ComponentType });
}

export const routes: RouteObject[] = [
  {
    errorElement: <RouteError />,
    hydrateFallbackElement: <PageSpinner />,
    children: [
      {
        element: <GuestOnly />,
        children: [
          { path: '/login', element: <LoginPage /> },
          { path: '/register', element: <RegisterPage /> },
        ],
      },
      {
        element: (
          <RequireAuth>
            <AppLayout />
          </RequireAuth>
        ),
        children: [
          { path: '/', element: <Navigate to="/runs/new" replace /> },
          { path: '/runs/new', lazy: page(() => import('@/features/runs/components/NewRunPage'), 'NewRunPage') },
          { path: '/runs/:runId', lazy: page(() => import('@/features/runs/components/RunPage'), 'RunPage') },
          { path: '/history', lazy: page(() => import('@/features/history/components/HistoryPage'), 'HistoryPage') },
          { path: '/teams', lazy: page(() => import('@/features/teams/components/TeamsPage'), 'TeamsPage') },
          { path: '/teams/:teamId', lazy: page(() => import('@/features/teams/components/TeamPage'), 'TeamPage') },
          { path: '/settings', lazy: page(() => import('@/features/settings/components/SettingsPage'), 'SettingsPage') },
          { path: '*', element: <NotFoundPage /> },
        ],
      },
    ],
  },
];

export function createAppRouter() {
  return createBrowserRouter(routes);
}
