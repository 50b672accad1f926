// GET /api/v1/models: the models the caller's runs can use (the offline demo, their
// provider's presets and the provider's own list) and the default one.
import { queryOptions, useQuery } from '@tanstack/react-query';
import { api, unwrap } from '@/lib/api/client';
import { queryKeys } from '@/lib/api/query-keys';

export function getModels() {
  return unwrap(api.GET('/api/v1/models'));
}

export const modelsQueryOptions = queryOptions({
  queryKey: queryKeys.models,
  queryFn: getModels,
  // The server asks the provider live (up to 5 s): don't repeat that on every focus.
  staleTime: 5 * 60_000,
  refetchOnWindowFocus: false,
});

/** The model catalogue for pickers (new run, team editor). Invalidate `queryKeys.models`
 *  after changing provider settings. */
export function useModels() {
  return useQuery(modelsQueryOptions);
}
