// The app's TanStack Query client. Server data lives here (not in zustand).
import { QueryClient } from '@tanstack/react-query';
import { ApiError } from './api/errors';

/** Client errors (4xx) will not change on retry; network failures and 5xx might. */
function shouldRetry(failureCount: number, error: unknown): boolean {
  if (error instanceof ApiError && error.status >= 400 && error.status < 500) return false;
  return failureCount < 2;
}

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: { retry: shouldRetry, staleTime: 10_000, refetchOnWindowFocus: true },
      mutations: { retry: false },
    },
  });
}

/** The app-wide instance (cleared on sign-out so one user's data never shows to the next). */
export const queryClient = createQueryClient();
