import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import type { SelectionMethod, Team, TeamSpec } from '@/lib/api/types';
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

let server: FakeServer;

beforeEach(() => {
  resetSession();
  server = installSignedInServer()
    .on('GET', TEAMS, json({ teams: [team('t1', 'Research crew', 3), team('t2', 'Coders', 1, 'auto')], next_cursor: null }));
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

  it('imports pasted AutoGen JSON and opens the team', async () => {
    server.on('POST', `${TEAMS}/import`, json(team('t9', 'Imported'), 201));
    server.on('GET', `${TEAMS}/t9`, json(team('t9', 'Imported')));
    const { user, router } = await openTeams();
    const file = { agent_configs: [{ name: 'Analyst', system_message: 'You analyse.' }], coding: false };

    fireEvent.change(screen.getByRole('textbox', { name: /AutoGen JSON/ }), { target: { value: JSON.stringify(file) } });
    await user.click(screen.getByRole('button', { name: 'Import team' }));

    await waitFor(() => expect(router.state.location.pathname).toBe('/teams/t9'));
    expect(JSON.parse(server.requests('POST', `${TEAMS}/import`)[0]!.body)).toEqual(file);
  });

  it('loads a chosen file into the import box', async () => {
    const { user } = await openTeams();
    const content = '{"agent_configs": []}';
    await user.upload(screen.getByLabelText('File'), new File([content], 'builder.json', { type: 'application/json' }));
    expect(await screen.findByText('Loaded builder.json into the box below.')).toBeInTheDocument();
    expect(screen.getByRole('textbox', { name: /AutoGen JSON/ })).toHaveValue(content);
  });

  it("shows the server's 422 message for a file it refuses", async () => {
    server.on(
      'POST',
      `${TEAMS}/import`,
      apiError(422, 'validation_failed', 'invalid AutoGen file: `agent_configs` is empty: a team needs at least one agent'),
    );
    const { user, router } = await openTeams();

    fireEvent.change(screen.getByRole('textbox', { name: /AutoGen JSON/ }), { target: { value: '{"agent_configs": []}' } });
    await user.click(screen.getByRole('button', { name: 'Import team' }));

    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('The server refused this file');
    expect(alert).toHaveTextContent('`agent_configs` is empty: a team needs at least one agent');
    expect(router.state.location.pathname).toBe('/teams');
  });

  it('catches malformed JSON before sending it', async () => {
    const { user } = await openTeams();
    const box = screen.getByRole('textbox', { name: /AutoGen JSON/ });
    fireEvent.change(box, { target: { value: '{"agent_configs": [\n  {"name": "A",}\n]}' } });
    await user.click(screen.getByRole('button', { name: 'Import team' }));

    expect(box).toHaveAccessibleDescription(/Invalid JSON at line 2, column \d+/);
    expect(server.requests('POST', `${TEAMS}/import`)).toHaveLength(0);
  });
});
