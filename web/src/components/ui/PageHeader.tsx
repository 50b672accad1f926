// PageHeader: the page's <h1>, an optional line of description and page-level actions.
// Every page has exactly one, and it also sets the tab title.
import type { ReactNode } from 'react';
import { useDocumentTitle } from '@/hooks/use-document-title';

export interface PageHeaderProps {
  title: string;
  description?: ReactNode;
  actions?: ReactNode;
  /** Tab title when it should differ from `title`. */
  documentTitle?: string;
}

export function PageHeader({ title, description, actions, documentTitle }: PageHeaderProps) {
  useDocumentTitle(documentTitle ?? title);
  return (
    <div className="page-header">
      <div className="page-header__text">
        <h1 className="page-header__title">{title}</h1>
        {description && <p className="page-header__description muted">{description}</p>}
      </div>
      {actions && <div className="page-header__actions">{actions}</div>}
    </div>
  );
}
