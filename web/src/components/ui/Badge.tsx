// Badge: a short label with a colour tone. StatusBadge: a run's status, with the same
// words and colours everywhere (history list, run page, team runs).
import type { ReactNode } from 'react';
import { cx } from '@/lib/cx';
import { RUN_STATUS_INFO, type RunStatus } from '@/lib/run-status';

export type BadgeTone = 'neutral' | 'info' | 'success' | 'warning' | 'danger';

export interface BadgeProps {
  tone?: BadgeTone;
  className?: string;
  children: ReactNode;
}

export function Badge({ tone = 'neutral', className, children }: BadgeProps) {
  return <span className={cx('badge', `badge--${tone}`, className)}>{children}</span>;
}

export interface StatusBadgeProps {
  status: RunStatus;
  className?: string;
}

/** A run's status (words and tone from `RUN_STATUS_INFO`); statuses still in progress pulse. */
export function StatusBadge({ status, className }: StatusBadgeProps) {
  const { label, tone, terminal } = RUN_STATUS_INFO[status];
  return (
    <Badge tone={tone} className={cx('status-badge', className)}>
      {!terminal && <span className="status-badge__dot" aria-hidden="true" />}
      {label}
    </Badge>
  );
}
