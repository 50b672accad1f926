// /runs/new — PLACEHOLDER: the task form (task, model, build options) that creates a run
// with POST /api/v1/runs and navigates to /runs/:runId.
import { PageHeader, Placeholder } from '@/components/ui';

export function NewRunPage() {
  return (
    <>
      <PageHeader title="New run" description="Describe a task; Cadre builds a team of agents and runs it." />
      <Placeholder what="The task form" />
    </>
  );
}
