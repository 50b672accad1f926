// Spinner: an indeterminate progress indicator, announced politely to screen readers.
import { cx } from '@/lib/cx';

export interface SpinnerProps {
  /** What is loading (read by screen readers; shown when `showLabel`). */
  label?: string;
  showLabel?: boolean;
  size?: 'sm' | 'md' | 'lg';
  className?: string;
}

export function Spinner({ label = 'Loading…', showLabel = false, size = 'md', className }: SpinnerProps) {
  return (
    <span role="status" className={cx('spinner-wrap', className)}>
      <span className={cx('spinner', `spinner--${size}`)} aria-hidden="true" />
      <span className={showLabel ? 'spinner-wrap__label' : 'visually-hidden'}>{label}</span>
    </span>
  );
}

/** A spinner centred in the available space, for whole pages or panels. */
export function PageSpinner({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="page-spinner">
      <Spinner size="lg" label={label} showLabel />
    </div>
  );
}
