// /runs/:runId — PLACEHOLDER: the live run (status, team, streamed messages, code
// results, usage, cancel, human input, transcript export).
import { useParams } from 'react-router';
import { PageHeader, Placeholder } from '@/components/ui';

export function RunPage() {
  const { runId } = useParams<{ runId: string }>();
  return (
    <>
      <PageHeader title="Run" description={runId} />
      <Placeholder what="The live run view" />
    </>
  );
}
