import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Team, TeamSpec } from '@/lib/api/types';
import { apiError, json, noContent, type FakeServer } from '@/testing/fake-server';
import { renderApp } from '@/testing/render-app';
import { installSignedInServer, resetSession } from '@/testing/session';

const ID = '3f1c2b1e-5a4d-4c3b-9a8f-111122223333';
const TEAM_URL = `/api/v1/teams/${ID}`;

const SPEC = {
  name: 'Research crew',
  agents: [
    { name: 'Analyst', system_message: 'You analyse.', description: 'Analyses data.', autogen_extra: { tags: ['finance'] } },
    { name: 'Writer', system_message: 'You write.', description: 'Writes the report.' },
  ],
  speaker_selection: { method: 'auto' },
  termination: { text_mention: 'TERMINATE', max_round: 20 },
  code_execution: { enabled: false, executor_name: 'Computer_terminal', languages: ['python', 'sh'], last_n_messages: 0, timeout_secs: 30 },
  admin_name: 'User',
} satisfies TeamSpec;

function team(spec: TeamSpec = SPEC, updated = '2026-05-01T10:00:00Z'): Team {
  return { id: ID, name: spec.name ?? '', spec, created_at: '2026-05-01T09:00:00Z', updated_at: updated };
}

let server: FakeServer;

beforeEach(() => {
  resetSession();
  server = installSignedInServer()
    .on('GET', TEAM_URL, json(team()))
    .on('GET', '/api/v1/teams', json({ teams: [team()], next_cursor: null }))
    .on('GET', '/api/v1/tools', json({ configured: false, tools: [], unavailable: [] }));
});

const TOOLS = {
  configured: true,
  tools: [
    { name: 'notebook.remember', description: 'Remember a fact.', parameters: { type: 'object' } },
    { name: 'notebook.recall', description: 'Recall facts.', parameters: { type: 'object' } },
    { name: 'files.read', parameters: { type: 'object' } },
  ],
  unavailable: [{ server: 'search', message: 'connection refused' }],
};

async function openTeam() {
  const app = renderApp(`/teams/${ID}`);
  await screen.findByRole('heading', { name: 'Research crew', level: 1 });
  return app;
}

function agentGroup(name: RegExp | string) {
  return screen.getByRole('group', { name });
}

/** Replaces a textarea's whole value (user-event would type braces as key descriptors). */
function setText(element: HTMLElement, value: string) {
  fireEvent.change(element, { target: { value } });
}

