import { screen, within } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { apiError, json, type FakeServer } from '@/testing/fake-server';
import { renderApp } from '@/testing/render-app';
import { installSignedInServer, resetSession } from '@/testing/session';
import { runView } from '@/testing/runs';
import { RUN_ID } from '../testing/events';

const RUNS = '/api/v1/runs';

const NO_PROVIDER = {
  default_model: 'demo',
  provider_configured: false,
  provider: null,
  key_owner: null,
  models: [{ id: 'demo', label: 'Offline demo (scripted team, no key needed)', source: 'demo' }],
  provider_error: null,
};

const WITH_PROVIDER = {
  default_model: 'openai/gpt-4o-mini',
  provider_configured: true,
  provider: 'openrouter',
  key_owner: 'user',
  models: [
    { id: 'demo', label: 'Offline demo', source: 'demo' },
    { id: 'openai/gpt-4o-mini', label: 'GPT-4o mini', source: 'preset' },
    { id: 'anthropic/claude-x', label: 'Claude X', source: 'provider' },
  ],
  provider_error: null,
};

const RUN = runView({ id: RUN_ID });

const TEAMS = {
  teams: [
    { id: '11111111-1111-4111-8111-111111111111', name: 'Analysts', spec: {}, created_at: '2026-05-01T10:00:00Z', updated_at: '2026-05-01T10:00:00Z' },
    { id: '22222222-2222-4222-8222-222222222222', name: 'Writers', spec: {}, created_at: '2026-05-01T10:00:00Z', updated_at: '2026-05-01T10:00:00Z' },
  ],
  next_cursor: null,
};

let server: FakeServer;

beforeEach(() => {
  resetSession();
  // The run page opened after submitting must not reach a real socket.
  vi.stubGlobal('WebSocket', undefined);
  vi.stubGlobal('EventSource', undefined);
  server = installSignedInServer()
    .on('GET', '/api/v1/models', json(NO_PROVIDER))
    .on('GET', '/api/v1/teams', json(TEAMS))
    .on('POST', RUNS, json(RUN, 202))
    .on('GET', `${RUNS}/${RUN_ID}`, json(RUN));
});

async function openForm(path = '/runs/new') {
  const app = renderApp(path);
  await screen.findByRole('heading', { name: 'New run', level: 1 });
  await screen.findByRole('combobox', { name: 'Model' });
  return app;
}

function lastBody() {
  const requests = server.requests('POST', RUNS);
  return JSON.parse(requests[requests.length - 1]!.body) as Record<string, unknown>;
}

