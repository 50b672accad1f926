import { fireEvent, render, screen, within } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { installFakeServer, json, type FakeServer } from '@/testing/fake-server';
import { renderApp } from '@/testing/render-app';
import { grant, resetSession } from '@/testing/session';
import { runView } from '@/testing/runs';
import { applyEvents, initialRunView } from '../stores/run-view';
import { ev, finishedData, RUN_ID, scriptedRun, TEAM } from '../testing/events';
import { installFakeWebSocket, openedSocket, push } from '../testing/fake-socket';
import { StatusStepper } from './StatusStepper';
import { Transcript } from './Transcript';

const RUN = runView({
  id: RUN_ID,
  task: 'Compare the first 20 Fibonacci numbers with the first 20 primes',
  status: 'executing',
  started_at: '2026-05-01T10:00:01Z',
});

let server: FakeServer;

beforeEach(() => {
  resetSession();
  installFakeWebSocket();
  server = installFakeServer()
    .on('POST', '/api/v1/auth/session/refresh', json(grant('access-1')))
    .on('GET', '/api/v1/info', json({ version: '0.1.0', registration: false }))
    .on('GET', `/api/v1/runs/${RUN_ID}`, json(RUN));
});

async function openRun() {
  const app = renderApp(`/runs/${RUN_ID}`);
  await screen.findByRole('heading', { level: 1, name: RUN.task });
  const socket = await openedSocket();
  return { ...app, socket };
}

