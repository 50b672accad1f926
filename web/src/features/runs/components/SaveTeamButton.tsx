// "Save as team": POST /api/v1/teams with the team, then a link to the saved team.
import { Link } from 'react-router';
import { Button, ErrorMessage } from '@/components/ui';
import { useSaveTeam } from '../api/save-team';
import type { TeamSpec } from '../types';

export function SaveTeamButton({ team }: { team: TeamSpec }) {
  const save = useSaveTeam();
  return (
    <div className="save-team">
      <Button onClick={() => save.mutate(team)} loading={save.isPending}>
        Save as team
      </Button>
      {save.data && (
        <p role="status" className="save-team__done">
          Saved. <Link to={`/teams/${save.data.id}`}>Open team “{save.data.name || 'Untitled'}”</Link>
        </p>
      )}
      <ErrorMessage error={save.error} title="Could not save the team" />
    </div>
  );
}
