// /runs/:runId — a run, live: status stepper, usage counters, the team, the streamed
// transcript with code results and fork actions (fork from a message, edit & rerun),
// cancel, human input, transcript downloads, for a forked run the run it came from and,
// for a build-only run, the built team's editor to save the team or run it.
import { useEffect, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useParams } from 'react-router';
import { Button, Card, ConfirmDialog, ErrorMessage, PageHeader, PageSpinner, StatusBadge } from '@/components/ui';
import { queryKeys } from '@/lib/api/query-keys';
import type { ForkOrigin, Run, RunStatus } from '@/lib/api/types';
import { formatCost, formatElapsed, formatTokens } from '@/lib/format';
import { isTerminalStatus } from '@/lib/run-status';
import { useCancelRun } from '../api/cancel-run';
import { useCreateRun } from '../api/create-run';
import { useDownloadTranscript } from '../api/download-transcript';
import { useRun } from '../api/get-run';
import { useRunStream } from '../hooks/use-run-stream';
import { isBuildOnly, type RunViewState } from '../stores/run-view';
import type { TeamSpec } from '../types';
import { BuiltTeamEditor } from './BuiltTeamEditor';
import { ConnectionIndicator } from './ConnectionIndicator';
import { InputBox } from './InputBox';
import { Markdown } from './Markdown';
import { SaveTeamButton } from './SaveTeamButton';
import { StatusStepper } from './StatusStepper';
import { TeamCards } from './TeamCards';
import { Transcript } from './Transcript';

function shortTask(task: string): string {
  const line = task.trim().split('\n')[0] ?? '';
  return line.length > 90 ? `${line.slice(0, 87)}…` : line || 'Run';
}

/** Re-renders every second while `active`. */
function useTicker(active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return undefined;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return now;
}

function UsageCounters({ run, view, status }: { run: Run; view: RunViewState; status: RunStatus }) {
  const terminal = isTerminalStatus(status);
  const now = useTicker(!terminal);
  const end = view.finished?.at ?? run.finished_at ?? (terminal ? undefined : now);
  const usage = view.usage.calls > 0 || view.finished ? view.usage : {
    promptTokens: run.usage.prompt_tokens,
    completionTokens: run.usage.completion_tokens,
    costUsd: run.usage.cost_usd,
    calls: run.usage.calls,
  };
  return (
    <dl className="run-counters" aria-label="Usage">
      <div>
        <dt>Prompt tokens</dt>
        <dd>{formatTokens(usage.promptTokens)}</dd>
      </div>
      <div>
        <dt>Completion tokens</dt>
        <dd>{formatTokens(usage.completionTokens)}</dd>
      </div>
      <div>
        <dt>Cost</dt>
        <dd>{formatCost(usage.costUsd)}</dd>
      </div>
      <div>
        <dt>Calls</dt>
        <dd>{usage.calls}</dd>
      </div>
      <div>
        <dt>Elapsed</dt>
        <dd>{end === undefined ? '—' : formatElapsed(run.created_at, end)}</dd>
      </div>
    </dl>
  );
}

function BuiltTeamReview({ run, team }: { run: Run; team: TeamSpec }) {
  const [draft, setDraft] = useState<TeamSpec>(team);
  const createRun = useCreateRun();
  const navigate = useNavigate();
  async function runTeam() {
    try {
      // The same task and settings as the build, with the reviewed team.
      const { model, max_round, budget_usd, speaker_selection } = run.settings;
      const next = await createRun.mutateAsync({
        task: run.task,
        team: draft,
        model: model ?? undefined,
        max_round: max_round ?? undefined,
        budget_usd: budget_usd ?? undefined,
        speaker_selection: speaker_selection ?? undefined,
      });
      await navigate(`/runs/${next.id}`);
    } catch {
      // shown below
    }
  }
  return (
    <Card title="Review the team" className="team-review">
      <p className="muted">The team was built but not run. Adjust the agents, then save the team or run it on this task.</p>
      <BuiltTeamEditor team={draft} onChange={setDraft} />
      <div className="team-review__actions">
        <SaveTeamButton team={draft} />
        <Button variant="primary" onClick={() => void runTeam()} loading={createRun.isPending}>
          Run this team
        </Button>
      </div>
      <ErrorMessage error={createRun.error} title="Could not start the run" />
    </Card>
  );
}

/** Where a forked run came from: the parent run and the last event the fork kept. */
function ForkLineage({ origin }: { origin: ForkOrigin }) {
  return (
    <p className="run-lineage">
      <span aria-hidden="true" className="run-lineage__icon">
        ⑂{' '}
      </span>
      Forked from{' '}
      <Link to={`/runs/${origin.run_id}`} title={`Run ${origin.run_id}`}>
        run {origin.run_id.slice(0, 8)}
      </Link>{' '}
      after event #{origin.after_seq}
      {origin.edited && ' · message edited'}
    </p>
  );
}

