// ErrorMessage: shows any failure (usually an ApiError) as an alert: the server's message,
// its per-field messages for `validation_failed`, and an optional retry button.
import type { ReactNode } from 'react';
import { toApiError } from '@/lib/api/errors';
import { cx } from '@/lib/cx';
import { Button } from './Button';

export interface ErrorMessageProps {
  /** The error: an ApiError, any Error, or anything thrown. Nothing renders when null. */
  error: unknown;
  /** Heading above the message (e.g. "Could not load runs"). */
  title?: ReactNode;
  /** Shows a "Try again" button. */
  onRetry?: () => void;
  className?: string;
}

export function ErrorMessage({ error, title, onRetry, className }: ErrorMessageProps) {
  if (error === null || error === undefined) return null;
  const apiError = toApiError(error);
  const fields = Object.entries(apiError.fieldErrors);
  return (
    <div role="alert" className={cx('error-message', className)}>
      {title && <p className="error-message__title">{title}</p>}
      <p className="error-message__text">{apiError.message}</p>
      {fields.length > 1 && (
        <ul className="error-message__fields">
          {fields.map(([field, message]) => (
            <li key={field}>
              <code>{field}</code>: {message}
            </li>
          ))}
        </ul>
      )}
      {onRetry && (
        <Button size="sm" onClick={onRetry}>
          Try again
        </Button>
      )}
    </div>
  );
}
