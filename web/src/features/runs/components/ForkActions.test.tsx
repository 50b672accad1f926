// Forking from the run page: "Fork from here", "Edit & rerun" (inline editor, focus,
// errors), and the lineage line of a forked run.
import { screen, within } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { apiError, installFakeServer, json, type FakeServer } from '@/testing/fake-server';
import { renderApp } from '@/testing/render-app';
import { runView } from '@/testing/runs';
import { grant, resetSession } from '@/testing/session';
import type { RunEvent } from '../types';
import { CODE, ev, RUN_ID, scriptedRun } from '../testing/events';
import { installFakeWebSocket, openedSocket, push } from '../testing/fake-socket';

const FORK_ID = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
const FORK_URL = `/api/v1/runs/${RUN_ID}/fork`;

const RUN = runView({ id: RUN_ID, task: 'Compare Fibonacci and primes', status: 'completed' });
const FORK = runView({
  id: FORK_ID,
  task: RUN.task,
  status: 'queued',
  forked_from: { run_id: RUN_ID, after_seq: 8, edited: true },
});

let server: FakeServer;

beforeEach(() => {
  resetSession();
  installFakeWebSocket();
  server = installFakeServer()
    .on('POST', '/api/v1/auth/session/refresh', json(grant('access-1')))
    .on('GET', '/api/v1/info', json({ version: '0.1.0', registration: false }))
    .on('GET', `/api/v1/runs/${RUN_ID}`, json(RUN))
    .on('GET', `/api/v1/runs/${FORK_ID}`, json(FORK));
});

/** The run page with `events` streamed (default: the scripted run, to its end). Its
 *  messages: User (seq 5), Python_Developer (8), Computer_terminal (12). */
async function openRun(events: RunEvent[] = scriptedRun()) {
  const app = renderApp(`/runs/${RUN_ID}`);
  await screen.findByRole('heading', { level: 1, name: RUN.task });
  const socket = await openedSocket();
  await push(socket, ...events);
  return { ...app, socket };
}

function article(name: string) {
  return screen.getByRole('article', { name: `${name} says` });
}

function forkBody(index = 0): unknown {
  return JSON.parse(server.requests('POST', FORK_URL)[index]!.body);
}

describe('Fork from here', () => {
  it('forks after the message and opens the new run', async () => {
    server.on('POST', FORK_URL, json(FORK, 202));
    const { user, router } = await openRun();

    await user.click(within(article('Python_Developer')).getByRole('button', { name: 'Fork from here' }));

    await vi.waitFor(() => expect(router.state.location.pathname).toBe(`/runs/${FORK_ID}`));
    expect(forkBody()).toEqual({ after_seq: 8, edit: null });
    expect(await screen.findByText(/Forked from/)).toBeInTheDocument();
  });

  it('offers the actions on every final message, the task message too, but not on one still streaming', async () => {
    const { socket } = await openRun(scriptedRun().slice(0, 8));
    for (const agent of ['User', 'Python_Developer']) {
      expect(within(article(agent)).getByRole('button', { name: 'Fork from here' })).toBeInTheDocument();
      expect(within(article(agent)).getByRole('button', { name: 'Edit & rerun' })).toBeInTheDocument();
    }
    // A message still streaming has no seq yet: nothing to fork from.
    await push(socket, ev(8, 'message_delta', { message_id: 'm3', agent: 'Computer_terminal', delta: 'exit' }));
    const streaming = article('Computer_terminal');
    expect(streaming).toHaveAttribute('aria-busy', 'true');
    expect(within(streaming).queryByRole('button')).not.toBeInTheDocument();
  });

  it('shows a 429 inline and stays on the run', async () => {
    server.on('POST', FORK_URL, apiError(429, 'rate_limited', 'too many runs in the last minute: try again in 30 s'));
    const { user, router } = await openRun();
    const message = article('Python_Developer');
    const button = within(message).getByRole('button', { name: 'Fork from here' });

    await user.click(button);

    const alert = await within(message).findByRole('alert');
    expect(alert).toHaveTextContent('Could not fork the run');
    expect(alert).toHaveTextContent('too many runs in the last minute');
    expect(router.state.location.pathname).toBe(`/runs/${RUN_ID}`);
    expect(button).toHaveFocus();
  });
});

