// One provider's key: whether one is stored (its mask only, e.g. "…abcd", and when it
// changed) and a write-only form to store or replace it. The key field is a password
// field, never prefilled and cleared after saving: the key goes to the server once and
// the page only ever shows what the server answers, which is the mask.
import { useState, type FormEvent } from 'react';
import { Badge, Button, Card, ConfirmDialog, ErrorMessage, TextField } from '@/components/ui';
import { ApiError } from '@/lib/api/errors';
import type { Provider } from '@/lib/api/types';
import { formatDateTime, formatRelativeTime } from '@/lib/format';
import { useDeleteProvider } from '../api/delete-provider';
import type { ProviderId } from '../api/get-providers';
import { usePutProvider } from '../api/put-provider';

export const PROVIDER_INFO: Record<ProviderId, { title: string; description: string; keyHint: string; modelHint: string }> = {
  openrouter: {
    title: 'OpenRouter',
    description: 'One key for hundreds of models (openrouter.ai).',
    keyHint: 'Starts with sk-or-…',
    modelHint: 'e.g. openai/gpt-4o-mini',
  },
  openai: {
    title: 'OpenAI',
    description: 'Models served by api.openai.com.',
    keyHint: 'Starts with sk-…',
    modelHint: 'e.g. gpt-4o-mini',
  },
  custom: {
    title: 'Custom (OpenAI-compatible)',
    description: 'Any server that speaks the OpenAI chat completions API: vLLM, Ollama, LM Studio, a gateway…',
    keyHint: 'The key that server expects.',
    modelHint: 'A model id that server knows.',
  },
};

export interface ProviderCardProps {
  provider: ProviderId;
  stored: Provider | undefined;
}

export function ProviderCard({ provider, stored }: ProviderCardProps) {
  const info = PROVIDER_INFO[provider];
  const save = usePutProvider();
  const remove = useDeleteProvider();
  const [apiKey, setApiKey] = useState('');
  const [baseUrl, setBaseUrl] = useState('');
  const [defaultModel, setDefaultModel] = useState('');
  const [keyError, setKeyError] = useState<string | undefined>();
  const [confirmRemove, setConfirmRemove] = useState(false);
  const [savedNote, setSavedNote] = useState<string | null>(null);
  const fieldErrors = save.error instanceof ApiError ? save.error.fieldErrors : {};
  const prefix = `provider-${provider}`;

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setSavedNote(null);
    if (!apiKey.trim()) {
      setKeyError('Enter the API key.');
      return;
    }
    setKeyError(undefined);
    const body = {
      api_key: apiKey.trim(),
      // Empty fields keep what is stored (the server replaces the whole credential).
      base_url: baseUrl.trim() || stored?.base_url || null,
      default_model: defaultModel.trim() || stored?.default_model || null,
    };
    save.mutate(
      { provider, body },
      {
        onSuccess: (saved) => {
          // The key leaves the page: only the server's mask is shown from now on.
          setApiKey('');
          setBaseUrl('');
          setDefaultModel('');
          setSavedNote(`Saved. The key is stored encrypted and shows as ${saved.api_key}.`);
        },
      },
    );
  }

  return (
    <Card
      title={info.title}
      headingLevel={3}
      className="provider-card"
      actions={stored ? <Badge tone="success">Key stored</Badge> : <Badge>No key</Badge>}
    >
      <p className="muted">{info.description}</p>
      {stored ? (
        <dl className="facts">
          <div>
            <dt>Key</dt>
            <dd>
              <code className="mask" data-testid={`${prefix}-mask`}>
                {stored.api_key}
              </code>
            </dd>
          </div>
          {stored.base_url && (
            <div>
              <dt>Base URL</dt>
              <dd>
                <code>{stored.base_url}</code>
              </dd>
            </div>
          )}
          <div>
            <dt>Default model</dt>
            <dd>{stored.default_model ? <code>{stored.default_model}</code> : <span className="muted">none</span>}</dd>
          </div>
          <div>
            <dt>Updated</dt>
            <dd>
              <time dateTime={stored.updated_at} title={formatDateTime(stored.updated_at)}>
                {formatRelativeTime(stored.updated_at)}
              </time>
            </dd>
          </div>
        </dl>
      ) : (
        <p>No key stored.</p>
      )}

      <form className="stack provider-form" onSubmit={onSubmit} noValidate autoComplete="off">
        <TextField
          id={`${prefix}-key`}
          label={stored ? 'Replace API key' : 'API key'}
          hint={`${info.keyHint} Stored encrypted; it is never shown again.`}
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={apiKey}
          error={keyError ?? fieldErrors.api_key}
          onChange={(event) => setApiKey(event.target.value)}
        />
        {provider === 'custom' && (
          <TextField
            id={`${prefix}-base-url`}
            label="Base URL"
            hint={stored?.base_url ? `Empty keeps ${stored.base_url}.` : 'e.g. http://localhost:11434/v1'}
            type="url"
            inputMode="url"
            autoComplete="off"
            spellCheck={false}
            required={!stored?.base_url}
            value={baseUrl}
            error={fieldErrors.base_url}
            onChange={(event) => setBaseUrl(event.target.value)}
          />
        )}
        <TextField
          id={`${prefix}-model`}
          label="Default model (optional)"
          hint={stored?.default_model ? `Empty keeps ${stored.default_model}.` : info.modelHint}
          autoComplete="off"
          spellCheck={false}
          value={defaultModel}
          error={fieldErrors.default_model}
          onChange={(event) => setDefaultModel(event.target.value)}
        />
        <ErrorMessage error={save.error} title="Could not save the key" />
        <ErrorMessage error={remove.error} title="Could not remove the key" />
        <div className="row">
          <Button type="submit" variant="primary" loading={save.isPending}>
            {stored ? 'Replace key' : 'Save key'}
          </Button>
          {stored && (
            <Button variant="danger" onClick={() => setConfirmRemove(true)}>
              Remove key
            </Button>
          )}
          {savedNote && (
            <span role="status" className="muted">
              {savedNote}
            </span>
          )}
        </div>
      </form>

      <ConfirmDialog
        open={confirmRemove}
        title={`Remove your ${info.title} key?`}
        confirmLabel="Remove key"
        tone="danger"
        confirming={remove.isPending}
        onConfirm={() =>
          remove.mutate(provider, {
            onSuccess: () => setSavedNote(null),
            onSettled: () => setConfirmRemove(false),
          })
        }
        onCancel={() => setConfirmRemove(false)}
      >
        <p>Runs will use another stored key, the server’s key, or only the offline demo model.</p>
      </ConfirmDialog>
    </Card>
  );
}
