// The run statuses, in one place: their lifecycle order, how each one reads and looks,
// and which ones are final. Every list of statuses in the UI (history filter, stepper,
// badges, the stream) derives from RUN_STATUS_INFO, which is keyed by the generated
// `RunStatus`: a status the server adds or drops fails the typecheck here.
import type { RunStatus } from '@/lib/api/types';

export type { RunStatus };

/** A status's colour tone (the badge tones). */
export type RunStatusTone = 'neutral' | 'info' | 'success' | 'warning' | 'danger';

/** Where a status sits in the lifecycle: queued → building → executing → end. */
export type RunStage = 'queued' | 'building' | 'executing' | 'end';

export interface RunStatusInfo {
  /** How the status reads (badges, the history filter). */
  label: string;
  tone: RunStatusTone;
  stage: RunStage;
  /** A run never leaves a terminal status. */
  terminal: boolean;
}

/** Every run status, in lifecycle order. */
export const RUN_STATUS_INFO: Readonly<Record<RunStatus, RunStatusInfo>> = {
  queued: { label: 'Queued', tone: 'neutral', stage: 'queued', terminal: false },
  building: { label: 'Building team', tone: 'info', stage: 'building', terminal: false },
  executing: { label: 'Running', tone: 'info', stage: 'executing', terminal: false },
  waiting_input: { label: 'Waiting for input', tone: 'warning', stage: 'executing', terminal: false },
  completed: { label: 'Completed', tone: 'success', stage: 'end', terminal: true },
  failed: { label: 'Failed', tone: 'danger', stage: 'end', terminal: true },
  cancelled: { label: 'Cancelled', tone: 'neutral', stage: 'end', terminal: true },
};

/** Every run status, in lifecycle order (a non-empty tuple). */
export const RUN_STATUSES = Object.keys(RUN_STATUS_INFO) as [RunStatus, ...RunStatus[]];

/** Statuses a run never leaves. */
export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = RUN_STATUSES.filter((status) => RUN_STATUS_INFO[status].terminal);

/** Whether a value (e.g. a `?status=` parameter) is a run status. */
export function isRunStatus(value: unknown): value is RunStatus {
  return typeof value === 'string' && Object.hasOwn(RUN_STATUS_INFO, value);
}

/** Whether a run has ended. */
export function isTerminalStatus(status: RunStatus): boolean {
  return RUN_STATUS_INFO[status].terminal;
}

/** How a status reads: "Building team", "Waiting for input", … */
export function runStatusLabel(status: RunStatus): string {
  return RUN_STATUS_INFO[status].label;
}
