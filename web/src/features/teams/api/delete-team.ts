// DELETE /api/v1/teams/{id}. Runs that used the team keep their copy.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '@/lib/api/client';
import { queryKeys } from '@/lib/api/query-keys';

export function deleteTeam(id: string): Promise<unknown> {
  return unwrap(api.DELETE('/api/v1/teams/{id}', { params: { path: { id } } }));
}

export function useDeleteTeam() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: deleteTeam,
    onSuccess: (_data, id) => {
      queryClient.removeQueries({ queryKey: queryKeys.teams.detail(id) });
      return queryClient.invalidateQueries({ queryKey: queryKeys.teams.list() });
    },
  });
}
