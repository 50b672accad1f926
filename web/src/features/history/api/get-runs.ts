// GET /api/v1/runs: the caller's runs, newest first, one cursor page at a time, optionally
// of one status. The history page loads further pages on demand ("Load more").
import { infiniteQueryOptions, useInfiniteQuery } from '@tanstack/react-query';
import { api, unwrap } from '@/lib/api/client';
import { queryKeys } from '@/lib/api/query-keys';
import type { RunList, RunStatus } from '@/lib/api/types';
import { isTerminalStatus } from '@/lib/run-status';

/** Runs per page. */
export const RUNS_PAGE_SIZE = 25;
/** How often the list refreshes while a listed run is still going. */
export const LIVE_REFRESH_MS = 3_000;

export interface RunFilters {
  status?: RunStatus | undefined;
}

export function getRuns(filters: RunFilters, cursor?: string, signal?: AbortSignal): Promise<RunList> {
  return unwrap(
    api.GET('/api/v1/runs', {
      params: { query: { limit: RUNS_PAGE_SIZE, ...(filters.status ? { status: filters.status } : {}), ...(cursor ? { cursor } : {}) } },
      signal,
    }),
  );
}

export function runsQueryOptions(filters: RunFilters) {
  return infiniteQueryOptions({
    queryKey: queryKeys.runs.list({ status: filters.status ?? null }),
    queryFn: ({ pageParam, signal }) => getRuns(filters, pageParam, signal),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (page) => page.next_cursor ?? undefined,
    // Keep the list current while any listed run is still queued or running.
    refetchInterval: (query) =>
      query.state.data?.pages.some((page) => page.runs.some((run) => !isTerminalStatus(run.status))) ? LIVE_REFRESH_MS : false,
  });
}

/** The run history for a status filter; `fetchNextPage` loads the next cursor page. */
export function useRuns(filters: RunFilters) {
  return useInfiniteQuery(runsQueryOptions(filters));
}