describe('TeamPage', () => {
  it('shows the team with its actions', async () => {
    await openTeam();

    expect(screen.getByText(/2 agents/)).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Run this team' })).toHaveAttribute('href', `/runs/new?team=${ID}`);
    expect(screen.getByRole('button', { name: 'Export AutoGen JSON' })).toBeInTheDocument();
    expect(screen.getByRole('tab', { name: 'Form' })).toHaveAttribute('aria-selected', 'true');
    expect(screen.getByRole('tabpanel')).toHaveAccessibleName('Form');
    expect(screen.getByRole('textbox', { name: /Team name/ })).toHaveValue('Research crew');
    expect(within(agentGroup(/Agent 1: Analyst/)).getByRole('textbox', { name: /Description/ })).toHaveValue('Analyses data.');
  });

  it('saves form edits with a PUT of the whole spec, keeping unknown fields', async () => {
    server.on('PUT', TEAM_URL, async (request) => {
      const body = (await request.json()) as TeamSpec;
      return json(team(body, '2026-05-02T10:00:00Z'));
    });
    const { user } = await openTeam();

    const writer = agentGroup(/Agent 2: Writer/);
    const description = within(writer).getByRole('textbox', { name: /Description/ });
    await user.clear(description);
    await user.type(description, 'Writes a short, sourced report.');
    await user.selectOptions(screen.getByRole('combobox', { name: /Speaker selection/ }), 'round_robin');
    await user.click(screen.getByRole('button', { name: 'Add agent' }));
    const added = agentGroup(/Agent 3/);
    await user.clear(within(added).getByRole('textbox', { name: /^Name/ }));
    await user.type(within(added).getByRole('textbox', { name: /^Name/ }), 'Critic');
    await user.type(within(added).getByRole('textbox', { name: /Model/ }), 'openai/gpt-4o');
    await user.click(screen.getByRole('button', { name: 'Save' }));

    await waitFor(() => expect(server.requests('PUT', TEAM_URL)).toHaveLength(1));
    const body = JSON.parse(server.requests('PUT', TEAM_URL)[0]!.body) as typeof SPEC;
    expect(body.name).toBe('Research crew');
    expect(body.speaker_selection).toEqual({ method: 'round_robin' });
    expect(body.agents.map((a) => a.name)).toEqual(['Analyst', 'Writer', 'Critic']);
    expect(body.agents[1]!.description).toBe('Writes a short, sourced report.');
    expect(body.agents[2]).toMatchObject({ name: 'Critic', model: 'openai/gpt-4o' });
    expect(body.agents[1]).not.toHaveProperty('model');
    expect(body.agents[0]!.autogen_extra).toEqual({ tags: ['finance'] });
    expect(body.code_execution.timeout_secs).toBe(30);
    expect(await screen.findByText('Saved.')).toBeInTheDocument();
  });

  it("edits an agent's tool allowlist, checks it as it is typed, and saves it", async () => {
    server.on('GET', '/api/v1/tools', json(TOOLS)).on('PUT', TEAM_URL, async (request) => json(team((await request.json()) as TeamSpec)));
    const { user } = await openTeam();

    const catalog = await screen.findByRole('region', { name: 'MCP tools' });
    const available = await within(catalog).findByRole('list', { name: 'Available tools' });
    expect(within(available).getAllByRole('listitem').map((li) => li.textContent)).toEqual([
      'notebook.remember — Remember a fact.',
      'notebook.recall — Recall facts.',
      'files.read',
    ]);
    expect(within(catalog).getByRole('list', { name: 'Unavailable servers' })).toHaveTextContent('search: connection refused');

    const tools = within(agentGroup(/Agent 1: Analyst/)).getByRole('combobox', { name: /^Tools/ });
    expect(tools).toHaveValue('');
    // The deployment's tools complete the entry being typed.
    const options = () => [...document.getElementById(tools.getAttribute('list')!)!.querySelectorAll('option')].map((o) => o.value);
    expect(options()).toEqual(['notebook.remember', 'notebook.recall', 'files.read', 'notebook.*', 'files.*']);

    await user.type(tools, 'notebook.remember, files read');
    expect(tools).toHaveValue('notebook.remember, files read');
    expect(options()).toContain('notebook.remember, files.*');
    expect(options()).not.toContain('notebook.remember, notebook.remember');
    expect(tools).toHaveAttribute('aria-invalid', 'true');
    expect(tools).toHaveAccessibleDescription(/“files read” is not a tool entry: use server\.tool, server\.\* or \*/);

    await user.click(screen.getByRole('button', { name: 'Save' }));
    expect(screen.getByRole('alert')).toHaveTextContent('agents[0].tools: “files read” is not a tool entry');
    expect(server.requests('PUT')).toHaveLength(0);

    await user.clear(tools);
    await user.type(tools, 'notebook.remember, files.*, ');
    expect(tools).toHaveValue('notebook.remember, files.*, ');
    expect(tools).not.toHaveAttribute('aria-invalid');
    await user.click(screen.getByRole('button', { name: 'Save' }));

    await waitFor(() => expect(server.requests('PUT', TEAM_URL)).toHaveLength(1));
    const body = JSON.parse(server.requests('PUT', TEAM_URL)[0]!.body) as TeamSpec;
    expect(body.agents[0]!.tools).toEqual(['notebook.remember', 'files.*']);
    expect(body.agents[1]).not.toHaveProperty('tools');
    expect(body.agents[0]!.autogen_extra).toEqual({ tags: ['finance'] });
    expect(await screen.findByText('Saved.')).toBeInTheDocument();
    expect(tools).toHaveValue('notebook.remember, files.*');
  });

  it('shows an allowlist set in the JSON tab, and says when the server has no MCP tools', async () => {
    const { user } = await openTeam();
    expect(await screen.findByText('This server has no MCP tools configured.')).toBeInTheDocument();
    expect(screen.queryByRole('list', { name: 'Available tools' })).not.toBeInTheDocument();

    await user.click(screen.getByRole('tab', { name: 'JSON' }));
    setText(
      screen.getByRole('textbox', { name: /Team JSON/ }),
      JSON.stringify({ ...SPEC, agents: [{ ...SPEC.agents[0], tools: ['*'] }, { ...SPEC.agents[1], tools: ['notebook.recall', 'files.*'] }] }),
    );
    await user.click(screen.getByRole('tab', { name: 'Form' }));
    expect(within(agentGroup(/Agent 1: Analyst/)).getByRole('textbox', { name: /^Tools/ })).toHaveValue('*');
    expect(within(agentGroup(/Agent 2: Writer/)).getByRole('textbox', { name: /^Tools/ })).toHaveValue('notebook.recall, files.*');

    // Discarding brings back the saved (empty) lists.
    await user.click(screen.getByRole('button', { name: 'Discard changes' }));
    expect(within(agentGroup(/Agent 2: Writer/)).getByRole('textbox', { name: /^Tools/ })).toHaveValue('');
  });

  it('refuses an invalid agent name in the form before calling the server', async () => {
    const { user } = await openTeam();

    const name = within(agentGroup(/Agent 1: Analyst/)).getByRole('textbox', { name: /^Name/ });
    await user.clear(name);
    await user.type(name, 'Data analyst');
    await user.click(screen.getByRole('button', { name: 'Save' }));

    expect(screen.getByRole('alert')).toHaveTextContent('agents[0].name: use 1 to 64 letters, digits');
    expect(name).toHaveAttribute('aria-invalid', 'true');
    expect(server.requests('PUT')).toHaveLength(0);
  });

  it('removes an agent, but never the last one', async () => {
    const { user } = await openTeam();
    await user.click(screen.getByRole('button', { name: 'Remove agent Writer' }));
    expect(screen.queryByRole('group', { name: /Writer/ })).not.toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Remove agent Analyst' })).toBeDisabled();
  });

  it('edits the JSON and refuses invalid JSON with its line and column', async () => {
    const { user } = await openTeam();
    await user.click(screen.getByRole('tab', { name: 'JSON' }));
    const editor = screen.getByRole('textbox', { name: /Team JSON/ });
    expect(JSON.parse((editor as HTMLTextAreaElement).value)).toMatchObject({ name: 'Research crew' });

    setText(editor, '{\n  "name": "x",\n  "agents": [}\n}');
    await user.click(screen.getByRole('button', { name: 'Save' }));

    expect(screen.getByRole('alert')).toHaveTextContent('Invalid JSON at line 3, column 14: expected a value, found “}”.');
    expect(server.requests('PUT')).toHaveLength(0);
    // The form tab stays closed until the JSON is valid.
    await user.click(screen.getByRole('tab', { name: 'Form' }));
    expect(screen.getByRole('tab', { name: 'JSON' })).toHaveAttribute('aria-selected', 'true');
  });

  it('refuses JSON that is not a valid team, naming the fields', async () => {
    const { user } = await openTeam();
    await user.click(screen.getByRole('tab', { name: 'JSON' }));

    setText(
      screen.getByRole('textbox', { name: /Team JSON/ }),
      JSON.stringify({ name: '', agents: [{ name: 'A', system_message: 'x' }, { name: 'A', system_message: 'y' }], speaker_selection: { method: 'loudest' } }),
    );
    await user.click(screen.getByRole('button', { name: 'Save' }));

    const alert = screen.getByRole('alert');
    expect(alert).toHaveTextContent('name: must not be empty');
    expect(alert).toHaveTextContent('speaker_selection.method: method must be one of auto, round_robin');

    setText(
      screen.getByRole('textbox', { name: /Team JSON/ }),
      JSON.stringify({ name: 'T', agents: [{ name: 'A', system_message: 'x' }, { name: 'A', system_message: 'y' }] }),
    );
    await user.click(screen.getByRole('button', { name: 'Save' }));
    expect(screen.getByRole('alert')).toHaveTextContent('agents[1].name: duplicate name “A”');

    setText(screen.getByRole('textbox', { name: /Team JSON/ }), JSON.stringify({ name: 'T' }));
    await user.click(screen.getByRole('button', { name: 'Save' }));
    expect(screen.getByRole('alert')).toHaveTextContent('agents: must be a list of agents');

    setText(screen.getByRole('textbox', { name: /Team JSON/ }), JSON.stringify({ name: 'T', agents: [{ name: 'A' }] }));
    await user.click(screen.getByRole('button', { name: 'Save' }));
    expect(screen.getByRole('alert')).toHaveTextContent('agents[0].system_message: must be a string');
    expect(server.requests('PUT')).toHaveLength(0);
  });

  it('saves valid JSON as is', async () => {
    server.on('PUT', TEAM_URL, async (request) => json(team((await request.json()) as TeamSpec)));
    const { user } = await openTeam();
    await user.click(screen.getByRole('tab', { name: 'JSON' }));
    const next = { ...SPEC, name: 'Renamed crew', temperature: 0.3 };
    setText(screen.getByRole('textbox', { name: /Team JSON/ }), JSON.stringify(next));
    await user.click(screen.getByRole('button', { name: 'Save' }));

    await waitFor(() => expect(server.requests('PUT', TEAM_URL)).toHaveLength(1));
    expect(JSON.parse(server.requests('PUT', TEAM_URL)[0]!.body)).toEqual(next);
    expect(await screen.findByRole('heading', { name: 'Renamed crew', level: 1 })).toBeInTheDocument();
  });

  it("shows the server's validation message when it refuses a save", async () => {
    server.on('PUT', TEAM_URL, apiError(422, 'validation_failed', 'agents: duplicate agent name `User`'));
    const { user } = await openTeam();
    const name = within(agentGroup(/Agent 2: Writer/)).getByRole('textbox', { name: /^Name/ });
    await user.clear(name);
    await user.type(name, 'Editor');
    await user.click(screen.getByRole('button', { name: 'Save' }));

    expect(await screen.findByRole('alert')).toHaveTextContent('duplicate agent name `User`');
  });

  it('switches tabs with the arrow keys', async () => {
    const { user } = await openTeam();
    screen.getByRole('tab', { name: 'Form' }).focus();
    await user.keyboard('{ArrowRight}');
    expect(screen.getByRole('tab', { name: 'JSON' })).toHaveFocus();
    expect(screen.getByRole('tab', { name: 'JSON' })).toHaveAttribute('aria-selected', 'true');
  });

  it('asks before leaving with unsaved changes', async () => {
    const { user, router } = await openTeam();
    const model = within(agentGroup(/Agent 1: Analyst/)).getByRole('textbox', { name: /Model/ });
    await user.type(model, 'gpt-4o-mini');
    expect(screen.getByText('Unsaved changes')).toBeInTheDocument();

    await user.click(screen.getByRole('link', { name: 'History' }));
    const dialog = await screen.findByRole('dialog', { name: 'Leave without saving?' });
    await user.click(within(dialog).getByRole('button', { name: 'Stay' }));
    expect(router.state.location.pathname).toBe(`/teams/${ID}`);
    expect(model).toHaveValue('gpt-4o-mini');

    await user.click(screen.getByRole('button', { name: 'Discard changes' }));
    await user.click(within(screen.getByRole('navigation', { name: 'Breadcrumb' })).getByRole('link', { name: 'Teams' }));
    await waitFor(() => expect(router.state.location.pathname).toBe('/teams'));
  });

  it('deletes after confirmation and goes back to the list', async () => {
    server.on('DELETE', TEAM_URL, noContent());
    const { user, router } = await openTeam();

    await user.click(screen.getByRole('button', { name: 'Delete' }));
    const dialog = screen.getByRole('dialog', { name: /Delete “Research crew”/ });
    expect(server.requests('DELETE')).toHaveLength(0);
    await user.click(within(dialog).getByRole('button', { name: 'Delete team' }));

    await waitFor(() => expect(router.state.location.pathname).toBe('/teams'));
    expect(server.requests('DELETE', TEAM_URL)).toHaveLength(1);
  });

  it('exports the AutoGen JSON as a download with the bearer token', async () => {
    server.on(
      'GET',
      `${TEAM_URL}/export`,
      new Response(JSON.stringify({ agent_configs: [] }), {
        headers: { 'Content-Type': 'application/json', 'Content-Disposition': `attachment; filename="team-${ID}.json"` },
      }),
    );
    const createObjectURL = vi.fn(() => 'blob:team');
    vi.stubGlobal('URL', Object.assign(URL, { createObjectURL, revokeObjectURL: vi.fn() }));
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      expect(this.download).toBe(`team-${ID}.json`);
      expect(this.href).toBe('blob:team');
    });
    const { user } = await openTeam();

    await user.click(screen.getByRole('button', { name: 'Export AutoGen JSON' }));

    await waitFor(() => expect(click).toHaveBeenCalledTimes(1));
    expect(createObjectURL).toHaveBeenCalledTimes(1);
    expect(server.requests('GET', `${TEAM_URL}/export`)[0]!.headers.get('Authorization')).toBe('Bearer access-1');
  });
});
