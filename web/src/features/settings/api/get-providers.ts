// GET /api/v1/me/providers: the caller's stored provider credentials, masked (`…abcd`);
// the API never sends a key back.
import { queryOptions, useQuery } from '@tanstack/react-query';
import { api, unwrap } from '@/lib/api/client';
import { queryKeys } from '@/lib/api/query-keys';
import type { Provider } from '@/lib/api/types';

/** The providers a user can store a key for, in display order. */
export const PROVIDER_IDS = ['openrouter', 'openai', 'custom'] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];

export function getProviders(signal?: AbortSignal): Promise<Provider[]> {
  return unwrap(api.GET('/api/v1/me/providers', { signal }));
}

export const providersQueryOptions = queryOptions({
  queryKey: queryKeys.providers.all,
  queryFn: ({ signal }) => getProviders(signal),
});

export function useProviders() {
  return useQuery(providersQueryOptions);
}
