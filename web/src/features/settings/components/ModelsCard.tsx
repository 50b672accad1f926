// What runs will use: which provider, whose key (the user's or the server's), the default
// model, and the provider's error if it could not be asked. Without any provider, says so
// plainly and points to the offline demo model.
import { Link } from 'react-router';
import { Card, ErrorMessage, Spinner } from '@/components/ui';
import { useModels } from '@/lib/api/get-models';
import { PROVIDER_INFO } from './ProviderCard';

function providerName(provider: string | null | undefined): string {
  if (!provider) return 'none';
  return provider in PROVIDER_INFO ? PROVIDER_INFO[provider as keyof typeof PROVIDER_INFO].title : provider;
}

export function ModelsCard() {
  const catalog = useModels();

  return (
    <Card title="Models" className="models-card">
      {catalog.isPending ? (
        <Spinner label="Loading the model catalogue…" showLabel />
      ) : catalog.isError ? (
        <ErrorMessage error={catalog.error} title="Could not load the models" onRetry={() => void catalog.refetch()} />
      ) : (
        <>
          {catalog.data.provider_configured ? (
            <dl className="facts">
              <div>
                <dt>Provider</dt>
                <dd>{providerName(catalog.data.provider)}</dd>
              </div>
              <div>
                <dt>Key</dt>
                <dd>{catalog.data.key_owner === 'user' ? 'Your key (below)' : 'The server’s key (set by the administrator)'}</dd>
              </div>
              <div>
                <dt>Default model</dt>
                <dd>
                  <code>{catalog.data.default_model}</code>
                </dd>
              </div>
              <div>
                <dt>Models offered</dt>
                <dd>{catalog.data.models.length}</dd>
              </div>
            </dl>
          ) : (
            <div className="notice" role="note">
              <p>
                No LLM provider is configured for you or this server. Runs can use the offline demo model (a scripted team,
                no key needed) — try it from <Link to="/runs/new">New run</Link>.
              </p>
              <p className="muted">To use real models, store a key for one of the providers below.</p>
            </div>
          )}
          {catalog.data.provider_error && (
            <div className="error-message" role="alert">
              <p className="error-message__title">The provider could not list its models</p>
              <p className="error-message__text">{catalog.data.provider_error}</p>
            </div>
          )}
        </>
      )}
    </Card>
  );
}
