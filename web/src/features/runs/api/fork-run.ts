// POST /api/v1/runs/{id}/fork: a new run that keeps this run's conversation up to and
// including event `after_seq` (optionally with that message's text replaced by `edit`)
// and continues from there. 422 names the field (`after_seq`, `edit`); 429 is the rate
// limit or a quota.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '@/lib/api/client';
import { queryKeys } from '@/lib/api/query-keys';
import type { ForkRunBody, Run } from '@/lib/api/types';

export function forkRun(runId: string, body: ForkRunBody): Promise<Run> {
  return unwrap(api.POST('/api/v1/runs/{id}/fork', { params: { path: { id: runId } }, body }));
}

export function useForkRun(runId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: ForkRunBody) => forkRun(runId, body),
    onSuccess: (run) => {
      queryClient.setQueryData(queryKeys.runs.detail(run.id), run);
      void queryClient.invalidateQueries({ queryKey: queryKeys.runs.list() });
    },
  });
}
