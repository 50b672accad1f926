// GET /api/v1/teams: the caller's saved teams, for the new-run team picker.
import { queryOptions, useQuery } from '@tanstack/react-query';
import { api, unwrap } from '@/lib/api/client';
import { queryKeys } from '@/lib/api/query-keys';

export function getSavedTeams() {
  return unwrap(api.GET('/api/v1/teams', { params: { query: { limit: 500 } } }));
}

export const savedTeamsQueryOptions = queryOptions({
  queryKey: queryKeys.teams.list({ limit: 500 }),
  queryFn: getSavedTeams,
});

export function useSavedTeams(enabled = true) {
  return useQuery({ ...savedTeamsQueryOptions, enabled });
}
