// GET /api/v1/teams/gallery: the starter teams Cadre ships, each a ready team spec to save
// (POST /api/v1/teams, see create-team) or run. They change only with the server.
import { queryOptions, useQuery } from '@tanstack/react-query';
import { api, unwrap } from '@/lib/api/client';
import { queryKeys } from '@/lib/api/query-keys';
import type { StarterGallery } from '@/lib/api/types';

export function getStarterGallery(signal?: AbortSignal): Promise<StarterGallery> {
  return unwrap(api.GET('/api/v1/teams/gallery', { signal }));
}

export const starterGalleryQueryOptions = queryOptions({
  queryKey: queryKeys.teams.gallery,
  queryFn: ({ signal }) => getStarterGallery(signal),
  staleTime: Infinity,
});

export function useStarterGallery() {
  return useQuery(starterGalleryQueryOptions);
}