describe('Edit & rerun', () => {
  it('opens an editor with the message, focused; Escape closes it and focus returns', async () => {
    const { user } = await openRun();
    const message = article('Python_Developer');
    const toggle = within(message).getByRole('button', { name: 'Edit & rerun' });
    expect(toggle).toHaveAttribute('aria-expanded', 'false');

    await user.click(toggle);

    const editor = within(message).getByRole('form', { name: 'Edit Python_Developer’s message' });
    const box = within(editor).getByRole('textbox', { name: 'New message' });
    expect(box).toHaveValue(`Here is the program:\n\`\`\`python\n${CODE}\n\`\`\``);
    expect(box).toHaveFocus();
    expect(toggle).toHaveAttribute('aria-expanded', 'true');

    await user.keyboard('{Escape}');
    expect(within(message).queryByRole('form')).not.toBeInTheDocument();
    expect(toggle).toHaveFocus();
    expect(server.requests('POST', FORK_URL)).toHaveLength(0);
  });

  it('forks with the edited text and opens the new run', async () => {
    server.on('POST', FORK_URL, json(FORK, 202));
    const { user, router } = await openRun();
    const message = article('Python_Developer');
    await user.click(within(message).getByRole('button', { name: 'Edit & rerun' }));
    const box = within(message).getByRole('textbox', { name: 'New message' });
    await user.clear(box);
    await user.type(box, 'Use the first 30 numbers instead.');

    await user.click(within(message).getByRole('button', { name: 'Rerun from here' }));

    await vi.waitFor(() => expect(router.state.location.pathname).toBe(`/runs/${FORK_ID}`));
    expect(forkBody()).toEqual({ after_seq: 8, edit: 'Use the first 30 numbers instead.' });
    // The new run's page: its lineage, its own transcript.
    expect(await screen.findByText(/Forked from/)).toHaveTextContent('message edited');
  });

  it('edits the task message: the rerun gets a new task text', async () => {
    server.on('POST', FORK_URL, json(FORK, 202));
    const { user, router } = await openRun();
    const task = article('User');
    await user.click(within(task).getByRole('button', { name: 'Edit & rerun' }));
    const box = within(task).getByRole('textbox', { name: 'New message' });
    expect(box).toHaveValue('Compare Fibonacci and primes');
    await user.type(box, ' up to 100{Control>}{Enter}{/Control}');

    await vi.waitFor(() => expect(router.state.location.pathname).toBe(`/runs/${FORK_ID}`));
    expect(forkBody()).toEqual({ after_seq: 5, edit: 'Compare Fibonacci and primes up to 100' });
  });

  it('sends unchanged text as a plain fork, and refuses an empty one', async () => {
    server.on('POST', FORK_URL, json(FORK, 202));
    const { user, router } = await openRun();
    const message = article('Computer_terminal');
    await user.click(within(message).getByRole('button', { name: 'Edit & rerun' }));
    const box = within(message).getByRole('textbox', { name: 'New message' });

    await user.clear(box);
    await user.click(within(message).getByRole('button', { name: 'Rerun from here' }));
    expect(box).toHaveAccessibleDescription(/Type the new message\./);
    expect(box).toHaveFocus();
    expect(server.requests('POST', FORK_URL)).toHaveLength(0);

    await user.type(box, 'exitcode: 0');
    await user.click(within(message).getByRole('button', { name: 'Rerun from here' }));
    await vi.waitFor(() => expect(router.state.location.pathname).toBe(`/runs/${FORK_ID}`));
    expect(forkBody()).toEqual({ after_seq: 12, edit: null });
  });

  it("puts the server's 422 on the box and keeps the editor open", async () => {
    server.on(
      'POST',
      FORK_URL,
      apiError(422, 'validation_failed', 'edit: must be at most 20000 characters', {
        fields: [{ field: 'edit', message: 'must be at most 20000 characters' }],
      }),
    );
    const { user, router } = await openRun();
    const message = article('Python_Developer');
    await user.click(within(message).getByRole('button', { name: 'Edit & rerun' }));
    const box = within(message).getByRole('textbox', { name: 'New message' });
    await user.type(box, ' More.');

    await user.click(within(message).getByRole('button', { name: 'Rerun from here' }));

    await vi.waitFor(() => expect(box).toHaveAccessibleDescription(/must be at most 20000 characters/));
    expect(box).toHaveAttribute('aria-invalid', 'true');
    expect(box).toHaveFocus();
    expect(router.state.location.pathname).toBe(`/runs/${RUN_ID}`);
  });

  it('shows a 422 about the fork point as an alert in the editor', async () => {
    server.on(
      'POST',
      FORK_URL,
      apiError(422, 'validation_failed', 'after_seq: fork at or after the task message (event 5)', {
        fields: [{ field: 'after_seq', message: 'fork at or after the task message (event 5)' }],
      }),
    );
    const { user } = await openRun();
    const message = article('Python_Developer');
    await user.click(within(message).getByRole('button', { name: 'Edit & rerun' }));
    await user.type(within(message).getByRole('textbox', { name: 'New message' }), '!');
    await user.click(within(message).getByRole('button', { name: 'Rerun from here' }));

    const alert = await within(message).findByRole('alert');
    expect(alert).toHaveTextContent('Could not start the new run');
    expect(alert).toHaveTextContent('fork at or after the task message (event 5)');
    expect(within(message).getByRole('form')).toBeInTheDocument();
  });
});

