import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ImportedTeam, SelectionMethod, StarterTeam, Team, TeamSpec } from '@/lib/api/types';
import { apiError, json, type FakeServer } from '@/testing/fake-server';
import { renderApp } from '@/testing/render-app';
import { installSignedInServer, resetSession } from '@/testing/session';

const TEAMS = '/api/v1/teams';

function team(id: string, name: string, agents = 2, method: SelectionMethod = 'round_robin'): Team {
  return {
    id,
    name,
    spec: {
      name,
      agents: Array.from({ length: agents }, (_, i) => ({ name: `A${i}`, system_message: 'x', description: '' })),
      speaker_selection: { method },
    },
    created_at: '2026-05-01T09:00:00Z',
    updated_at: '2026-05-01T10:00:00Z',
  };
}

const STARTERS: StarterTeam[] = [
  {
    id: 'research-and-write',
    label: 'Research and write',
    description: 'A researcher gathers facts, a writer drafts, a critic reviews.',
    spec: {
      name: 'Research and write',
      agents: [
        { name: 'Researcher', system_message: 'You research.', description: 'Finds facts.' },
        { name: 'Writer', system_message: 'You write.', description: 'Drafts.' },
        { name: 'Critic', system_message: 'You review.', description: 'Reviews.' },
      ],
      speaker_selection: { method: 'round_robin' },
    },
  },
  {
    id: 'code-and-check',
    label: 'Code and check',
    description: 'A developer writes Python, the executor runs it, a reviewer checks the output.',
    spec: {
      name: 'Code and check',
      agents: [
        { name: 'Developer', system_message: 'You code.', description: 'Writes code.' },
        { name: 'Reviewer', system_message: 'You review.', description: 'Checks output.' },
      ],
      speaker_selection: { method: 'auto' },
      code_execution: { enabled: true, executor_name: 'Computer_terminal', languages: ['python'] },
    },
  },
];

function imported(base: Team, format: ImportedTeam['format'], notes: string[] = []): ImportedTeam {
  return { ...base, format, notes };
}

let server: FakeServer;

beforeEach(() => {
  resetSession();
  server = installSignedInServer()
    .on('GET', TEAMS, json({ teams: [team('t1', 'Research crew', 3), team('t2', 'Coders', 1, 'auto')], next_cursor: null }))
    .on('GET', `${TEAMS}/gallery`, json({ teams: STARTERS }));
});

async function openTeams() {
  const app = renderApp('/teams');
  await screen.findByRole('heading', { name: 'Teams', level: 1 });
  return app;
}

