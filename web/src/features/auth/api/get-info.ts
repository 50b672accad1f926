// GET /api/v1/info (public): server version and whether self-service registration is on.
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
