// /teams/:teamId — PLACEHOLDER: one team (agents, speaker selection, termination; edit,
// export, delete, run).
import { useParams } from 'react-router';
import { PageHeader, Placeholder } from '@/components/ui';

export function TeamPage() {
  const { teamId } = useParams<{ teamId: string }>();
  return (
    <>
      <PageHeader title="Team" description={teamId} />
      <Placeholder what="The team editor" />
    </>
  );
}
