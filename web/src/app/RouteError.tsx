// What the router shows when a page throws while rendering or loading (including a
// failed lazy import after a deploy: reloading fetches the new files).
import { Link, isRouteErrorResponse, useRouteError } from 'react-router';
import { ErrorMessage } from '@/components/ui';
import { useDocumentTitle } from '@/hooks/use-document-title';

export function RouteError() {
  const error = useRouteError();
  useDocumentTitle('Something went wrong');
  const shown = isRouteErrorResponse(error) ? new Error(`${error.status} ${error.statusText}`) : error;
  return (
    <main id="main" className="app-main" tabIndex={-1}>
      <h1>Something went wrong</h1>
      <ErrorMessage error={shown} onRetry={() => window.location.reload()} />
      <p>
        <Link to="/">Go to the start page</Link>
      </p>
    </main>
  );
}

export function NotFoundPage() {
  useDocumentTitle('Page not found');
  return (
    <>
      <h1>Page not found</h1>
      <p>There is nothing at this address.</p>
      <p>
        <Link to="/runs/new">Start a new run</Link>
      </p>
    </>
  );
}
