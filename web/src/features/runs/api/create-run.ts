// POST /api/v1/runs: starts a run (or only builds its team with `execute: false`).
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '@/lib/api/client';
import { queryKeys } from '@/lib/api/query-keys';
import type { CreateRunBody, Run } from '@/lib/api/types';

export function createRun(body: CreateRunBody): Promise<Run> {
  return unwrap(api.POST('/api/v1/runs', { body }));
}

export function useCreateRun() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: createRun,
    onSuccess: (run) => {
      queryClient.setQueryData(queryKeys.runs.detail(run.id), run);
      void queryClient.invalidateQueries({ queryKey: queryKeys.runs.list() });
    },
  });
}