describe('Lineage', () => {
  it('names the run a fork came from, the fork point and the edit', async () => {
    renderApp(`/runs/${FORK_ID}`);
    await screen.findByRole('heading', { level: 1, name: RUN.task });
    const line = screen.getByText(/Forked from/);
    expect(line).toHaveTextContent(`Forked from run ${RUN_ID.slice(0, 8)} after event #8 · message edited`);
    expect(within(line).getByRole('link', { name: `run ${RUN_ID.slice(0, 8)}` })).toHaveAttribute('href', `/runs/${RUN_ID}`);
  });

  it('says nothing of an edit for a plain fork, and nothing at all for an ordinary run', async () => {
    server.on('GET', `/api/v1/runs/${FORK_ID}`, json({ ...FORK, forked_from: { run_id: RUN_ID, after_seq: 12, edited: false } }));
    const { unmount } = renderApp(`/runs/${FORK_ID}`);
    await screen.findByRole('heading', { level: 1, name: RUN.task });
    expect(screen.getByText(/Forked from/)).toHaveTextContent(/after event #12$/);
    unmount();

    renderApp(`/runs/${RUN_ID}`);
    await screen.findByRole('heading', { level: 1, name: RUN.task });
    expect(screen.queryByText(/Forked from/)).not.toBeInTheDocument();
  });

  it('renders the copied history like any other events, the fork note as a log line', async () => {
    renderApp(`/runs/${FORK_ID}`);
    await screen.findByRole('heading', { level: 1, name: RUN.task });
    const socket = await openedSocket();
    const [, , team] = scriptedRun();
    await push(
      socket,
      { ...team!, seq: 1 },
      ev(2, 'log', { level: 'info', message: `Forked from run ${RUN_ID} after event 8, with Python_Developer's message edited` }),
      ev(3, 'message', { message_id: 'm1', agent: 'User', content: 'Compare Fibonacci and primes', tokens: 0 }),
      ev(4, 'speaker', { agent: 'Python_Developer', reason: 'auto' }),
      ev(5, 'message', { message_id: 'm2', agent: 'Python_Developer', content: 'Use the first 30 numbers instead.', tokens: 0 }),
    );
    const log = screen.getByRole('log');
    expect(within(log).getByText(/with Python_Developer's message edited/).closest('p')).toHaveClass('transcript__log');
    expect(within(log).getAllByRole('article').map((a) => a.getAttribute('aria-label'))).toEqual(['User says', 'Python_Developer says']);
    expect(article('Python_Developer')).toHaveTextContent('Use the first 30 numbers instead.');
    // The copies are messages of this run: they fork from this run.
    expect(within(article('Python_Developer')).getByRole('button', { name: 'Fork from here' })).toBeInTheDocument();
  });
});
