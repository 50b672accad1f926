// /history: the user's runs, newest first. A status filter (kept in the URL as
// `?status=`), cursor pages ("Load more"), delete with confirmation, and a live refresh
// while a listed run is still going. Below 40rem the table reads as stacked cards.
import { useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import {
  Button,
  ConfirmDialog,
  EmptyState,
  ErrorMessage,
  PageHeader,
  PageSpinner,
  Select,
  StatusBadge,
  buttonClassName,
} from '@/components/ui';
import type { Run, RunStatus } from '@/lib/api/types';
import { formatCost, formatDateTime, formatElapsed, formatRelativeTime, formatTokens } from '@/lib/format';
import { RUN_STATUSES, isRunStatus, runStatusLabel } from '@/lib/run-status';
import { useDeleteRun } from '../api/delete-run';
import { useRuns } from '../api/get-runs';

const STATUS_OPTIONS = [
  { value: '', label: 'All statuses' },
  ...RUN_STATUSES.map((status) => ({ value: status, label: runStatusLabel(status) })),
];

function parseStatus(value: string | null): RunStatus | undefined {
  return isRunStatus(value) ? value : undefined;
}

function RunStarted({ run }: { run: Run }) {
  const at = run.started_at ?? run.created_at;
  return (
    <time dateTime={at} title={formatDateTime(at)}>
      {formatRelativeTime(at)}
    </time>
  );
}

function runDuration(run: Run): string {
  if (!run.started_at) return '—';
  return formatElapsed(run.started_at, run.finished_at ?? Date.now());
}

function RunRow({ run, onDelete }: { run: Run; onDelete: (run: Run) => void }) {
  const tokens = run.usage.prompt_tokens + run.usage.completion_tokens;
  return (
    <tr>
      <th scope="row" className="history-table__task" data-label="Task">
        <Link to={`/runs/${run.id}`} className="history-table__link">
          {run.task || 'Untitled run'}
        </Link>
      </th>
      <td data-label="Status">
        <StatusBadge status={run.status} />
      </td>
      <td data-label="Started">
        <RunStarted run={run} />
      </td>
      <td data-label="Duration" className="num">
        {runDuration(run)}
      </td>
      <td data-label="Tokens" className="num">
        {formatTokens(tokens)}
      </td>
      <td data-label="Cost" className="num">
        {formatCost(run.usage.cost_usd)}
      </td>
      <td className="history-table__actions">
        <Button size="sm" variant="ghost" onClick={() => onDelete(run)} aria-label={`Delete run: ${run.task}`}>
          Delete
        </Button>
      </td>
    </tr>
  );
}

export function HistoryPage() {
  const [searchParams, setSearchParams] = useSearchParams();
  const status = parseStatus(searchParams.get('status'));
  const runs = useRuns({ status });
  const deleteRun = useDeleteRun();
  const [pendingDelete, setPendingDelete] = useState<Run | null>(null);

  const rows = runs.data?.pages.flatMap((page) => page.runs) ?? [];

  function changeStatus(value: string) {
    setSearchParams(
      (params) => {
        const next = new URLSearchParams(params);
        if (value) next.set('status', value);
        else next.delete('status');
        return next;
      },
      { replace: true },
    );
  }

  function confirmDelete() {
    if (!pendingDelete) return;
    deleteRun.mutate(pendingDelete.id, { onSettled: () => setPendingDelete(null) });
  }

  return (
    <>
      <PageHeader
        title="History"
        description="Your runs, newest first."
        actions={
          <Link to="/runs/new" className={buttonClassName('primary')}>
            New run
          </Link>
        }
      />
      <div className="toolbar">
        <Select
          label="Status"
          className="toolbar__field"
          value={status ?? ''}
          options={STATUS_OPTIONS}
          onChange={(event) => changeStatus(event.target.value)}
        />
        {runs.isFetching && !runs.isPending && <span className="muted toolbar__note">Refreshing…</span>}
      </div>

      <ErrorMessage error={deleteRun.error} title="Could not delete the run" />

      {runs.isPending ? (
        <PageSpinner label="Loading runs…" />
      ) : !runs.data ? (
        <ErrorMessage error={runs.error} title="Could not load your runs" onRetry={() => void runs.refetch()} />
      ) : rows.length === 0 ? (
        <EmptyState
          title={status ? `No ${runStatusLabel(status).toLowerCase()} runs.` : 'No runs yet.'}
          description={status ? 'Try another status, or start a new run.' : 'Describe a task and let a team of agents work on it.'}
          action={
            <Link to="/runs/new" className={buttonClassName('primary')}>
              Start a run
            </Link>
          }
        />
      ) : (
        <>
          <div className="table-wrap">
            <table className="data-table history-table">
              <caption className="visually-hidden">
                {status ? `Your ${runStatusLabel(status).toLowerCase()} runs` : 'Your runs'}, newest first
              </caption>
              <thead>
                <tr>
                  <th scope="col">Task</th>
                  <th scope="col">Status</th>
                  <th scope="col">Started</th>
                  <th scope="col" className="num">
                    Duration
                  </th>
                  <th scope="col" className="num">
                    Tokens
                  </th>
                  <th scope="col" className="num">
                    Cost
                  </th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((run) => (
                  <RunRow key={run.id} run={run} onDelete={setPendingDelete} />
                ))}
              </tbody>
            </table>
          </div>
          {runs.hasNextPage && (
            <div className="load-more">
              <Button onClick={() => void runs.fetchNextPage()} loading={runs.isFetchingNextPage}>
                Load more
              </Button>
            </div>
          )}
          {runs.isError && <ErrorMessage error={runs.error} title="Could not load more runs" />}
        </>
      )}

      <ConfirmDialog
        open={pendingDelete !== null}
        title="Delete this run?"
        confirmLabel="Delete run"
        tone="danger"
        confirming={deleteRun.isPending}
        onConfirm={confirmDelete}
        onCancel={() => setPendingDelete(null)}
      >
        <p>
          “{pendingDelete?.task}” and its transcript will be deleted for good. Runs that are executing must be cancelled
          first.
        </p>
      </ConfirmDialog>
    </>
  );
}
