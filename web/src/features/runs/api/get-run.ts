// GET /api/v1/runs/{id}: one run (status, team, usage totals, resume point).
import { queryOptions, useQuery } from '@tanstack/react-query';
import { api, unwrap } from '@/lib/api/client';
import { queryKeys } from '@/lib/api/query-keys';
import type { Run } from '@/lib/api/types';

export function getRun(runId: string): Promise<Run> {
  return unwrap(api.GET('/api/v1/runs/{id}', { params: { path: { id: runId } } }));
}

export function runQueryOptions(runId: string) {
  return queryOptions({ queryKey: queryKeys.runs.detail(runId), queryFn: () => getRun(runId) });
}

export function useRun(runId: string) {
  return useQuery(runQueryOptions(runId));
}
