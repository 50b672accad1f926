// GET /api/v1/me/tokens: the caller's personal API tokens (never their secrets).
import { queryOptions, useQuery } from '@tanstack/react-query';
import { api, unwrap } from '@/lib/api/client';
import { queryKeys } from '@/lib/api/query-keys';
import type { ApiToken } from '@/lib/api/types';

export function getTokens(signal?: AbortSignal): Promise<ApiToken[]> {
  return unwrap(api.GET('/api/v1/me/tokens', { signal }));
}

export const tokensQueryOptions = queryOptions({
  queryKey: queryKeys.tokens.all,
  queryFn: ({ signal }) => getTokens(signal),
});

export function useTokens() {
  return useQuery(tokensQueryOptions);
}
