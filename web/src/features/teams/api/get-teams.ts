// GET /api/v1/teams: the caller's saved teams, newest first, one cursor page at a time.
import { infiniteQueryOptions, useInfiniteQuery } from '@tanstack/react-query';
import { api, unwrap } from '@/lib/api/client';
import { queryKeys } from '@/lib/api/query-keys';
import type { TeamList } from '@/lib/api/types';

export const TEAMS_PAGE_SIZE = 50;

export function getTeams(cursor?: string, signal?: AbortSignal): Promise<TeamList> {
  return unwrap(api.GET('/api/v1/teams', { params: { query: { limit: TEAMS_PAGE_SIZE, ...(cursor ? { cursor } : {}) } }, signal }));
}

export const teamsQueryOptions = infiniteQueryOptions({
  queryKey: queryKeys.teams.list(),
  queryFn: ({ pageParam, signal }) => getTeams(pageParam, signal),
  initialPageParam: undefined as string | undefined,
  getNextPageParam: (page) => page.next_cursor ?? undefined,
});

/** The saved teams; `fetchNextPage` loads more. */
export function useTeams() {
  return useInfiniteQuery(teamsQueryOptions);
}
