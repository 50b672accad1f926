// /history — PLACEHOLDER: the user's past runs (GET /api/v1/runs, filters, pagination).
import { PageHeader, Placeholder } from '@/components/ui';

export function HistoryPage() {
  return (
    <>
      <PageHeader title="History" description="Your runs, newest first." />
      <Placeholder what="The run history" />
    </>
  );
}
