// GET /api/v1/info (public): server version, whether self-service registration is on, and
// the sandbox generated code runs in. Shared: the auth pages and the settings page read it.
import { queryOptions, useQuery } from '@tanstack/react-query';
import { api, unwrap } from '@/lib/api/client';
import { queryKeys } from '@/lib/api/query-keys';

export function getInfo() {
  return unwrap(api.GET('/api/v1/info'));
}

export const infoQueryOptions = queryOptions({
  queryKey: queryKeys.info,
  queryFn: getInfo,
  staleTime: 5 * 60_000,
});

/** Server info; the login page uses it to offer registration. */
export function useInfo() {
  return useQuery(infoQueryOptions);
}