describe('NewRunPage', () => {
  it('says plainly that only the demo works without a provider, and preselects it', async () => {
    await openForm();
    const note = screen.getByRole('note', { name: 'No LLM provider' });
    expect(note).toHaveTextContent(/No LLM provider is configured.*offline demo model runs a scripted team/);
    expect(within(note).getByRole('link', { name: 'Settings' })).toHaveAttribute('href', '/settings');
    expect(screen.getByRole('combobox', { name: 'Model' })).toHaveValue('demo');
  });

  it('preselects the default model of a configured provider, without the banner', async () => {
    server.on('GET', '/api/v1/models', json(WITH_PROVIDER));
    await openForm();
    expect(screen.queryByRole('note', { name: 'No LLM provider' })).not.toBeInTheDocument();
    expect(screen.getByRole('combobox', { name: 'Model' })).toHaveValue('openai/gpt-4o-mini');
    expect(screen.getByRole('group', { name: 'Presets' })).toBeInTheDocument();
    expect(screen.getByRole('group', { name: 'Provider models' })).toBeInTheDocument();
  });

  it('requires a task and checks numbers without calling the API', async () => {
    const { user } = await openForm();
    const maxAgents = screen.getByRole('spinbutton', { name: 'Max agents' });
    await user.clear(maxAgents);
    await user.type(maxAgents, '40');
    await user.type(screen.getByRole('spinbutton', { name: 'Budget (USD)' }), '-1');
    await user.click(screen.getByRole('button', { name: 'Start run' }));

    const task = screen.getByRole('textbox', { name: /^Task/ });
    expect(task).toHaveAttribute('aria-invalid', 'true');
    expect(task).toHaveAccessibleDescription('Describe the task.');
    expect(task).toHaveFocus();
    expect(maxAgents).toHaveAccessibleDescription(/1 to 16 experts\. Max agents must be a whole number from 1 to 16\./);
    expect(screen.getByRole('spinbutton', { name: 'Budget (USD)' })).toHaveAttribute('aria-invalid', 'true');
    expect(server.requests('POST', RUNS)).toHaveLength(0);
  });

  it('submits the build settings and opens the run', async () => {
    const { user, router } = await openForm();
    await user.type(screen.getByRole('textbox', { name: /^Task/ }), '  Compare the first 20 Fibonacci numbers  ');
    const maxAgents = screen.getByRole('spinbutton', { name: 'Max agents' });
    await user.clear(maxAgents);
    await user.type(maxAgents, '3');
    await user.click(screen.getByRole('checkbox', { name: 'Agents write and run code' }));
    await user.selectOptions(screen.getByRole('combobox', { name: 'Speaker selection' }), 'round_robin');
    await user.type(screen.getByRole('spinbutton', { name: 'Max rounds' }), '12');
    await user.type(screen.getByRole('spinbutton', { name: 'Budget (USD)' }), '0.5');
    await user.click(screen.getByRole('button', { name: 'Start run' }));

    // The run route loads its page lazily; its first import (the markdown and highlight
    // modules) alone can take more than waitFor's default second on a busy machine.
    await vi.waitFor(() => expect(router.state.location.pathname).toBe(`/runs/${RUN_ID}`), { timeout: 10_000 });
    expect(lastBody()).toEqual({
      task: 'Compare the first 20 Fibonacci numbers',
      model: 'demo',
      build: { max_agents: 3, coding: false },
      speaker_selection: 'round_robin',
      max_round: 12,
      budget_usd: 0.5,
    });
  });

  it('builds only when asked (execute: false)', async () => {
    const { user } = await openForm();
    await user.type(screen.getByRole('textbox', { name: /^Task/ }), 'Plan a trip');
    await user.click(screen.getByRole('checkbox', { name: 'Build only (review the team before running)' }));
    await user.click(screen.getByRole('button', { name: 'Build team' }));
    await vi.waitFor(() => expect(server.requests('POST', RUNS)).toHaveLength(1));
    expect(lastBody()).toEqual({ task: 'Plan a trip', model: 'demo', build: { max_agents: 4, coding: true }, execute: false });
  });

  it('uses a saved team preselected from ?team=', async () => {
    const { user } = await openForm(`/runs/new?team=${TEAMS.teams[1]!.id}`);
    expect(screen.getByRole('radio', { name: 'Use a saved team' })).toBeChecked();
    const select = await screen.findByRole('combobox', { name: 'Saved team' });
    expect(select).toHaveValue(TEAMS.teams[1]!.id);
    expect(screen.queryByRole('spinbutton', { name: 'Max agents' })).not.toBeInTheDocument();
    await user.type(screen.getByRole('textbox', { name: /^Task/ }), 'Write a poem');
    await user.click(screen.getByRole('button', { name: 'Start run' }));
    await vi.waitFor(() => expect(server.requests('POST', RUNS)).toHaveLength(1));
    expect(lastBody()).toEqual({ task: 'Write a poem', model: 'demo', team_id: TEAMS.teams[1]!.id });
  });

  it('asks for a saved team when that source is chosen', async () => {
    const { user } = await openForm();
    await user.type(screen.getByRole('textbox', { name: /^Task/ }), 'Write a poem');
    await user.click(screen.getByRole('radio', { name: 'Use a saved team' }));
    await screen.findByRole('combobox', { name: 'Saved team' });
    await user.click(screen.getByRole('button', { name: 'Start run' }));
    expect(screen.getByRole('combobox', { name: 'Saved team' })).toHaveAccessibleDescription('Choose a saved team.');
    expect(server.requests('POST', RUNS)).toHaveLength(0);
  });

  it('takes a free-text model id', async () => {
    const { user } = await openForm();
    await user.type(screen.getByRole('textbox', { name: /^Task/ }), 'Hello');
    await user.selectOptions(screen.getByRole('combobox', { name: 'Model' }), 'Other model…');
    await user.click(screen.getByRole('button', { name: 'Start run' }));
    expect(screen.getByRole('textbox', { name: 'Model id' })).toHaveAccessibleDescription('Enter the model id.');
    await user.type(screen.getByRole('textbox', { name: 'Model id' }), 'meta/llama-9');
    await user.click(screen.getByRole('button', { name: 'Start run' }));
    await vi.waitFor(() => expect(server.requests('POST', RUNS)).toHaveLength(1));
    expect(lastBody()).toMatchObject({ model: 'meta/llama-9' });
  });

  it("shows the server's field errors on the fields", async () => {
    server.on(
      'POST',
      RUNS,
      apiError(422, 'validation_failed', '2 fields are invalid', {
        fields: [
          { field: 'build.max_agents', message: 'must be between 1 and 16' },
          { field: 'max_round', message: 'must be between 1 and 1000' },
        ],
      }),
    );
    const { user } = await openForm();
    await user.type(screen.getByRole('textbox', { name: /^Task/ }), 'Hello');
    await user.click(screen.getByRole('button', { name: 'Start run' }));
    await vi.waitFor(() => expect(screen.getByRole('spinbutton', { name: 'Max agents' })).toHaveAttribute('aria-invalid', 'true'));
    expect(screen.getByRole('spinbutton', { name: 'Max agents' })).toHaveAccessibleDescription(/must be between 1 and 16/);
    expect(screen.getByRole('spinbutton', { name: 'Max rounds' })).toHaveAccessibleDescription('must be between 1 and 1000');
  });

  it('shows other server errors as an alert', async () => {
    server.on('POST', RUNS, apiError(429, 'rate_limited', 'Too many runs at once.'));
    const { user } = await openForm();
    await user.type(screen.getByRole('textbox', { name: /^Task/ }), 'Hello');
    await user.click(screen.getByRole('button', { name: 'Start run' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Too many runs at once.');
  });
});
