// POST /api/v1/teams/import: saves a team read from a file: AutoGen AgentBuilder `save()`
// JSON, an AutoGen AgentChat / AutoGen Studio team component or gallery, AutoGen Studio
// 0.4's format, or Cadre team JSON. The answer is the team plus the format it was read as
// and notes (parts kept but not used, behaviour that differs). 422 names what is wrong.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '@/lib/api/client';
import { queryKeys } from '@/lib/api/query-keys';
import type { ImportedTeam, Team } from '@/lib/api/types';

export function importTeam(file: Record<string, unknown>): Promise<ImportedTeam> {
  return unwrap(api.POST('/api/v1/teams/import', { body: file }));
}

export function useImportTeam() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: importTeam,
    onSuccess: (imported) => {
      const { format: _format, notes: _notes, ...team } = imported;
      queryClient.setQueryData<Team>(queryKeys.teams.detail(team.id), team);
      return queryClient.invalidateQueries({ queryKey: queryKeys.teams.list() });
    },
  });
}
