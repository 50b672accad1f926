import { screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Run } from '@/lib/api/types';
import { apiError, json, noContent, type FakeServer } from '@/testing/fake-server';
import { renderApp } from '@/testing/render-app';
import { installSignedInServer, resetSession } from '@/testing/session';
import { runView } from '@/testing/runs';

const RUNS = '/api/v1/runs';

function run(id: string, overrides: Partial<Run> = {}): Run {
  return runView({
    id,
    task: `Task ${id}`,
    status: 'completed',
    usage: { prompt_tokens: 1000, completion_tokens: 234, cost_usd: 0.0123, calls: 3 },
    last_seq: 10,
    started_at: '2026-05-01T10:00:01Z',
    finished_at: '2026-05-01T10:00:13Z',
    ...overrides,
  });
}

let server: FakeServer;
/** The query string of every GET /api/v1/runs, in order. */
let listQueries: URLSearchParams[];

function answerRuns(pages: Record<string, { runs: Run[]; next_cursor: string | null }>) {
  server.on('GET', RUNS, (request) => {
    const query = new URL(request.url).searchParams;
    listQueries.push(query);
    const key = [query.get('status') ?? '', query.get('cursor') ?? ''].join('|');
    return json(pages[key] ?? { runs: [], next_cursor: null });
  });
}

beforeEach(() => {
  resetSession();
  listQueries = [];
  server = installSignedInServer();
});

async function openHistory(path = '/history') {
  const app = renderApp(path);
  await screen.findByRole('heading', { name: 'History', level: 1 });
  return app;
}

describe('HistoryPage', () => {
  it('lists runs with status, usage and a link to each run', async () => {
    answerRuns({ '|': { runs: [run('r1'), run('r2', { status: 'failed', task: 'Broken task' })], next_cursor: null } });
    await openHistory();

    const table = await screen.findByRole('table', { name: /your runs/i });
    const headers = within(table).getAllByRole('columnheader').map((h) => h.textContent);
    expect(headers).toEqual(['Task', 'Status', 'Started', 'Duration', 'Tokens', 'Cost', 'Actions']);
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows).toHaveLength(2);
    expect(within(rows[0]!).getByRole('link', { name: 'Task r1' })).toHaveAttribute('href', '/runs/r1');
    expect(rows[0]).toHaveTextContent('Completed');
    expect(rows[0]).toHaveTextContent('12 s');
    expect(rows[0]).toHaveTextContent('1,234');
    expect(rows[0]).toHaveTextContent('$0.0123');
    expect(within(rows[0]!).getByRole('time')).toHaveAttribute('title');
    expect(rows[1]).toHaveTextContent('Failed');
    expect(listQueries[0]!.get('status')).toBeNull();
  });

  it('filters by status through the URL and the request', async () => {
    answerRuns({
      '|': { runs: [run('r1'), run('r2', { status: 'failed' })], next_cursor: null },
      'failed|': { runs: [run('r2', { status: 'failed' })], next_cursor: null },
    });
    const { user, router } = await openHistory();
    await screen.findByRole('link', { name: 'Task r1' });

    await user.selectOptions(screen.getByRole('combobox', { name: 'Status' }), 'failed');

    await waitFor(() => expect(screen.queryByRole('link', { name: 'Task r1' })).not.toBeInTheDocument());
    expect(screen.getByRole('link', { name: 'Task r2' })).toBeInTheDocument();
    expect(router.state.location.search).toBe('?status=failed');
    expect(listQueries.at(-1)!.get('status')).toBe('failed');
  });

  it('reads the filter from the URL', async () => {
    answerRuns({ 'cancelled|': { runs: [], next_cursor: null } });
    await openHistory('/history?status=cancelled');

    expect(await screen.findByText('No cancelled runs.')).toBeInTheDocument();
    expect(screen.getByRole('combobox', { name: 'Status' })).toHaveValue('cancelled');
    expect(listQueries[0]!.get('status')).toBe('cancelled');
  });

  it('loads the next page with next_cursor', async () => {
    answerRuns({
      '|': { runs: [run('r1')], next_cursor: 'cursor-2' },
      '|cursor-2': { runs: [run('r2')], next_cursor: null },
    });
    const { user } = await openHistory();
    await screen.findByRole('link', { name: 'Task r1' });

    await user.click(screen.getByRole('button', { name: 'Load more' }));

    expect(await screen.findByRole('link', { name: 'Task r2' })).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Task r1' })).toBeInTheDocument();
    expect(listQueries.at(-1)!.get('cursor')).toBe('cursor-2');
    expect(screen.queryByRole('button', { name: 'Load more' })).not.toBeInTheDocument();
  });

  it('shows an empty state that links to a new run', async () => {
    answerRuns({});
    await openHistory();

    expect(await screen.findByText('No runs yet.')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Start a run' })).toHaveAttribute('href', '/runs/new');
  });

  it('asks before deleting a run, then deletes it', async () => {
    let deleted = false;
    server.on('GET', RUNS, () => json({ runs: deleted ? [] : [run('r1')], next_cursor: null }));
    server.on('DELETE', `${RUNS}/r1`, () => {
      deleted = true;
      return noContent();
    });
    const { user } = await openHistory();
    await screen.findByRole('link', { name: 'Task r1' });

    await user.click(screen.getByRole('button', { name: 'Delete run: Task r1' }));
    const dialog = screen.getByRole('dialog', { name: 'Delete this run?' });
    expect(server.requests('DELETE')).toHaveLength(0);

    await user.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(server.requests('DELETE')).toHaveLength(0);

    await user.click(screen.getByRole('button', { name: 'Delete run: Task r1' }));
    await user.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Delete run' }));

    expect(await screen.findByText('No runs yet.')).toBeInTheDocument();
    expect(server.requests('DELETE', `${RUNS}/r1`)).toHaveLength(1);
  });

  it("shows the server's reason when a run cannot be deleted", async () => {
    answerRuns({ '|': { runs: [run('r1', { status: 'executing', finished_at: null })], next_cursor: null } });
    server.on('DELETE', `${RUNS}/r1`, apiError(409, 'conflict', 'the run is executing: cancel it first'));
    const { user } = await openHistory();
    await screen.findByRole('link', { name: 'Task r1' });

    await user.click(screen.getByRole('button', { name: 'Delete run: Task r1' }));
    await user.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Delete run' }));

    expect(await screen.findByRole('alert')).toHaveTextContent('the run is executing: cancel it first');
    expect(screen.getByRole('link', { name: 'Task r1' })).toBeInTheDocument();
  });
});
