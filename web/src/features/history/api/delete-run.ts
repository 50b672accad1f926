// DELETE /api/v1/runs/{id}: removes a run and its events (409 while a worker executes it).
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '@/lib/api/client';
import { queryKeys } from '@/lib/api/query-keys';

export function deleteRun(id: string): Promise<unknown> {
  return unwrap(api.DELETE('/api/v1/runs/{id}', { params: { path: { id } } }));
}

/** Deletes a run, then refreshes every run list and forgets the run's own queries. */
export function useDeleteRun() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: deleteRun,
    onSuccess: (_data, id) => {
      queryClient.removeQueries({ queryKey: queryKeys.runs.detail(id) });
      return queryClient.invalidateQueries({ queryKey: queryKeys.runs.all });
    },
  });
}
