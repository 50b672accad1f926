// POST /api/v1/teams: saves a run's (possibly edited) team as a reusable team.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '@/lib/api/client';
import { queryKeys } from '@/lib/api/query-keys';
import type { Team } from '@/lib/api/types';
import type { TeamSpec } from '../types';

export function saveTeam(spec: TeamSpec): Promise<Team> {
  // The body is the team spec itself (Cadre team JSON).
  return unwrap(api.POST('/api/v1/teams', { body: spec as never }));
}

export function useSaveTeam() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: saveTeam,
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: queryKeys.teams.all }),
  });
}
