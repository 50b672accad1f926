// Where generated code runs: the server's sandbox backend and the limits it enforces, as
// `/api/v1/info` reports them; says plainly when code execution is off, and why.
import { Card, ErrorMessage, Spinner } from '@/components/ui';
import { useInfo } from '@/lib/api/get-info';
import type { SandboxView } from '@/lib/api/types';

const BACKEND_NAMES: Record<string, string> = {
  bwrap: 'bubblewrap sandbox',
  docker: 'Docker container',
  podman: 'Podman container',
  'local-unsafe': 'no sandbox (local-unsafe)',
};

function backendName(backend: string): string {
  return BACKEND_NAMES[backend] ?? backend;
}

function SandboxFacts({ sandbox }: { sandbox: SandboxView }) {
  if (sandbox.state === 'off') {
    return (
      <div className="notice" role="note">
        <p>
          Code execution is off on this server: agents can write code, but it is not run.
          {sandbox.reason ? ` The configured sandbox (${sandbox.backend}) does not work here: ${sandbox.reason}` : ''}
        </p>
      </div>
    );
  }
  if (sandbox.state === 'on_workers') {
    return (
      <p>
        Code runs on the workers, in the <strong>{backendName(sandbox.backend)}</strong> they are configured with.
      </p>
    );
  }
  return (
    <>
      <p>
        Code written by agents runs in a <strong>{backendName(sandbox.backend)}</strong>
        {sandbox.backend === 'local-unsafe' ? ', directly on the server: only for trusted use.' : ', one per execution, with:'}
      </p>
      <ul className="sandbox-limits">
        {sandbox.enforced.map((line) => (
          <li key={line}>{line}</li>
        ))}
      </ul>
    </>
  );
}

export function SandboxCard() {
  const info = useInfo();
  return (
    <Card title="Code sandbox" className="sandbox-card">
      {info.isPending ? (
        <Spinner label="Loading the server’s sandbox…" showLabel />
      ) : info.isError ? (
        <ErrorMessage error={info.error} title="Could not load the server’s facts" onRetry={() => void info.refetch()} />
      ) : (
        <SandboxFacts sandbox={info.data.sandbox} />
      )}
    </Card>
  );
}
