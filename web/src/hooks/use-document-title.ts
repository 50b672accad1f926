// Sets the tab title for the current page ("Runs · Cadre"), so screen-reader users and
// people with many tabs know where they are.
import { useEffect } from 'react';

export function useDocumentTitle(title: string | undefined): void {
  useEffect(() => {
    document.title = title ? `${title} · Cadre` : 'Cadre';
  }, [title]);
}
