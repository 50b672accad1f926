// Personal API tokens (for the CLI and scripts): list, create (name + optional expiry;
// the secret is shown once with a copy button), revoke with confirmation.
import { useState, type FormEvent } from 'react';
import { Badge, Button, Card, ConfirmDialog, ErrorMessage, Spinner, TextField } from '@/components/ui';
import { ApiError } from '@/lib/api/errors';
import type { ApiToken } from '@/lib/api/types';
import { formatDateTime } from '@/lib/format';
import { useCreateToken, type CreatedToken } from '../api/create-token';
import { useTokens } from '../api/get-tokens';
import { useRevokeToken } from '../api/revoke-token';

function tokenState(token: ApiToken): { label: string; tone: 'success' | 'neutral' | 'warning' } {
  if (token.revoked_at) return { label: 'Revoked', tone: 'neutral' };
  if (token.expires_at && new Date(token.expires_at).getTime() <= Date.now()) return { label: 'Expired', tone: 'warning' };
  return { label: 'Active', tone: 'success' };
}

function NewTokenSecret({ created, onDone }: { created: CreatedToken; onDone: () => void }) {
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null);
  async function copy() {
    try {
      await navigator.clipboard.writeText(created.token);
      setCopied('yes');
    } catch {
      setCopied('failed');
    }
  }
  return (
    <div className="notice notice--success" role="status">
      <p>
        <strong>Token “{created.name}” created.</strong> Copy it now: it will not be shown again.
      </p>
      <div className="secret-row">
        <code className="secret" aria-label="New token">
          {created.token}
        </code>
        <Button size="sm" onClick={() => void copy()}>
          {copied === 'yes' ? 'Copied' : 'Copy'}
        </Button>
        <Button size="sm" variant="ghost" onClick={onDone}>
          Done
        </Button>
      </div>
      {copied === 'failed' && <p className="field__error">The browser refused the clipboard: select the token and copy it.</p>}
    </div>
  );
}

export function TokensCard() {
  const tokens = useTokens();
  const create = useCreateToken();
  const revoke = useRevokeToken();
  const [name, setName] = useState('');
  const [days, setDays] = useState('');
  const [errors, setErrors] = useState<{ name?: string; days?: string }>({});
  const [created, setCreated] = useState<CreatedToken | null>(null);
  const [pendingRevoke, setPendingRevoke] = useState<ApiToken | null>(null);
  const serverFields = create.error instanceof ApiError ? create.error.fieldErrors : {};

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const next: typeof errors = {};
    if (!name.trim()) next.name = 'Name the token (what it is for).';
    const expires = days.trim() ? Number(days) : null;
    if (expires !== null && (!Number.isInteger(expires) || expires < 1 || expires > 3650)) next.days = 'Between 1 and 3650 days, or empty.';
    setErrors(next);
    if (next.name || next.days) return;
    create.mutate(
      { name: name.trim(), expires_in_days: expires },
      {
        onSuccess: (token) => {
          setCreated(token);
          setName('');
          setDays('');
        },
      },
    );
  }

  const list = tokens.data ?? [];
  return (
    <Card title="Personal API tokens" className="tokens-card">
      <p className="muted">
        For the CLI and scripts: send <code>Authorization: Bearer &lt;token&gt;</code>. A token acts as you until it expires
        or is revoked.
      </p>
      {created && <NewTokenSecret created={created} onDone={() => setCreated(null)} />}
      <form className="token-form" onSubmit={onSubmit} noValidate>
        <TextField
          label="Token name"
          value={name}
          maxLength={100}
          autoComplete="off"
          error={errors.name ?? serverFields.name}
          onChange={(event) => setName(event.target.value)}
        />
        <TextField
          label="Expires in (days)"
          hint="Empty: never."
          type="number"
          min={1}
          max={3650}
          inputMode="numeric"
          value={days}
          error={errors.days ?? serverFields.expires_in_days}
          onChange={(event) => setDays(event.target.value)}
        />
        <div className="token-form__submit">
          <Button type="submit" variant="primary" loading={create.isPending}>
            Create token
          </Button>
        </div>
      </form>
      <ErrorMessage error={create.error} title="Could not create the token" />
      <ErrorMessage error={revoke.error} title="Could not revoke the token" />

      {tokens.isPending ? (
        <Spinner label="Loading tokens…" showLabel />
      ) : tokens.isError ? (
        <ErrorMessage error={tokens.error} title="Could not load your tokens" onRetry={() => void tokens.refetch()} />
      ) : list.length === 0 ? (
        <p className="muted">No tokens yet.</p>
      ) : (
        <div className="table-wrap">
          <table className="data-table tokens-table">
            <caption className="visually-hidden">Your personal API tokens</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Token</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((token) => {
                const state = tokenState(token);
                return (
                  <tr key={token.id}>
                    <th scope="row" data-label="Name">
                      {token.name}
                    </th>
                    <td data-label="Token">
                      <code>{token.hint}…</code>
                    </td>
                    <td data-label="Status">
                      <Badge tone={state.tone}>{state.label}</Badge>
                    </td>
                    <td data-label="Created">{formatDateTime(token.created_at)}</td>
                    <td data-label="Expires">{token.expires_at ? formatDateTime(token.expires_at) : 'Never'}</td>
                    <td className="data-table__actions">
                      {!token.revoked_at && (
                        <Button size="sm" variant="ghost" onClick={() => setPendingRevoke(token)} aria-label={`Revoke token ${token.name}`}>
                          Revoke
                        </Button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}

      <ConfirmDialog
        open={pendingRevoke !== null}
        title={`Revoke “${pendingRevoke?.name ?? ''}”?`}
        confirmLabel="Revoke token"
        tone="danger"
        confirming={revoke.isPending}
        onConfirm={() => pendingRevoke && revoke.mutate(pendingRevoke.id, { onSettled: () => setPendingRevoke(null) })}
        onCancel={() => setPendingRevoke(null)}
      >
        <p>Anything using this token stops working at once.</p>
      </ConfirmDialog>
    </Card>
  );
}
