// DELETE /api/v1/me/tokens/{id}: revokes a personal API token at once.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '@/lib/api/client';
import { queryKeys } from '@/lib/api/query-keys';

export function revokeToken(id: string): Promise<unknown> {
  return unwrap(api.DELETE('/api/v1/me/tokens/{id}', { params: { path: { id } } }));
}

export function useRevokeToken() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: revokeToken,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: queryKeys.tokens.all }),
  });
}
