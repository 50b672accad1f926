// The frame of the sign-in and registration pages: the app name and one centred card.
import type { ReactNode } from 'react';
import { useDocumentTitle } from '@/hooks/use-document-title';

export function AuthLayout({ title, children }: { title: string; children: ReactNode }) {
  useDocumentTitle(title);
  return (
    <main id="main" className="auth-layout" tabIndex={-1}>
      <div className="auth-layout__panel">
        <p className="auth-layout__brand" aria-hidden="true">
          Cadre
        </p>
        <h1 className="auth-layout__title">{title}</h1>
        {children}
      </div>
    </main>
  );
}
