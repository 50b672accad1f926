// /teams: the saved teams (name, agents, speaker selection, last update), "New team"
// (one agent, default settings, then straight to its editor), the import (AutoGen
// AgentBuilder, AgentChat / AutoGen Studio, Cadre JSON) and the starter gallery.
import { Link, useNavigate } from 'react-router';
import { Button, EmptyState, ErrorMessage, PageHeader, PageSpinner } from '@/components/ui';
import type { Team } from '@/lib/api/types';
import { formatDateTime, formatRelativeTime } from '@/lib/format';
import { DEFAULT_SPEAKER_METHOD, SPEAKER_METHOD_LABELS, isSpeakerMethod } from '@/lib/speaker-selection';
import { useCreateTeam } from '../api/create-team';
import { useTeams } from '../api/get-teams';
import { emptyTeamSpec } from '@/lib/team-spec';
import { ImportTeamCard } from './ImportTeamCard';
import { StarterGallery } from './StarterGallery';

function agentCount(team: Team): number {
  const agents = (team.spec as { agents?: unknown }).agents;
  return Array.isArray(agents) ? agents.length : 0;
}

function speakerLabel(team: Team): string {
  const method = (team.spec as { speaker_selection?: { method?: unknown } }).speaker_selection?.method;
  return SPEAKER_METHOD_LABELS[isSpeakerMethod(method) ? method : DEFAULT_SPEAKER_METHOD];
}

function TeamsTable({ teams }: { teams: Team[] }) {
  return (
    <div className="table-wrap">
      <table className="data-table teams-table">
        <caption className="visually-hidden">Your teams, most recent first</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col" className="num">
              Agents
            </th>
            <th scope="col">Speaker selection</th>
            <th scope="col">Updated</th>
          </tr>
        </thead>
        <tbody>
          {teams.map((team) => {
            const agents = agentCount(team);
            return (
              <tr key={team.id}>
                <th scope="row" data-label="Name">
                  <Link to={`/teams/${team.id}`}>{team.name || 'Untitled team'}</Link>
                </th>
                <td data-label="Agents" className="num">
                  {agents}
                </td>
                <td data-label="Speaker selection">{speakerLabel(team)}</td>
                <td data-label="Updated">
                  <time dateTime={team.updated_at} title={formatDateTime(team.updated_at)}>
                    {formatRelativeTime(team.updated_at)}
                  </time>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

export function TeamsPage() {
  const navigate = useNavigate();
  const teams = useTeams();
  const createTeam = useCreateTeam();
  const rows = teams.data?.pages.flatMap((page) => page.teams) ?? [];

  function onNewTeam() {
    createTeam.mutate(emptyTeamSpec(), { onSuccess: (team) => void navigate(`/teams/${team.id}`) });
  }

  const newTeamButton = (
    <Button variant="primary" onClick={onNewTeam} loading={createTeam.isPending}>
      New team
    </Button>
  );

  return (
    <>
      <PageHeader title="Teams" description="Reusable teams of agents: edit them, run them, share them as AutoGen JSON." actions={newTeamButton} />
      <ErrorMessage error={createTeam.error} title="Could not create the team" />
      <div className="teams-layout">
        <section aria-labelledby="saved-teams-heading" className="teams-layout__list">
          <h2 id="saved-teams-heading" className="section-title">
            Saved teams
          </h2>
          {teams.isPending ? (
            <PageSpinner label="Loading teams…" />
          ) : !teams.data ? (
            <ErrorMessage error={teams.error} title="Could not load your teams" onRetry={() => void teams.refetch()} />
          ) : rows.length === 0 ? (
            <EmptyState
              title="No saved teams yet."
              description="Create one from scratch, save a starter team from the gallery below, import an AutoGen or Cadre file, or save the team a run built."
            />
          ) : (
            <>
              <TeamsTable teams={rows} />
              {teams.hasNextPage && (
                <div className="load-more">
                  <Button onClick={() => void teams.fetchNextPage()} loading={teams.isFetchingNextPage}>
                    Load more
                  </Button>
                </div>
              )}
            </>
          )}
        </section>
        <ImportTeamCard />
      </div>
      <StarterGallery />
    </>
  );
}