describe('TeamsPage', () => {
  it('lists the saved teams', async () => {
    await openTeams();
    const table = await screen.findByRole('table', { name: /your teams/i });
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows).toHaveLength(2);
    expect(within(rows[0]!).getByRole('link', { name: 'Research crew' })).toHaveAttribute('href', '/teams/t1');
    expect(rows[0]).toHaveTextContent('3');
    expect(rows[0]).toHaveTextContent('Round robin');
    expect(rows[1]).toHaveTextContent('Auto');
  });

  it('creates a new team with one agent and opens it', async () => {
    server.on('POST', TEAMS, async (request) => json({ ...team('t3', 'New team', 1), spec: (await request.json()) as TeamSpec }, 201));
    server.on('GET', `${TEAMS}/t3`, json(team('t3', 'New team', 1)));
    const { user, router } = await openTeams();

    await user.click(screen.getByRole('button', { name: 'New team' }));

    await waitFor(() => expect(router.state.location.pathname).toBe('/teams/t3'));
    const body = JSON.parse(server.requests('POST', TEAMS)[0]!.body) as { name: string; agents: unknown[] };
    expect(body.name).toBe('New team');
    expect(body.agents).toHaveLength(1);
  });

  it('imports pasted AutoGen JSON and opens the team, which says how the file was read', async () => {
    server.on('POST', `${TEAMS}/import`, json(imported(team('t9', 'Imported'), 'autogen_builder'), 201));
    server.on('GET', `${TEAMS}/t9`, json(team('t9', 'Imported')));
    const { user, router } = await openTeams();
    const file = { agent_configs: [{ name: 'Analyst', system_message: 'You analyse.' }], coding: false };

    fireEvent.change(screen.getByRole('textbox', { name: /JSON to import/ }), { target: { value: JSON.stringify(file) } });
    await user.click(screen.getByRole('button', { name: 'Import team' }));

    await waitFor(() => expect(router.state.location.pathname).toBe('/teams/t9'));
    expect(JSON.parse(server.requests('POST', `${TEAMS}/import`)[0]!.body)).toEqual(file);
    await screen.findByRole('heading', { name: 'Imported', level: 1 });
    const notice = screen.getByText(/^Imported from/).closest('.notice') as HTMLElement;
    expect(notice).toHaveTextContent('Imported from an AutoGen AgentBuilder file.');
    expect(within(notice).queryByRole('list')).not.toBeInTheDocument();
  });

  it('lists the notes of an AgentChat import on the team page until dismissed', async () => {
    const notes = [
      'termination_condition MaxMessageTermination(10) became max_round 10',
      'model_client of Analyst (OpenAIChatCompletionClient) kept for export, not used: runs use the run model',
    ];
    server.on('POST', `${TEAMS}/import`, json(imported(team('t9', 'Studio team'), 'agentchat', notes), 201));
    server.on('GET', `${TEAMS}/t9`, json(team('t9', 'Studio team')));
    const { user, router } = await openTeams();
    const component = { provider: 'autogen_agentchat.teams.RoundRobinGroupChat', component_type: 'team', config: { participants: [] } };

    fireEvent.change(screen.getByRole('textbox', { name: /JSON to import/ }), { target: { value: JSON.stringify(component) } });
    await user.click(screen.getByRole('button', { name: 'Import team' }));

    await screen.findByRole('heading', { name: 'Studio team', level: 1 });
    const list = screen.getByRole('list', { name: 'Import notes' });
    expect(within(list).getAllByRole('listitem').map((item) => item.textContent)).toEqual(notes);
    const notice = list.closest('.notice') as HTMLElement;
    expect(notice).toHaveAttribute('role', 'status');
    expect(notice).toHaveTextContent('Imported from an AutoGen AgentChat / AutoGen Studio team.');
    expect(notice).toHaveTextContent('2 things to know:');

    await user.click(within(notice).getByRole('button', { name: 'Dismiss' }));
    expect(screen.queryByRole('list', { name: 'Import notes' })).not.toBeInTheDocument();
    expect(router.state.location.pathname).toBe('/teams/t9');
  });

  it('shows the gallery and saves a starter team to my teams', async () => {
    const saved = { ...team('t5', 'Code and check', 2, 'auto'), spec: STARTERS[1]!.spec };
    server.on('POST', TEAMS, json(saved, 201));
    const { user } = await openTeams();
    const gallery = screen.getByRole('region', { name: 'Starter gallery' });
    const cards = await within(gallery).findAllByRole('listitem');
    expect(cards).toHaveLength(2);
    const research = within(gallery).getByRole('listitem', { name: 'Research and write' });
    expect(research).toHaveTextContent('A researcher gathers facts, a writer drafts, a critic reviews.');
    expect(research).toHaveTextContent('Agents: Researcher, Writer, Critic');
    expect(research).toHaveTextContent('Round robin');
    const code = within(gallery).getByRole('listitem', { name: 'Code and check' });
    expect(code).toHaveTextContent('Runs code');

    // After the save the list shows the team (the list is fetched again).
    server.on('GET', TEAMS, json({ teams: [saved, team('t1', 'Research crew', 3)], next_cursor: null }));
    await user.click(within(code).getByRole('button', { name: 'Save to my teams' }));

    expect(JSON.parse(server.requests('POST', TEAMS)[0]!.body)).toEqual(STARTERS[1]!.spec);
    expect(await within(code).findByRole('status')).toHaveTextContent('Saved.');
    expect(within(code).getByRole('link', { name: 'Open “Code and check”' })).toHaveAttribute('href', '/teams/t5');
    const table = screen.getByRole('table', { name: /your teams/i });
    expect(await within(table).findByRole('link', { name: 'Code and check' })).toHaveAttribute('href', '/teams/t5');
  });

  it('shows why a starter team could not be saved, on its card', async () => {
    server.on('POST', TEAMS, apiError(429, 'rate_limited', 'slow down'));
    const { user } = await openTeams();
    const card = await screen.findByRole('listitem', { name: 'Research and write' });
    await user.click(within(card).getByRole('button', { name: 'Save to my teams' }));
    const alert = await within(card).findByRole('alert');
    expect(alert).toHaveTextContent('Could not save the team');
    expect(alert).toHaveTextContent('slow down');
  });

  it('loads a chosen file into the import box', async () => {
    const { user } = await openTeams();
    const content = '{"agent_configs": []}';
    await user.upload(screen.getByLabelText('File'), new File([content], 'builder.json', { type: 'application/json' }));
    expect(await screen.findByText('Loaded builder.json into the box below.')).toBeInTheDocument();
    expect(screen.getByRole('textbox', { name: /JSON to import/ })).toHaveValue(content);
  });

  it("shows the server's 422 message for a file it refuses", async () => {
    server.on(
      'POST',
      `${TEAMS}/import`,
      apiError(422, 'validation_failed', 'invalid AutoGen file: `agent_configs` is empty: a team needs at least one agent'),
    );
    const { user, router } = await openTeams();

    fireEvent.change(screen.getByRole('textbox', { name: /JSON to import/ }), { target: { value: '{"agent_configs": []}' } });
    await user.click(screen.getByRole('button', { name: 'Import team' }));

    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('The server refused this file');
    expect(alert).toHaveTextContent('`agent_configs` is empty: a team needs at least one agent');
    expect(router.state.location.pathname).toBe('/teams');
  });

  it('catches malformed JSON before sending it', async () => {
    const { user } = await openTeams();
    const box = screen.getByRole('textbox', { name: /JSON to import/ });
    fireEvent.change(box, { target: { value: '{"agent_configs": [\n  {"name": "A",}\n]}' } });
    await user.click(screen.getByRole('button', { name: 'Import team' }));

    expect(box).toHaveAccessibleDescription(/Invalid JSON at line 2, column \d+/);
    expect(server.requests('POST', `${TEAMS}/import`)).toHaveLength(0);
  });
});
