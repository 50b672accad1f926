// PUT /api/v1/teams/{id}: replaces a team (its name follows spec.name).
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '@/lib/api/client';
import { queryKeys } from '@/lib/api/query-keys';
import type { Team } from '@/lib/api/types';
import type { TeamSpec } from '@/lib/team-spec';

export function updateTeam({ id, spec }: { id: string; spec: TeamSpec }): Promise<Team> {
  return unwrap(api.PUT('/api/v1/teams/{id}', { params: { path: { id } }, body: spec }));
}

export function useUpdateTeam() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: updateTeam,
    onSuccess: (team) => {
      queryClient.setQueryData(queryKeys.teams.detail(team.id), team);
      return queryClient.invalidateQueries({ queryKey: queryKeys.teams.list() });
    },
  });
}
