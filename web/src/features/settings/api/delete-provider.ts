// DELETE /api/v1/me/providers/{provider}: forgets the caller's key for a provider.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '@/lib/api/client';
import { queryKeys } from '@/lib/api/query-keys';
import type { Provider } from '@/lib/api/types';
import type { ProviderId } from './get-providers';

export function deleteProvider(provider: ProviderId): Promise<unknown> {
  return unwrap(api.DELETE('/api/v1/me/providers/{provider}', { params: { path: { provider } } }));
}

export function useDeleteProvider() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: deleteProvider,
    onSuccess: (_data, provider) => {
      queryClient.setQueryData<Provider[]>(queryKeys.providers.all, (list) => list?.filter((p) => p.provider !== provider));
      return Promise.all([
        queryClient.invalidateQueries({ queryKey: queryKeys.providers.all }),
        queryClient.invalidateQueries({ queryKey: queryKeys.models }),
      ]);
    },
  });
}