function Downloads({ runId }: { runId: string }) {
  const download = useDownloadTranscript(runId);
  return (
    <div className="run-downloads">
      <Button size="sm" onClick={() => download.mutate('md')} loading={download.isPending && download.variables === 'md'}>
        Download Markdown
      </Button>
      <Button size="sm" onClick={() => download.mutate('json')} loading={download.isPending && download.variables === 'json'}>
        Download JSON
      </Button>
      <ErrorMessage error={download.error} title="Could not download the transcript" />
    </div>
  );
}

function RunView({ run }: { run: Run }) {
  const { view, connection } = useRunStream(run.id);
  const [confirmCancel, setConfirmCancel] = useState(false);
  const cancel = useCancelRun(run.id);
  const status: RunStatus = view.status ?? run.status;
  const terminal = isTerminalStatus(status) || view.finished !== null;
  const team = view.team ?? run.team ?? null;
  const buildOnly = isBuildOnly(view) || !run.settings.execute;
  const cancelling = !terminal && (cancel.isSuccess || run.cancel_requested);
  const queryClient = useQueryClient();
  const finishedSeq = view.finished?.seq;
  useEffect(() => {
    // The run's final fields (finished_at, error, usage) and the history list changed.
    if (finishedSeq !== undefined) void queryClient.invalidateQueries({ queryKey: queryKeys.runs.all });
  }, [finishedSeq, queryClient]);

  return (
    <>
      <PageHeader
        title={shortTask(run.task)}
        documentTitle={`Run: ${shortTask(run.task)}`}
        description={<StatusBadge status={status} />}
        actions={
          !terminal && (
            <Button variant="danger" onClick={() => setConfirmCancel(true)} disabled={cancelling}>
              {cancelling ? 'Cancelling…' : 'Cancel run'}
            </Button>
          )
        }
      />
      <div className="run-page">
        {run.forked_from && <ForkLineage origin={run.forked_from} />}
        <div className="run-page__top">
          <StatusStepper status={status} timeline={view.timeline} buildOnly={buildOnly} />
          <ConnectionIndicator status={connection} />
        </div>
        <UsageCounters run={run} view={view} status={status} />
        {run.task.trim() !== shortTask(run.task) && (
          <details className="run-task">
            <summary>Full task</summary>
            <p className="run-task__text">{run.task}</p>
          </details>
        )}

        {view.pendingInput && status === 'waiting_input' && <InputBox key={view.pendingInput.seq} runId={run.id} request={view.pendingInput} />}

        {view.finished && (
          <Card title="Summary" className={`run-summary run-summary--${view.finished.status}`}>
            <p>
              <StatusBadge status={view.finished.status} />
              {view.finished.reason && <span className="muted"> · {view.finished.reason.replace(/_/g, ' ')}</span>}
            </p>
            {view.finished.summary && <Markdown>{view.finished.summary}</Markdown>}
            {run.error && view.finished.status === 'failed' && <ErrorMessage error={new Error(run.error.message)} />}
          </Card>
        )}

        {buildOnly && team ? (
          <BuiltTeamReview run={run} team={team} />
        ) : (
          <Card title="Team" actions={team && <SaveTeamButton team={team} />}>
            {team ? <TeamCards team={team} /> : <p className="muted">{terminal ? 'No team was built.' : 'The team is being built…'}</p>}
          </Card>
        )}

        {!buildOnly && (
          <Card title="Transcript" actions={<Downloads runId={run.id} />}>
            <Transcript
              items={view.items}
              code={view.code}
              runId={run.id}
              originRunId={run.forked_from?.run_id}
              forkable
              emptyText={terminal ? 'No messages.' : 'Waiting for the first message…'}
            />
          </Card>
        )}
        {buildOnly && (
          <div className="run-downloads-row">
            <Downloads runId={run.id} />
          </div>
        )}
      </div>
      <ConfirmDialog
        open={confirmCancel}
        title="Cancel this run?"
        confirmLabel="Cancel run"
        cancelLabel="Keep running"
        tone="danger"
        confirming={cancel.isPending}
        onCancel={() => setConfirmCancel(false)}
        onConfirm={() => cancel.mutate(undefined, { onSuccess: () => setConfirmCancel(false) })}
      >
        <p>The agents stop after the current step. What happened so far stays in the transcript.</p>
        {cancel.error && <ErrorMessage error={cancel.error} />}
      </ConfirmDialog>
    </>
  );
}

export function RunPage() {
  const { runId = '' } = useParams<{ runId: string }>();
  const run = useRun(runId);
  if (run.isPending) return <PageSpinner label="Loading the run…" />;
  if (run.error) {
    return (
      <>
        <PageHeader title="Run" />
        <ErrorMessage error={run.error} title="Could not load this run" onRetry={() => void run.refetch()} />
      </>
    );
  }
  return <RunView key={run.data.id} run={run.data} />;
}