describe('RunPage', () => {
  it('streams from after=0 with the access token and shows the connection state', async () => {
    const { socket } = await openRun();
    const url = new URL(socket.url);
    expect(url.pathname).toBe(`/api/v1/runs/${RUN_ID}/ws`);
    expect(url.searchParams.get('after')).toBe('0');
    expect(url.searchParams.get('access_token')).toBe('access-1');
    expect(screen.getAllByRole('status').some((el) => el.textContent === 'Live')).toBe(true);
  });

  it('renders the whole run: stepper, team cards, markdown, code result, speakers, summary, usage', async () => {
    const { socket } = await openRun();
    const events = scriptedRun();
    await push(socket, ...events.slice(0, 12));

    const stepper = screen.getByRole('list', { name: 'Run progress' });
    expect(within(stepper).getByText('Executing').closest('li')).toHaveAttribute('aria-current', 'step');

    const agents = screen.getByRole('list', { name: 'Agents' });
    expect(within(agents).getAllByRole('listitem')).toHaveLength(4); // 3 experts + the executor
    const toggle = within(agents).getAllByRole('button', { name: 'Show system message' })[0]!;
    expect(toggle).toHaveAttribute('aria-expanded', 'false');
    fireEvent.click(toggle);
    expect(toggle).toHaveAttribute('aria-expanded', 'true');
    expect(within(agents).getByText('You are a mathematician.')).toBeInTheDocument();

    const dev = screen.getByRole('article', { name: 'Python_Developer says' });
    expect(within(dev).getByText(/Here is the program/)).toBeInTheDocument();
    expect(dev.querySelector('pre code.language-python')).not.toBeNull();
    const result = within(dev).getByRole('region', { name: 'Code result' });
    expect(result).toHaveTextContent('exit code 0');
    expect(result).toHaveTextContent('412 ms');
    expect(result.querySelector('pre')).toHaveTextContent('First 20 Fibonacci numbers');
    const log = screen.getByRole('log');
    expect(within(log).getByText('Computer_terminal', { selector: 'strong' }).closest('p')).toHaveTextContent('→ Next speaker: Computer_terminal (code to execute)');
    expect(screen.getByRole('button', { name: 'Cancel run' })).toBeInTheDocument();

    await push(socket, ...events.slice(12));
    expect(await screen.findByRole('region', { name: 'Summary' })).toHaveTextContent('All done.');
    expect(within(screen.getByRole('region', { name: 'Summary' })).getByText('done').tagName).toBe('STRONG');
    expect(within(stepper).getByText('Completed').closest('li')).toHaveAttribute('aria-current', 'step');
    expect(screen.queryByRole('button', { name: 'Cancel run' })).not.toBeInTheDocument();
    const usage = screen.getByLabelText('Usage');
    expect(usage).toHaveTextContent('300');
    expect(usage).toHaveTextContent('70');
    expect(socket.closed).toBe(true);
  });

  it('shows a streaming message with a typing cursor, then the final one once', async () => {
    const { socket } = await openRun();
    await push(socket, ev(1, 'status', { status: 'executing' }), ev(1, 'message_delta', { message_id: 'x', agent: 'Writer', delta: 'Hel' }));
    await push(socket, ev(1, 'message_delta', { message_id: 'x', agent: 'Writer', delta: 'lo' }));
    const article = screen.getByRole('article', { name: 'Writer says' });
    expect(article).toHaveAttribute('aria-busy', 'true');
    expect(article).toHaveTextContent('Hello');
    expect(article.querySelector('.typing-cursor')).not.toBeNull();
    await push(socket, ev(2, 'message', { message_id: 'x', agent: 'Writer', content: 'Hello world', tokens: 2 }));
    const final = screen.getAllByRole('article', { name: 'Writer says' });
    expect(final).toHaveLength(1);
    expect(final[0]).not.toHaveAttribute('aria-busy');
    expect(final[0]).toHaveTextContent('Hello world');
  });

  it('lists the files a code block wrote under its result, with the image shown', async () => {
    const png = `/api/v1/runs/${RUN_ID}/files/${encodeURIComponent('fib_vs_primes.png')}`;
    server.on('GET', png, new Response('PNG', { headers: { 'Content-Type': 'image/png' } }));
    vi.stubGlobal('URL', Object.assign(URL, { createObjectURL: vi.fn(() => 'blob:chart'), revokeObjectURL: vi.fn() }));
    const { socket } = await openRun();
    await push(
      socket,
      ev(1, 'message', { message_id: 'c', agent: 'Coder', content: '```python\nplot()\n```', tokens: 3 }),
      ev(2, 'code', { message_id: 'c', language: 'python', code: 'plot()' }),
      ev(3, 'code_result', {
        message_id: 'c',
        exit_code: 0,
        stdout: '',
        stderr: '',
        duration_ms: 40,
        timed_out: false,
        files: [
          { path: 'fib_vs_primes.csv', size_bytes: 324, content_type: 'text/csv', stored: true },
          { path: 'fib_vs_primes.png', size_bytes: 1305, content_type: 'image/png', stored: true },
        ],
      }),
    );
    const result = within(screen.getByRole('article', { name: 'Coder says' })).getByRole('region', { name: 'Code result' });
    const files = within(result).getByRole('list', { name: 'Files written' });
    expect(files).toHaveTextContent('fib_vs_primes.csv');
    expect(files).toHaveTextContent('324 B');
    expect(within(files).getByRole('button', { name: 'Download fib_vs_primes.csv' })).toBeInTheDocument();
    expect(await within(files).findByRole('img', { name: 'fib_vs_primes.png' })).toHaveAttribute('src', 'blob:chart');
    expect(server.requests('GET', png)[0]?.headers.get('Authorization')).toBe('Bearer access-1');
  });

  it('shows tool calls as cards: arguments, result and status (answered, refused, running)', async () => {
    const { socket, user } = await openRun();
    await push(
      socket,
      ev(1, 'speaker', { agent: 'Researcher', reason: 'auto' }),
      ev(2, 'tool_call', { message_id: 'r1', call_id: 'c1', agent: 'Researcher', tool: 'notebook.remember', arguments: { fact: 'F(20) = 6765', tags: ['fib'] } }),
      ev(3, 'tool_result', { message_id: 'r1', call_id: 'c1', agent: 'Researcher', tool: 'notebook.remember', content: 'Remembered 1 fact.', is_error: false, duration_ms: 42 }),
      ev(4, 'tool_call', { message_id: 'r1', call_id: 'c2', agent: 'Researcher', tool: 'shell.exec', arguments: { cmd: 'ls' } }),
      ev(5, 'tool_result', {
        message_id: 'r1',
        call_id: 'c2',
        agent: 'Researcher',
        tool: 'shell.exec',
        content: 'Refused: shell.exec is not a tool Researcher may call.',
        is_error: true,
        refused: true,
        duration_ms: 0,
      }),
      ev(6, 'tool_call', { message_id: 'r1', call_id: 'c3', agent: 'Researcher', tool: 'files.read', arguments: {} }),
    );

    const answered = screen.getByRole('article', { name: 'Researcher called notebook.remember' });
    expect(within(answered).getByRole('heading', { level: 3, name: 'Researcher called notebook.remember' })).toBeInTheDocument();
    expect(within(answered).getByText('answered in 42 ms')).toBeInTheDocument();
    expect(within(answered).getByText('Remembered 1 fact.')).toBeVisible();
    const args = within(answered).getByText('Arguments').closest('details')!;
    expect(args).not.toHaveAttribute('open');
    await user.click(within(answered).getByText('Arguments'));
    expect(args).toHaveAttribute('open');
    expect(JSON.parse(args.querySelector('pre')!.textContent ?? '')).toEqual({ fact: 'F(20) = 6765', tags: ['fib'] });
    expect(args.querySelector('pre')!.textContent).toContain('\n  "fact": "F(20) = 6765"');

    const refused = screen.getByRole('article', { name: 'Researcher called shell.exec' });
    expect(within(refused).getByText('refused')).toHaveClass('badge--warning');
    expect(refused).toHaveClass('tool-call--refused');
    expect(refused).toHaveTextContent('Refused: shell.exec is not a tool Researcher may call.');

    const running = screen.getByRole('article', { name: 'Researcher called files.read' });
    expect(running).toHaveAttribute('aria-busy', 'true');
    expect(within(running).getByText('running…')).toBeInTheDocument();
    expect(within(running).getByText('No arguments.')).toBeInTheDocument();

    // In seq order, before the turn's final message.
    await push(
      socket,
      ev(7, 'tool_result', { message_id: 'r1', call_id: 'c3', agent: 'Researcher', tool: 'files.read', content: 'boom', is_error: true, duration_ms: 5 }),
      ev(8, 'message', { message_id: 'r1', agent: 'Researcher', content: 'F(20) is 6765.', tokens: 6 }),
    );
    expect(within(running).getByText('failed')).toHaveClass('badge--danger');
    expect(running).not.toHaveAttribute('aria-busy');
    const log = screen.getByRole('log');
    const order = within(log)
      .getAllByRole('article')
      .map((article) => article.getAttribute('aria-label') ?? article.querySelector('h3')?.textContent);
    expect(order).toEqual(['Researcher called notebook.remember', 'Researcher called shell.exec', 'Researcher called files.read', 'Researcher says']);
  });

  it('folds a long tool result', async () => {
    const { socket } = await openRun();
    const long = Array.from({ length: 40 }, (_, i) => `line ${i + 1}`).join('\n');
    await push(
      socket,
      ev(1, 'tool_call', { message_id: 'r1', call_id: 'c1', agent: 'Researcher', tool: 'files.read', arguments: { path: 'notes.txt' } }),
      ev(2, 'tool_result', { message_id: 'r1', call_id: 'c1', agent: 'Researcher', tool: 'files.read', content: long, is_error: false, duration_ms: 1500 }),
    );
    const card = screen.getByRole('article', { name: 'Researcher called files.read' });
    expect(within(card).getByText('answered in 1.5 s')).toBeInTheDocument();
    const folded = within(card).getByText(/^Result \(40 lines/).closest('details')!;
    expect(folded).not.toHaveAttribute('open');
    expect(folded.querySelector('pre')).toHaveTextContent('line 40');
  });

  it('never renders raw HTML from a message', async () => {
    const { socket } = await openRun();
    await push(socket, ev(1, 'message', { message_id: 'h', agent: 'Evil', content: 'hi <img src="x" onerror="alert(1)"> <script>alert(2)</script>', tokens: 1 }));
    const article = screen.getByRole('article', { name: 'Evil says' });
    expect(article.querySelector('img')).toBeNull();
    expect(article.querySelector('script')).toBeNull();
  });

  it('shows the input box while the run waits for input and posts the answer', async () => {
    server.on('POST', `/api/v1/runs/${RUN_ID}/input`, json({ ...RUN, status: 'executing' }, 202));
    const { socket, user } = await openRun();
    expect(screen.queryByRole('form', { name: 'Answer the run' })).not.toBeInTheDocument();
    await push(socket, ev(1, 'status', { status: 'waiting_input' }), ev(2, 'input_request', { prompt: 'Who speaks next?\n1. Writer\n2. Critic' }));
    const form = screen.getByRole('form', { name: 'Answer the run' });
    expect(form).toHaveTextContent('2. Critic');
    expect(within(screen.getByRole('list', { name: 'Run progress' })).getByText('Waiting for input').closest('li')).toHaveAttribute('aria-current', 'step');
    await user.type(within(form).getByRole('textbox', { name: 'Your answer' }), '2');
    await user.click(within(form).getByRole('button', { name: 'Send' }));
    await vi.waitFor(() => expect(server.requests('POST', `/api/v1/runs/${RUN_ID}/input`)).toHaveLength(1));
    expect(JSON.parse(server.requests('POST', `/api/v1/runs/${RUN_ID}/input`)[0]!.body)).toEqual({ content: '2' });
    await push(socket, ev(3, 'input', { content: '2' }), ev(4, 'status', { status: 'executing' }));
    expect(screen.queryByRole('form', { name: 'Answer the run' })).not.toBeInTheDocument();
  });

  it('offers a button per candidate for manual speaker selection', async () => {
    server.on('POST', `/api/v1/runs/${RUN_ID}/input`, json({ ...RUN, status: 'executing' }, 202));
    const { socket, user } = await openRun();
    await push(
      socket,
      ev(1, 'status', { status: 'waiting_input' }),
      ev(2, 'input_request', { prompt: 'Who speaks next?\n1. Writer\n2. Critic', options: ['Writer', 'Critic'] }),
    );
    const choices = screen.getByRole('group', { name: 'Choose an answer' });
    await user.click(within(choices).getByRole('button', { name: 'Critic' }));
    await vi.waitFor(() => expect(server.requests('POST', `/api/v1/runs/${RUN_ID}/input`)).toHaveLength(1));
    expect(JSON.parse(server.requests('POST', `/api/v1/runs/${RUN_ID}/input`)[0]!.body)).toEqual({ content: 'Critic' });
    expect(screen.getByRole('textbox', { name: 'Or type an answer' })).toBeInTheDocument();
  });

  it('tells a user speaking as an agent how long the team waits and what happens then', async () => {
    const { socket } = await openRun();
    const at = new Date(Date.now() - 10_000).toISOString();
    await push(
      socket,
      ev(1, 'status', { status: 'waiting_input' }),
      {
        ...ev(2, 'input_request', {
          prompt: 'Your turn as Reviewer',
          agent: 'Reviewer',
          timeout_secs: 60,
          default: 'Looks fine.',
        }),
        at,
      },
    );
    const form = screen.getByRole('form', { name: 'Answer the run' });
    expect(screen.getByRole('heading', { name: 'Your turn as Reviewer' })).toBeInTheDocument();
    const timer = within(form).getByRole('timer');
    expect(timer).toHaveTextContent(/The team waits (49|50) s more; then Reviewer says: “Looks fine.”/);
    expect(within(form).queryByRole('group', { name: 'Choose an answer' })).not.toBeInTheDocument();
  });

  it('asks for confirmation before cancelling', async () => {
    server.on('POST', `/api/v1/runs/${RUN_ID}/cancel`, json({ ...RUN, cancel_requested: true }, 202));
    const { socket, user } = await openRun();
    await push(socket, ev(1, 'status', { status: 'executing' }));
    await user.click(screen.getByRole('button', { name: 'Cancel run' }));
    const dialog = screen.getByRole('dialog', { name: 'Cancel this run?' });
    await user.click(within(dialog).getByRole('button', { name: 'Keep running' }));
    expect(server.requests('POST', `/api/v1/runs/${RUN_ID}/cancel`)).toHaveLength(0);

    await user.click(screen.getByRole('button', { name: 'Cancel run' }));
    await user.click(within(screen.getByRole('dialog', { name: 'Cancel this run?' })).getByRole('button', { name: 'Cancel run' }));
    await vi.waitFor(() => expect(server.requests('POST', `/api/v1/runs/${RUN_ID}/cancel`)).toHaveLength(1));
    expect(await screen.findByRole('button', { name: 'Cancelling…' })).toBeDisabled();
    await push(socket, ev(2, 'status', { status: 'cancelled' }), ev(3, 'finished', finishedData('cancelled', { summary: 'cancelled by the user', reason: 'cancelled' })));
    expect(within(screen.getByRole('list', { name: 'Run progress' })).getByText('Cancelled').closest('li')).toHaveAttribute('aria-current', 'step');
  });

  it('lets a build-only team be edited, saved and run', async () => {
    const teamId = '33333333-3333-4333-8333-333333333333';
    server
      .on('POST', '/api/v1/teams', json({ id: teamId, name: 'Edited', spec: {}, created_at: RUN.created_at, updated_at: RUN.created_at }, 201))
      .on('POST', '/api/v1/runs', json({ ...RUN, id: '44444444-4444-4444-8444-444444444444', status: 'queued' }, 202));
    const { socket, user, router } = await openRun();
    await push(
      socket,
      ev(1, 'status', { status: 'building' }),
      ev(2, 'team', { team: TEAM }),
      ev(3, 'status', { status: 'completed' }),
      ev(4, 'finished', finishedData('completed', { summary: 'team built', reason: 'build_only' })),
    );
    const review = screen.getByRole('region', { name: 'Review the team' });
    const first = within(review).getAllByRole('group')[0]!;
    const description = within(first).getByRole('textbox', { name: 'Description' });
    await user.clear(description);
    await user.type(description, 'Counts carefully.');
    await user.clear(within(review).getByRole('textbox', { name: 'Team name' }));
    await user.type(within(review).getByRole('textbox', { name: 'Team name' }), 'Edited');

    await user.click(within(review).getByRole('button', { name: 'Save as team' }));
    expect(await within(review).findByRole('link', { name: /Open team/ })).toHaveAttribute('href', `/teams/${teamId}`);
    const saved = JSON.parse(server.requests('POST', '/api/v1/teams')[0]!.body) as typeof TEAM;
    expect(saved.name).toBe('Edited');
    expect(saved.agents[0]!.description).toBe('Counts carefully.');
    expect(saved.code_execution).toEqual(TEAM.code_execution);

    await user.click(within(review).getByRole('button', { name: 'Run this team' }));
    await vi.waitFor(() => expect(router.state.location.pathname).toBe('/runs/44444444-4444-4444-8444-444444444444'), {
      timeout: 10_000,
    });
    const body = JSON.parse(server.requests('POST', '/api/v1/runs')[0]!.body) as { task: string; team: typeof TEAM; model?: string };
    expect(body.task).toBe(RUN.task);
    // The build's own settings carry over (here its model).
    expect(body.model).toBe(RUN.settings.model);
    expect(body.team.agents[0]!.description).toBe('Counts carefully.');
  });
});

describe('StatusStepper', () => {
  it('marks the current step and the finished ones', () => {
    const view = applyEvents(initialRunView, scriptedRun().slice(0, 4));
    render(<StatusStepper status="executing" timeline={view.timeline} />);
    const steps = within(screen.getByRole('list', { name: 'Run progress' })).getAllByRole('listitem');
    expect(steps.map((s) => s.textContent?.replace(/\d{1,2}:\d{2}.*$/, '').trim())).toHaveLength(4);
    expect(steps[0]).toHaveTextContent('Queued (done)');
    expect(steps[1]).toHaveTextContent('Building (done)');
    expect(steps[2]).toHaveAttribute('aria-current', 'step');
    expect(steps[3]).not.toHaveAttribute('aria-current');
  });

  it('shows a failed run as failed', () => {
    render(<StatusStepper status="failed" timeline={[{ seq: 1, status: 'building', at: '2026-05-01T10:00:00Z' }, { seq: 2, status: 'failed', at: '2026-05-01T10:00:01Z' }]} />);
    const steps = within(screen.getByRole('list', { name: 'Run progress' })).getAllByRole('listitem');
    expect(steps[3]).toHaveTextContent('Failed');
    expect(steps[3]).toHaveAttribute('aria-current', 'step');
    expect(steps[2]).toHaveTextContent('(skipped)');
  });
});

describe('Transcript auto-scroll', () => {
  function metrics(el: HTMLElement, { scrollHeight, clientHeight }: { scrollHeight: number; clientHeight: number }) {
    Object.defineProperty(el, 'scrollHeight', { configurable: true, value: scrollHeight });
    Object.defineProperty(el, 'clientHeight', { configurable: true, value: clientHeight });
  }

  it('sticks to the bottom, and offers "Jump to latest" once the reader scrolls up', () => {
    const first = applyEvents(initialRunView, scriptedRun().slice(0, 6));
    const { rerender } = render(<Transcript items={first.items} code={first.code} />);
    const scroller = screen.getByRole('region', { name: 'Transcript' });
    expect(within(scroller).getByRole('log')).toHaveAttribute('aria-live', 'polite');

    metrics(scroller, { scrollHeight: 1000, clientHeight: 300 });
    const more = applyEvents(first, scriptedRun().slice(6, 9));
    rerender(<Transcript items={more.items} code={more.code} />);
    expect(scroller.scrollTop).toBe(1000); // followed the new content
    expect(screen.queryByRole('button', { name: /Jump to latest/ })).not.toBeInTheDocument();

    // The reader scrolls up: no more following.
    scroller.scrollTop = 100;
    fireEvent.scroll(scroller);
    const jump = screen.getByRole('button', { name: /Jump to latest/ });
    metrics(scroller, { scrollHeight: 1500, clientHeight: 300 });
    const evenMore = applyEvents(more, scriptedRun().slice(9, 12));
    rerender(<Transcript items={evenMore.items} code={evenMore.code} />);
    expect(scroller.scrollTop).toBe(100);

    fireEvent.click(jump);
    expect(scroller.scrollTop).toBe(1500);
    expect(screen.queryByRole('button', { name: /Jump to latest/ })).not.toBeInTheDocument();
  });
});
