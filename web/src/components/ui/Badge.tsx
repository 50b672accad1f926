// Badge: a short label with a colour tone. StatusBadge: a run's status, with the same
// words and colours everywhere (history list, run page, team runs).
import type { ReactNode } from 'react';
import type { RunStatus } from '@/lib/api/types';
import { cx } from '@/lib/cx';

export type BadgeTone = 'neutral' | 'info' | 'success' | 'warning' | 'danger';

export interface BadgeProps {
  tone?: BadgeTone;
  className?: string;
  children: ReactNode;
}

export function Badge({ tone = 'neutral', className, children }: BadgeProps) {
  return <span className={cx('badge', `badge--${tone}`, className)}>{children}</span>;
}

/** How each run status reads and looks; `live` statuses pulse. */
export const RUN_STATUS_DISPLAY: Record<RunStatus, { label: string; tone: BadgeTone; live: boolean }> = {
  queued: { label: 'Queued', tone: 'neutral', live: true },
  building: { label: 'Building team', tone: 'info', live: true },
  executing: { label: 'Running', tone: 'info', live: true },
  waiting_input: { label: 'Waiting for input', tone: 'warning', live: true },
  completed: { label: 'Completed', tone: 'success', live: false },
  failed: { label: 'Failed', tone: 'danger', live: false },
  cancelled: { label: 'Cancelled', tone: 'neutral', live: false },
};

export interface StatusBadgeProps {
  status: RunStatus;
  className?: string;
}

export function StatusBadge({ status, className }: StatusBadgeProps) {
  const display = RUN_STATUS_DISPLAY[status];
  return (
    <Badge tone={display.tone} className={cx('status-badge', className)}>
      {display.live && <span className="status-badge__dot" aria-hidden="true" />}
      {display.label}
    </Badge>
  );
}
