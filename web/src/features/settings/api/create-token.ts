// POST /api/v1/me/tokens: a new personal API token. Its secret is in this answer only.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '@/lib/api/client';
import { queryKeys } from '@/lib/api/query-keys';
import type { Schemas } from '@/lib/api/types';

export type CreateTokenBody = Schemas['CreateTokenBody'];
export type CreatedToken = Schemas['CreatedToken'];

export function createToken(body: CreateTokenBody): Promise<CreatedToken> {
  return unwrap(api.POST('/api/v1/me/tokens', { body }));
}

export function useCreateToken() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: createToken,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: queryKeys.tokens.all }),
  });
}
