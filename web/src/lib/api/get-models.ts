// GET /api/v1/models: the models the caller's runs can use (the offline demo, their
// provider's presets and the provider's own list), the default one, and which provider
// (and whose key) runs use. Shared by the new-run model picker and the settings page, so
// both read one cached answer; changing provider settings invalidates `queryKeys.models`.
import { queryOptions, useQuery } from '@tanstack/react-query';
import { api, unwrap } from './client';
import { queryKeys } from './query-keys';
import type { ModelCatalog } from './types';

export function getModels(): Promise<ModelCatalog> {
  return unwrap(api.GET('/api/v1/models'));
}

export const modelsQueryOptions = queryOptions({
  queryKey: queryKeys.models,
  queryFn: getModels,
  // The server asks the provider live (up to 5 s): don't repeat that on every focus.
  staleTime: 5 * 60_000,
  refetchOnWindowFocus: false,
});

/** The model catalogue. */
export function useModels() {
  return useQuery(modelsQueryOptions);
}
