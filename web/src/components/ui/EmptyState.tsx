// EmptyState: what a list shows when it has nothing yet, with the next step to take.
import type { ReactNode } from 'react';
import { cx } from '@/lib/cx';

export interface EmptyStateProps {
  title: ReactNode;
  description?: ReactNode;
  /** A button or link to the obvious next step. */
  action?: ReactNode;
  className?: string;
}

export function EmptyState({ title, description, action, className }: EmptyStateProps) {
  return (
    <div className={cx('empty-state', className)}>
      <p className="empty-state__title">{title}</p>
      {description && <p className="empty-state__description muted">{description}</p>}
      {action && <div className="empty-state__action">{action}</div>}
    </div>
  );
}
