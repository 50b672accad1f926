// GET /api/v1/models, as the settings page reads it: which provider (and whose key) runs
// use, and the default model. Same query key as the run pages' model picker, so both
// share one cached answer and one invalidation.
import { queryOptions, useQuery } from '@tanstack/react-query';
import { api, unwrap } from '@/lib/api/client';
import { queryKeys } from '@/lib/api/query-keys';
import type { ModelCatalog } from '@/lib/api/types';

export function getModelCatalog(): Promise<ModelCatalog> {
  return unwrap(api.GET('/api/v1/models'));
}

export const modelCatalogQueryOptions = queryOptions({
  queryKey: queryKeys.models,
  queryFn: getModelCatalog,
  staleTime: 5 * 60_000,
  refetchOnWindowFocus: false,
});

export function useModelCatalog() {
  return useQuery(modelCatalogQueryOptions);
}
