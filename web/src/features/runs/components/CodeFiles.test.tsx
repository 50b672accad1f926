import { QueryClientProvider } from '@tanstack/react-query';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { connectSession } from '@/lib/api/client';
import type { ArtifactFile } from '@/lib/api/types';
import { createQueryClient } from '@/lib/query-client';
import { apiError, installFakeServer, type FakeServer } from '@/testing/fake-server';
import { RUN_ID } from '../testing/events';
import { CodeFiles } from './CodeFiles';

const FILES: ArtifactFile[] = [
  { path: 'out/plot.png', size_bytes: 1536, content_type: 'image/png', stored: true },
  { path: 'table.csv', size_bytes: 30, content_type: 'text/csv', stored: true },
  { path: 'big.bin', size_bytes: 20 * 1024 * 1024, content_type: 'application/octet-stream', stored: false, skipped: 'too_large' },
  { path: 'chart.svg', size_bytes: 100, content_type: 'image/svg+xml', stored: true },
];

const filePath = (path: string, runId = RUN_ID) => `/api/v1/runs/${runId}/files/${encodeURIComponent(path)}`;
/** The run a fork was made from. */
const PARENT_ID = '0c7e1f6a-2b3c-4d5e-8f90-a1b2c3d4e5f6';

function bytes(body: string, type: string): Response {
  return new Response(body, { status: 200, headers: { 'Content-Type': type } });
}

let server: FakeServer;
let createObjectURL: ReturnType<typeof vi.fn>;
let revokeObjectURL: ReturnType<typeof vi.fn>;

beforeEach(() => {
  connectSession({
    getAccessToken: () => 'access-1',
    getAccessTokenExpiry: () => Date.now() + 60_000,
    refresh: () => Promise.resolve(false),
    onUnauthorized: () => {},
  });
  let next = 0;
  createObjectURL = vi.fn(() => `blob:file-${++next}`);
  revokeObjectURL = vi.fn();
  vi.stubGlobal('URL', Object.assign(URL, { createObjectURL, revokeObjectURL }));
  server = installFakeServer()
    .on('GET', filePath('out/plot.png'), bytes('PNG', 'image/png'))
    .on('GET', filePath('table.csv'), bytes('n,sq\n', 'text/csv'));
});

afterEach(() => {
  connectSession(null);
});

function renderFiles(files: readonly ArtifactFile[] = FILES, originRunId?: string) {
  const queryClient = createQueryClient();
  queryClient.setDefaultOptions({ queries: { retry: false }, mutations: { retry: false } });
  return render(
    <QueryClientProvider client={queryClient}>
      <CodeFiles runId={RUN_ID} originRunId={originRunId} files={files} />
    </QueryClientProvider>,
  );
}

describe('CodeFiles', () => {
  it('lists every file with its size, and why a file was not kept', () => {
    renderFiles();
    const items = within(screen.getByRole('list', { name: 'Files written' })).getAllByRole('listitem');
    expect(items.map((item) => item.querySelector('code')?.textContent)).toEqual(['out/plot.png', 'table.csv', 'big.bin', 'chart.svg']);
    expect(items[0]).toHaveTextContent('1.5 KiB');
    expect(items[1]).toHaveTextContent('30 B');
    expect(items[2]).toHaveTextContent('20 MiB');
    expect(items[2]).toHaveTextContent('(too large to keep)');
    expect(within(items[2]!).queryByRole('button')).not.toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Download table.csv' })).toBeInTheDocument();
  });

  it('shows a raster image inline through an object URL fetched with the token, revoked on unmount', async () => {
    const view = renderFiles();
    const image = await screen.findByRole('img', { name: 'out/plot.png' });
    expect(image).toHaveAttribute('src', 'blob:file-1');
    const [request] = server.requests('GET', filePath('out/plot.png'));
    expect(request?.headers.get('Authorization')).toBe('Bearer access-1');
    // The path travels as one encoded segment, which the server decodes.
    expect(request?.path).toBe(`/api/v1/runs/${RUN_ID}/files/out%2Fplot.png`);
    // SVG can carry script: never inline, and not even fetched until downloaded.
    expect(screen.queryByRole('img', { name: 'chart.svg' })).not.toBeInTheDocument();
    expect(server.requests('GET', filePath('chart.svg'))).toHaveLength(0);
    view.unmount();
    expect(revokeObjectURL).toHaveBeenCalledWith('blob:file-1');
  });

  it('downloads a file with the token and saves it under its own name', async () => {
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      expect(this.download).toBe('table.csv');
    });
    renderFiles([FILES[1]!]);
    await userEvent.click(screen.getByRole('button', { name: 'Download table.csv' }));
    await waitFor(() => expect(click).toHaveBeenCalledTimes(1));
    const [request] = server.requests('GET', filePath('table.csv'));
    expect(request?.headers.get('Authorization')).toBe('Bearer access-1');
    expect(createObjectURL).toHaveBeenCalledTimes(1);
  });

  it('says so when a file cannot be loaded', async () => {
    server.on('GET', filePath('out/plot.png'), apiError(404, 'not_found', 'file not found'));
    renderFiles([FILES[0]!]);
    expect(await screen.findByRole('alert')).toHaveTextContent('file not found');
    expect(screen.queryByRole('img')).not.toBeInTheDocument();
  });

  it("on a fork, fetches a file of the copied history from the run it was forked from", async () => {
    server
      .on('GET', filePath('out/plot.png'), apiError(404, 'not_found', 'file not found'))
      .on('GET', filePath('out/plot.png', PARENT_ID), bytes('PNG', 'image/png'))
      .on('GET', filePath('table.csv'), apiError(404, 'not_found', 'file not found'))
      .on('GET', filePath('table.csv', PARENT_ID), bytes('n,sq\n', 'text/csv'));
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(() => {});
    renderFiles([FILES[0]!, FILES[1]!], PARENT_ID);
    expect(await screen.findByRole('img', { name: 'out/plot.png' })).toHaveAttribute('src', 'blob:file-1');
    expect(server.requests('GET', filePath('out/plot.png'))).toHaveLength(1);
    await userEvent.click(screen.getByRole('button', { name: 'Download table.csv' }));
    await waitFor(() => expect(click).toHaveBeenCalledTimes(1));
    expect(server.requests('GET', filePath('table.csv', PARENT_ID))).toHaveLength(1);
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
  });

  it('renders nothing for a block that wrote no files', () => {
    const { container } = renderFiles([]);
    expect(container).toBeEmptyDOMElement();
  });
});
