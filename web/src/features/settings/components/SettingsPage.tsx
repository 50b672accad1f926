// /settings — PLACEHOLDER: provider keys (/api/v1/me/providers), personal API tokens
// (/api/v1/me/tokens), account.
import { PageHeader, Placeholder } from '@/components/ui';

export function SettingsPage() {
  return (
    <>
      <PageHeader title="Settings" description="Model providers, API tokens and your account." />
      <Placeholder what="Settings" />
    </>
  );
}
