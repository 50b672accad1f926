// POST /api/v1/teams/import: saves a team converted from an AutoGen AgentBuilder save
// file (`agent_configs`, `coding`, `default_llm_config`, …). 422 names what is wrong.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '@/lib/api/client';
import { queryKeys } from '@/lib/api/query-keys';
import type { Team } from '@/lib/api/types';

export function importTeam(file: Record<string, unknown>): Promise<Team> {
  return unwrap(api.POST('/api/v1/teams/import', { body: file }));
}

export function useImportTeam() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: importTeam,
    onSuccess: (team) => {
      queryClient.setQueryData(queryKeys.teams.detail(team.id), team);
      return queryClient.invalidateQueries({ queryKey: queryKeys.teams.list() });
    },
  });
}
