// PUT /api/v1/me/providers/{provider}: stores (or replaces) a key. The answer carries only
// its mask. Runs may now use another provider or model: the model catalogue refreshes.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '@/lib/api/client';
import { queryKeys } from '@/lib/api/query-keys';
import type { Provider, Schemas } from '@/lib/api/types';
import type { ProviderId } from './get-providers';

export type PutProviderBody = Schemas['PutProviderBody'];

export function putProvider({ provider, body }: { provider: ProviderId; body: PutProviderBody }): Promise<Provider> {
  return unwrap(api.PUT('/api/v1/me/providers/{provider}', { params: { path: { provider } }, body }));
}

export function usePutProvider() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: putProvider,
    onSuccess: (saved) => {
      queryClient.setQueryData<Provider[]>(queryKeys.providers.all, (list) => [
        ...(list ?? []).filter((p) => p.provider !== saved.provider),
        saved,
      ]);
      return Promise.all([
        queryClient.invalidateQueries({ queryKey: queryKeys.providers.all }),
        queryClient.invalidateQueries({ queryKey: queryKeys.models }),
      ]);
    },
  });
}
