// GET /api/v1/teams/{id}: one saved team.
import { queryOptions, useQuery } from '@tanstack/react-query';
import { api, unwrap } from '@/lib/api/client';
import { queryKeys } from '@/lib/api/query-keys';
import type { Team } from '@/lib/api/types';

export function getTeam(id: string, signal?: AbortSignal): Promise<Team> {
  return unwrap(api.GET('/api/v1/teams/{id}', { params: { path: { id } }, signal }));
}

export function teamQueryOptions(id: string) {
  return queryOptions({
    queryKey: queryKeys.teams.detail(id),
    queryFn: ({ signal }) => getTeam(id, signal),
    // The page edits a copy: a background refetch must not look like a change.
    refetchOnWindowFocus: false,
  });
}

export function useTeam(id: string) {
  return useQuery(teamQueryOptions(id));
}
