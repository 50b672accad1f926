// POST /api/v1/runs/{id}/input: a human's answer while the run is `waiting_input`.
import { useMutation } from '@tanstack/react-query';
import { api, unwrap } from '@/lib/api/client';

export function sendRunInput(runId: string, content: string) {
  return unwrap(api.POST('/api/v1/runs/{id}/input', { params: { path: { id: runId } }, body: { content } }));
}

export function useSendRunInput(runId: string) {
  return useMutation({ mutationFn: (content: string) => sendRunInput(runId, content) });
}
