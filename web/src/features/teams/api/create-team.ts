// POST /api/v1/teams: saves a new team from Cadre team JSON.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '@/lib/api/client';
import { queryKeys } from '@/lib/api/query-keys';
import type { Team } from '@/lib/api/types';
import type { TeamSpec } from '@/lib/team-spec';

export function createTeam(spec: TeamSpec): Promise<Team> {
  return unwrap(api.POST('/api/v1/teams', { body: spec }));
}

export function useCreateTeam() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: createTeam,
    onSuccess: (team) => {
      queryClient.setQueryData(queryKeys.teams.detail(team.id), team);
      return queryClient.invalidateQueries({ queryKey: queryKeys.teams.list() });
    },
  });
}
