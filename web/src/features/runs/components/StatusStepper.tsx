// The run's lifecycle as steps: Queued → Building → Executing → Completed | Failed |
// Cancelled, with "Waiting for input" while the run waits for a human. The current step
// has aria-current="step".
import { cx } from '@/lib/cx';
import { formatDateTime } from '@/lib/format';
import { RUN_STATUS_INFO, type RunStage, type RunStatus, type RunStatusTone } from '@/lib/run-status';
import type { StatusChange } from '../stores/run-view';

interface Step {
  id: string;
  label: string;
  state: 'done' | 'current' | 'todo' | 'skipped';
  tone?: RunStatusTone | undefined;
  at?: string | undefined;
}

/** The steps' order: a status's step is the one of its stage. */
const STAGES: readonly RunStage[] = ['queued', 'building', 'executing', 'end'];

export function buildSteps(status: RunStatus, timeline: readonly StatusChange[], buildOnly = false): Step[] {
  const reached = (s: RunStatus) => timeline.find((change) => change.status === s)?.at;
  const info = RUN_STATUS_INFO[status];
  const position = STAGES.indexOf(info.stage);
  const stateOf = (index: number): Step['state'] => (index < position ? 'done' : index === position ? 'current' : 'todo');
  const ended = info.stage === 'end';
  // The last step names the outcome once there is one.
  const end: Pick<Step, 'label' | 'tone'> = ended ? info : { label: 'Completed', tone: undefined };
  const executingSkipped = buildOnly || (ended && !reached('executing') && status !== 'completed');
  const steps: Step[] = [
    { id: 'queued', label: 'Queued', state: position === 0 ? 'current' : 'done', at: undefined },
    { id: 'building', label: 'Building', state: stateOf(1), at: reached('building') },
    {
      id: 'executing',
      label: status === 'waiting_input' ? info.label : 'Executing',
      state: executingSkipped && ended ? 'skipped' : stateOf(2),
      tone: status === 'waiting_input' ? info.tone : undefined,
      at: reached('executing'),
    },
    { id: 'end', label: end.label, state: ended ? 'current' : 'todo', tone: end.tone, at: ended ? reached(status) : undefined },
  ];
  return steps;
}

function markerOf(step: Step, index: number): string {
  if (step.state === 'done') return '✓';
  if (step.state === 'skipped') return '–';
  if (step.id === 'end' && step.state === 'current') return step.tone === 'success' ? '✓' : step.tone === 'danger' ? '✕' : '■';
  return String(index + 1);
}

export interface StatusStepperProps {
  status: RunStatus;
  timeline: readonly StatusChange[];
  buildOnly?: boolean;
}

export function StatusStepper({ status, timeline, buildOnly = false }: StatusStepperProps) {
  const steps = buildSteps(status, timeline, buildOnly);
  return (
    <ol className="stepper" aria-label="Run progress">
      {steps.map((step, index) => (
        <li
          key={step.id}
          className={cx('stepper__step', `stepper__step--${step.state}`, step.tone && `stepper__step--${step.tone}`)}
          aria-current={step.state === 'current' ? 'step' : undefined}
        >
          <span className="stepper__marker" aria-hidden="true">
            {markerOf(step, index)}
          </span>
          <span className="stepper__label">
            {step.label}
            {step.state === 'skipped' && <span className="visually-hidden"> (skipped)</span>}
            {step.state === 'done' && <span className="visually-hidden"> (done)</span>}
          </span>
          {step.at && (
            <time className="stepper__time muted" dateTime={step.at}>
              {formatDateTime(step.at)}
            </time>
          )}
        </li>
      ))}
    </ol>
  );
}
