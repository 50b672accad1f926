// /teams/:teamId: one team. Its summary and actions (Run this team → /runs/new?team=<id>,
// Export AutoGen JSON, Delete), right after an import how the file was read, and the
// editor (Form / JSON tabs, Save = PUT).
import { useEffect, useRef, useState } from 'react';
import { Link, useBlocker, useNavigate, useParams } from 'react-router';
import { Button, ConfirmDialog, ErrorMessage, PageHeader, PageSpinner, buttonClassName } from '@/components/ui';
import { toApiError } from '@/lib/api/errors';
import { formatDateTime, formatRelativeTime } from '@/lib/format';
import { useDeleteTeam } from '../api/delete-team';
import { useExportTeam } from '../api/export-team';
import { useTeam } from '../api/get-team';
import { useUpdateTeam } from '../api/update-team';
import { ImportNotice } from './ImportNotice';
import { TeamEditor } from './TeamEditor';

export function TeamPage() {
  const { teamId = '' } = useParams();
  const navigate = useNavigate();
  const team = useTeam(teamId);
  const updateTeam = useUpdateTeam();
  const deleteTeam = useDeleteTeam();
  const exportTeam = useExportTeam();
  const [confirmDelete, setConfirmDelete] = useState(false);
  // Unsaved edits: leaving the page asks first (in-app navigation through the router,
  // reload/close through the browser's own prompt). Deleting the team skips the question.
  const [dirty, setDirty] = useState(false);
  const leaving = useRef(false);
  const blocker = useBlocker(
    ({ currentLocation, nextLocation }) => dirty && !leaving.current && currentLocation.pathname !== nextLocation.pathname,
  );
  useEffect(() => {
    if (!dirty) return;
    const warn = (event: BeforeUnloadEvent) => event.preventDefault();
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [dirty]);

  if (team.isPending) return <PageSpinner label="Loading the team…" />;
  if (team.isError) {
    const missing = toApiError(team.error).status === 404;
    return (
      <>
        <PageHeader title="Team" />
        <ErrorMessage
          error={team.error}
          title={missing ? 'This team does not exist (or is not yours).' : 'Could not load the team'}
          {...(missing ? {} : { onRetry: () => void team.refetch() })}
        />
        <p>
          <Link to="/teams">Back to teams</Link>
        </p>
      </>
    );
  }

  const data = team.data;
  const agents = data.spec.agents.length;

  return (
    <>
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/teams">Teams</Link>
        <span aria-hidden="true"> / </span>
        <span aria-current="page">{data.name}</span>
      </nav>
      <PageHeader
        title={data.name || 'Untitled team'}
        documentTitle={`${data.name} · Teams`}
        description={
          <>
            {agents} {agents === 1 ? 'agent' : 'agents'} · updated{' '}
            <time dateTime={data.updated_at} title={formatDateTime(data.updated_at)}>
              {formatRelativeTime(data.updated_at)}
            </time>
          </>
        }
        actions={
          <>
            <Link to={`/runs/new?team=${encodeURIComponent(data.id)}`} className={buttonClassName('primary')}>
              Run this team
            </Link>
            <Button onClick={() => exportTeam.mutate(data.id)} loading={exportTeam.isPending}>
              Export AutoGen JSON
            </Button>
            <Button variant="danger" onClick={() => setConfirmDelete(true)}>
              Delete
            </Button>
          </>
        }
      />
      <ImportNotice />
      <ErrorMessage error={exportTeam.error} title="Could not export the team" />

      <TeamEditor
        key={data.id}
        spec={data.spec}
        saving={updateTeam.isPending}
        saveError={updateTeam.error}
        onSave={async (spec) => (await updateTeam.mutateAsync({ id: data.id, spec })).spec}
        onDirtyChange={setDirty}
      />

      <ConfirmDialog
        open={blocker.state === 'blocked'}
        title="Leave without saving?"
        confirmLabel="Leave"
        cancelLabel="Stay"
        tone="danger"
        onConfirm={() => blocker.proceed?.()}
        onCancel={() => blocker.reset?.()}
      >
        <p>Your changes to this team are not saved yet.</p>
      </ConfirmDialog>

      <ConfirmDialog
        open={confirmDelete}
        title={`Delete “${data.name}”?`}
        confirmLabel="Delete team"
        tone="danger"
        confirming={deleteTeam.isPending}
        onConfirm={() =>
          deleteTeam.mutate(data.id, {
            onSuccess: () => {
              leaving.current = true;
              void navigate('/teams', { replace: true });
            },
            onSettled: () => setConfirmDelete(false),
          })
        }
        onCancel={() => setConfirmDelete(false)}
      >
        <p>The team is deleted for good. Runs that used it keep their own copy.</p>
        <ErrorMessage error={deleteTeam.error} />
      </ConfirmDialog>
    </>
  );
}
