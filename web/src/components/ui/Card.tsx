// Card: a bordered surface grouping related content. With a `title` it becomes a labelled
// <section> (a landmark-friendly region with its own heading).
import { useId, type ReactNode } from 'react';
import { cx } from '@/lib/cx';

export interface CardProps {
  title?: ReactNode;
  /** Heading level of the title (default 2). */
  headingLevel?: 2 | 3;
  /** Controls shown at the right of the title. */
  actions?: ReactNode;
  className?: string;
  children?: ReactNode;
}

export function Card({ title, headingLevel = 2, actions, className, children }: CardProps) {
  const headingId = useId();
  const Heading = headingLevel === 2 ? 'h2' : 'h3';
  if (title === undefined) {
    return <div className={cx('card', className)}>{children}</div>;
  }
  return (
    <section className={cx('card', className)} aria-labelledby={headingId}>
      <div className="card__header">
        <Heading id={headingId} className="card__title">
          {title}
        </Heading>
        {actions && <div className="card__actions">{actions}</div>}
      </div>
      {children}
    </section>
  );
}
