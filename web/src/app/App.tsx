// The app's providers: server data (TanStack Query) and routing. On start it asks the
// server once whether the refresh cookie still holds a session; the route guards show a
// loading state until it answers.
import { QueryClientProvider, type QueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { RouterProvider } from 'react-router/dom';
import { bootstrapSession } from '@/features/auth';
import { queryClient as appQueryClient } from '@/lib/query-client';
import { createAppRouter } from './router';

export interface AppProps {
  /** Tests pass a memory router; the app uses the browser's. */
  router?: ReturnType<typeof createAppRouter>;
  queryClient?: QueryClient;
}

export function App({ router: givenRouter, queryClient = appQueryClient }: AppProps) {
  const [router] = useState(() => givenRouter ?? createAppRouter());
  useEffect(() => {
    void bootstrapSession();
  }, []);
  return (
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  );
}
