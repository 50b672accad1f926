// The run's lifecycle as steps: Queued → Building → Executing → Completed | Failed |
// Cancelled, with "Waiting for input" while the run waits for a human. The current step
// has aria-current="step".
import type { RunStatus } from '@/lib/api/types';
import { cx } from '@/lib/cx';
import { formatDateTime } from '@/lib/format';
import type { StatusChange } from '../stores/run-view';

interface Step {
  id: string;
  label: string;
  state: 'done' | 'current' | 'todo' | 'skipped';
  tone?: 'success' | 'danger' | 'neutral' | 'warning';
  at?: string | undefined;
}

const ORDER: Record<RunStatus, number> = { queued: 0, building: 1, executing: 2, waiting_input: 2, completed: 3, failed: 3, cancelled: 3 };

export function buildSteps(status: RunStatus, timeline: readonly StatusChange[], buildOnly = false): Step[] {
  const reached = (s: RunStatus) => timeline.find((change) => change.status === s)?.at;
  const position = ORDER[status];
  const stateOf = (index: number): Step['state'] => (index < position ? 'done' : index === position ? 'current' : 'todo');
  const terminalLabels: Partial<Record<RunStatus, [string, Step['tone']]>> = {
    completed: ['Completed', 'success'],
    failed: ['Failed', 'danger'],
    cancelled: ['Cancelled', 'neutral'],
  };
  const [endLabel, endTone] = terminalLabels[status] ?? ['Completed', undefined];
  const executingSkipped = buildOnly || (position === 3 && !reached('executing') && status !== 'completed');
  const steps: Step[] = [
    { id: 'queued', label: 'Queued', state: position === 0 ? 'current' : 'done', at: undefined },
    { id: 'building', label: 'Building', state: stateOf(1), at: reached('building') },
    {
      id: 'executing',
      label: status === 'waiting_input' ? 'Waiting for input' : 'Executing',
      state: executingSkipped && position === 3 ? 'skipped' : stateOf(2),
      tone: status === 'waiting_input' ? 'warning' : undefined,
      at: reached('executing'),
    },
    { id: 'end', label: endLabel, state: position === 3 ? 'current' : 'todo', tone: endTone, at: position === 3 ? reached(status) : undefined },
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
