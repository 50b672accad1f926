// /teams — PLACEHOLDER: saved teams (list, create, import AutoGen JSON).
import { PageHeader, Placeholder } from '@/components/ui';

export function TeamsPage() {
  return (
    <>
      <PageHeader title="Teams" description="Saved teams of agents you can reuse." />
      <Placeholder what="The team library" />
    </>
  );
}
