// /settings: which models runs use (and the demo fallback when there is no provider), the
// user's provider keys (write-only; masks only), personal API tokens, and the sandbox the
// server runs generated code in.
import { ErrorMessage, PageHeader, PageSpinner } from '@/components/ui';
import { PROVIDER_IDS, useProviders } from '../api/get-providers';
import { ModelsCard } from './ModelsCard';
import { ProviderCard } from './ProviderCard';
import { SandboxCard } from './SandboxCard';
import { TokensCard } from './TokensCard';

export function SettingsPage() {
  const providers = useProviders();

  return (
    <>
      <PageHeader title="Settings" description="Your LLM provider keys, the models your runs use, API tokens, and where code runs." />
      <div className="settings">
        <ModelsCard />
        <section aria-labelledby="provider-keys-heading" className="settings__section">
          <h2 id="provider-keys-heading" className="section-title">
            Provider keys
          </h2>
          <p className="muted">
            Keys are encrypted on the server and never sent back: you only ever see their last characters. Your key takes
            precedence over the server’s.
          </p>
          {providers.isPending ? (
            <PageSpinner label="Loading your keys…" />
          ) : providers.isError ? (
            <ErrorMessage error={providers.error} title="Could not load your keys" onRetry={() => void providers.refetch()} />
          ) : (
            <div className="provider-grid">
              {PROVIDER_IDS.map((id) => (
                <ProviderCard key={id} provider={id} stored={providers.data.find((p) => p.provider === id)} />
              ))}
            </div>
          )}
        </section>
        <TokensCard />
        <SandboxCard />
      </div>
    </>
  );
}
