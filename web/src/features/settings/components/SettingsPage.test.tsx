import { screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { apiError, json, noContent, type FakeServer } from '@/testing/fake-server';
import { renderApp } from '@/testing/render-app';
import { installSignedInServer, resetSession, SERVER_INFO } from '@/testing/session';

const PROVIDERS = '/api/v1/me/providers';
const KEY = 'sk-or-v1-unit-0123456789abcdef';

const NO_PROVIDER = {
  default_model: 'demo',
  provider_configured: false,
  provider: null,
  key_owner: null,
  models: [{ id: 'demo', label: 'Offline demo', source: 'demo' }],
  provider_error: null,
};

const stored = (provider: string, mask: string, extra: Record<string, unknown> = {}) => ({
  provider,
  api_key: mask,
  base_url: null,
  default_model: null,
  updated_at: '2026-05-01T10:00:00Z',
  ...extra,
});

let server: FakeServer;

beforeEach(() => {
  resetSession();
  server = installSignedInServer()
    .on('GET', '/api/v1/models', json(NO_PROVIDER))
    .on('GET', PROVIDERS, json([]))
    .on('GET', '/api/v1/me/tokens', json([]));
});

async function openSettings() {
  const app = renderApp('/settings');
  await screen.findByRole('heading', { name: 'Settings', level: 1 });
  await screen.findByRole('region', { name: 'OpenRouter' });
  return app;
}

describe('SettingsPage', () => {
  it('shows the sandbox code runs in and the limits it enforces', async () => {
    await openSettings();
    const card = screen.getByRole('region', { name: 'Code sandbox' });
    expect(await within(card).findByText(/runs in a/)).toHaveTextContent('Code written by agents runs in a bubblewrap sandbox, one per execution, with:');
    const limits = within(card).getAllByRole('listitem').map((item) => item.textContent);
    expect(limits).toEqual(SERVER_INFO.sandbox.enforced);
  });

  it('says when code execution is off, and why', async () => {
    server.on(
      'GET',
      '/api/v1/info',
      json({ ...SERVER_INFO, sandbox: { backend: 'bwrap', state: 'off', enforced: [], reason: 'bubblewrap not found' } }),
    );
    await openSettings();
    const card = screen.getByRole('region', { name: 'Code sandbox' });
    expect(await within(card).findByRole('note')).toHaveTextContent(
      'Code execution is off on this server: agents can write code, but it is not run. The configured sandbox (bwrap) does not work here: bubblewrap not found',
    );
  });

  it('says plainly when no provider is configured and points to the demo model', async () => {
    await openSettings();
    const models = screen.getByRole('region', { name: 'Models' });
    expect(
      await within(models).findByText(/No LLM provider is configured for you or this server\. Runs can use the offline demo model \(a scripted team, no key needed\) — try it from/),
    ).toBeInTheDocument();
    expect(within(models).getByRole('link', { name: 'New run' })).toHaveAttribute('href', '/runs/new');
  });

  it('shows which provider and whose key runs use, and the provider error', async () => {
    server.on(
      'GET',
      '/api/v1/models',
      json({ ...NO_PROVIDER, provider_configured: true, provider: 'openrouter', key_owner: 'server', default_model: 'openai/gpt-4o-mini', provider_error: 'openrouter answered 401' }),
    );
    await openSettings();
    const models = screen.getByRole('region', { name: 'Models' });
    expect(await within(models).findByText('OpenRouter')).toBeInTheDocument();
    expect(within(models).getByText(/The server’s key/)).toBeInTheDocument();
    expect(within(models).getByText('openai/gpt-4o-mini')).toBeInTheDocument();
    expect(within(models).getByRole('alert')).toHaveTextContent('openrouter answered 401');
    expect(within(models).queryByText(/No LLM provider/)).not.toBeInTheDocument();
  });

  it('saves a key with PUT, clears the password field and shows only the mask', async () => {
    server.on('PUT', `${PROVIDERS}/openrouter`, json(stored('openrouter', '…cdef'), 201));
    const { user } = await openSettings();
    const card = screen.getByRole('region', { name: 'OpenRouter' });
    expect(within(card).getByText('No key stored.')).toBeInTheDocument();

    const keyField = within(card).getByLabelText('API key');
    expect(keyField).toHaveAttribute('type', 'password');
    expect(keyField).toHaveAttribute('autocomplete', 'off');
    expect(keyField).toHaveValue('');
    await user.type(keyField, KEY);
    await user.type(within(card).getByRole('textbox', { name: /Default model/ }), 'openai/gpt-4o-mini');
    // After saving, the list answers with the new credential.
    server.on('GET', PROVIDERS, json([stored('openrouter', '…cdef', { default_model: 'openai/gpt-4o-mini' })]));
    await user.click(within(card).getByRole('button', { name: 'Save key' }));

    expect(await within(card).findByText('…cdef', { selector: 'code' })).toBeInTheDocument();
    const [put] = server.requests('PUT', `${PROVIDERS}/openrouter`);
    expect(JSON.parse(put!.body)).toEqual({ api_key: KEY, base_url: null, default_model: 'openai/gpt-4o-mini' });
    const replaced = within(card).getByLabelText('Replace API key');
    expect(replaced).toHaveValue('');
    expect(replaced).toHaveAttribute('type', 'password');
    expect(document.body.innerHTML).not.toContain(KEY);
    expect(within(card).getByRole('status')).toHaveTextContent('shows as …cdef');
    // The model catalogue is asked again: runs may use another provider now.
    await waitFor(() => expect(server.requests('GET', '/api/v1/models').length).toBeGreaterThan(1));
  });

  it('asks for a key before calling the server, and shows field errors from it', async () => {
    server.on(
      'PUT',
      `${PROVIDERS}/custom`,
      apiError(422, 'validation_failed', 'base_url: must be an http:// or https:// URL', {
        fields: [{ field: 'base_url', message: 'must be an http:// or https:// URL' }],
      }),
    );
    const { user } = await openSettings();
    const card = screen.getByRole('region', { name: 'Custom (OpenAI-compatible)' });

    await user.click(within(card).getByRole('button', { name: 'Save key' }));
    expect(within(card).getByLabelText('API key')).toHaveAccessibleDescription(/Enter the API key\./);
    expect(server.requests('PUT')).toHaveLength(0);

    await user.type(within(card).getByLabelText('API key'), 'abc');
    await user.type(within(card).getByRole('textbox', { name: /Base URL/ }), 'ftp://x');
    await user.click(within(card).getByRole('button', { name: 'Save key' }));

    expect(await within(card).findByRole('alert')).toHaveTextContent('must be an http:// or https:// URL');
    expect(within(card).getByRole('textbox', { name: /Base URL/ })).toHaveAttribute('aria-invalid', 'true');
  });

  it('removes a stored key after confirmation', async () => {
    server.on('GET', PROVIDERS, json([stored('openai', '…wxyz')]), json([]));
    server.on('DELETE', `${PROVIDERS}/openai`, noContent());
    const { user } = await openSettings();
    const card = screen.getByRole('region', { name: 'OpenAI' });
    expect(within(card).getByText('…wxyz')).toBeInTheDocument();

    await user.click(within(card).getByRole('button', { name: 'Remove key' }));
    await user.click(within(screen.getByRole('dialog', { name: /Remove your OpenAI key/ })).getByRole('button', { name: 'Remove key' }));

    expect(await within(card).findByText('No key stored.')).toBeInTheDocument();
    expect(server.requests('DELETE', `${PROVIDERS}/openai`)).toHaveLength(1);
  });

  it('creates a personal API token, shows it once with a copy button, and revokes one', async () => {
    const record = { id: 'tok-1', name: 'laptop cli', hint: 'cadre_pat_abcd', created_at: '2026-05-01T10:00:00Z', expires_at: null, revoked_at: null };
    server.on('POST', '/api/v1/me/tokens', json({ ...record, token: 'cadre_pat_abcdSECRET' }, 201));
    server.on('DELETE', '/api/v1/me/tokens/tok-1', noContent());
    const writeText = vi.fn(() => Promise.resolve());
    const { user } = await openSettings();
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    const card = screen.getByRole('region', { name: 'Personal API tokens' });

    server.on('GET', '/api/v1/me/tokens', json([record]));
    await user.type(within(card).getByRole('textbox', { name: 'Token name' }), 'laptop cli');
    await user.type(within(card).getByRole('spinbutton', { name: /Expires in/ }), '30');
    await user.click(within(card).getByRole('button', { name: 'Create token' }));

    expect(await within(card).findByLabelText('New token')).toHaveTextContent('cadre_pat_abcdSECRET');
    expect(JSON.parse(server.requests('POST', '/api/v1/me/tokens')[0]!.body)).toEqual({ name: 'laptop cli', expires_in_days: 30 });
    await user.click(within(card).getByRole('button', { name: 'Copy' }));
    expect(writeText).toHaveBeenCalledWith('cadre_pat_abcdSECRET');
    expect(await within(card).findByRole('button', { name: 'Copied' })).toBeInTheDocument();

    await user.click(within(card).getByRole('button', { name: 'Done' }));
    expect(within(card).queryByText('cadre_pat_abcdSECRET')).not.toBeInTheDocument();

    const row = await within(card).findByRole('row', { name: /laptop cli/ });
    await user.click(within(row).getByRole('button', { name: 'Revoke token laptop cli' }));
    await user.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Revoke token' }));
    await waitFor(() => expect(server.requests('DELETE', '/api/v1/me/tokens/tok-1')).toHaveLength(1));
  });
});
