// POST /api/v1/runs/{id}/cancel: asks a run to stop (the stream then shows `cancelled`).
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '@/lib/api/client';
import { queryKeys } from '@/lib/api/query-keys';
import type { Run } from '@/lib/api/types';

export function cancelRun(runId: string): Promise<Run> {
  return unwrap(api.POST('/api/v1/runs/{id}/cancel', { params: { path: { id: runId } } }));
}

export function useCancelRun(runId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => cancelRun(runId),
    onSuccess: (run) => {
      queryClient.setQueryData(queryKeys.runs.detail(runId), run);
      void queryClient.invalidateQueries({ queryKey: queryKeys.runs.list() });
    },
  });
}
