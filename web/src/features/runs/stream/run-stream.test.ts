import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ev, finishedData, rawEvent, RUN_ID } from '../testing/events';
import type { RunEvent } from '../types';
import { backoffDelay, DEFAULT_BACKOFF, RunStream, type EventSourceLike, type RunStreamOptions, type SocketLike, type StreamStatus } from './run-stream';

class FakeSocket implements SocketLike {
  static all: FakeSocket[] = [];
  onopen: SocketLike['onopen'] = null;
  onmessage: SocketLike['onmessage'] = null;
  onclose: SocketLike['onclose'] = null;
  onerror: SocketLike['onerror'] = null;
  closed = false;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  close() {
    this.closed = true;
  }
  open() {
    this.onopen?.({});
  }
  /** Sends an event (or anything else, as JSON). */
  send(event: unknown) {
    this.onmessage?.({ data: JSON.stringify(event) });
  }
  sendText(data: unknown) {
    this.onmessage?.({ data });
  }
  drop(code = 1006) {
    this.onclose?.({ code, reason: '' });
  }
  get after() {
    return Number(new URL(this.url).searchParams.get('after'));
  }
  get token() {
    return new URL(this.url).searchParams.get('access_token');
  }
}

class FakeEventSource implements EventSourceLike {
  static all: FakeEventSource[] = [];
  onopen: EventSourceLike['onopen'] = null;
  onerror: EventSourceLike['onerror'] = null;
  listeners = new Map<string, (event: { data: unknown }) => void>();
  constructor(readonly url: string) {
    FakeEventSource.all.push(this);
  }
  addEventListener(type: string, listener: (event: { data: unknown }) => void) {
    this.listeners.set(type, listener);
  }
  close() {}
  send(event: RunEvent) {
    this.listeners.get(event.type)?.({ data: JSON.stringify(event) });
  }
}

const latest = () => FakeSocket.all[FakeSocket.all.length - 1]!;

function json(body: unknown, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

let received: RunEvent[];
let statuses: StreamStatus[];
let token: string;
let fetchMock: ReturnType<typeof vi.fn<typeof fetch>>;
let refresh: ReturnType<typeof vi.fn<() => Promise<boolean>>>;

function makeStream(overrides: Partial<RunStreamOptions> = {}) {
  const stream = new RunStream({
    runId: RUN_ID,
    baseUrl: 'http://cadre.test',
    onEvent: (event) => received.push(event),
    onStatus: (status) => statuses.push(status),
    getToken: () => token,
    refreshToken: refresh,
    WebSocket: FakeSocket,
    EventSource: FakeEventSource,
    fetch: fetchMock,
    random: () => 1,
    now: () => Date.now(),
    ...overrides,
  });
  stream.start();
  return stream;
}

/** Lets queued promise callbacks (token checks, the event chain) run. */
async function flush() {
  for (let i = 0; i < 50; i += 1) await Promise.resolve();
}

beforeEach(() => {
  vi.useFakeTimers();
  FakeSocket.all = [];
  FakeEventSource.all = [];
  received = [];
  statuses = [];
  token = 'token-1';
  fetchMock = vi.fn<typeof fetch>(() => Promise.resolve(json({ id: RUN_ID })));
  refresh = vi.fn(() => {
    token = 'token-2';
    return Promise.resolve(true);
  });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('backoffDelay', () => {
  it('is full jitter under an exponential cap', () => {
    expect(backoffDelay(1, 1)).toBe(500);
    expect(backoffDelay(2, 1)).toBe(1000);
    expect(backoffDelay(3, 0.5)).toBe(1000);
    expect(backoffDelay(10, 1)).toBe(DEFAULT_BACKOFF.capMs);
    expect(backoffDelay(30, 0.999)).toBeLessThan(DEFAULT_BACKOFF.capMs);
    expect(backoffDelay(5, 0)).toBe(0);
  });
});

describe('RunStream', () => {
  it('connects over a WebSocket with the token and after=0, and goes live', async () => {
    makeStream();
    await flush();
    const socket = latest();
    expect(socket.url).toBe(`ws://cadre.test/api/v1/runs/${RUN_ID}/ws?after=0&access_token=token-1`);
    expect(statuses.at(-1)?.state).toBe('connecting');
    socket.open();
    expect(statuses.at(-1)?.state).toBe('live');
  });

  it('delivers durable events once, passes deltas, and stops after finished', async () => {
    makeStream();
    await flush();
    const socket = latest();
    socket.open();
    socket.send(ev(1, 'status', { status: 'executing' }));
    socket.send(ev(1, 'message_delta', { message_id: 'm', agent: 'A', delta: 'hi' }));
    socket.send(ev(1, 'status', { status: 'executing' }));
    socket.send(ev(2, 'finished', finishedData('completed')));
    await flush();
    expect(received.map((e) => [e.seq, e.type])).toEqual([
      [1, 'status'],
      [1, 'message_delta'],
      [2, 'finished'],
    ]);
    expect(statuses.at(-1)?.state).toBe('closed');
    expect(socket.closed).toBe(true);
    // No reconnect after the end.
    socket.drop(1000);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.all).toHaveLength(1);
  });

  it('reconnects with backoff and jitter, resuming after the last durable seq (not a delta)', async () => {
    const random = vi.fn(() => 0.5);
    makeStream({ random });
    await flush();
    latest().open();
    latest().send(ev(1, 'status', { status: 'building' }));
    latest().send(ev(2, 'team', { team: { agents: [] } }));
    latest().send(ev(5, 'message_delta', { message_id: 'm', agent: 'A', delta: 'x' }));
    await flush();
    latest().drop();
    await flush();

    const waiting = statuses.at(-1)!;
    expect(waiting.state).toBe('reconnecting');
    expect(waiting.attempt).toBe(1);
    // attempt 1: 0.5 × min(15 s, 500 ms) = 250 ms
    expect(waiting.nextRetryAt! - Date.now()).toBe(250);
    await vi.advanceTimersByTimeAsync(249);
    expect(FakeSocket.all).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await flush();
    expect(FakeSocket.all).toHaveLength(2);
    expect(latest().after).toBe(2);

    // Fails to open again: attempt 2 waits up to 1 s (0.5 × 1000).
    latest().drop();
    await flush();
    expect(statuses.at(-1)).toMatchObject({ state: 'reconnecting', attempt: 2 });
    expect(statuses.at(-1)!.nextRetryAt! - Date.now()).toBe(500);
  });

  it('keeps every delay within [0, min(cap, base × 2^(n-1))]', async () => {
    makeStream({ random: () => 0.999 });
    await flush();
    for (let attempt = 1; attempt <= 8; attempt += 1) {
      latest().open();
      latest().drop();
      await flush();
      const status = statuses.at(-1)!;
      const delay = status.nextRetryAt! - Date.now();
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(Math.min(15_000, 500 * 2 ** (attempt - 1)));
      await vi.advanceTimersByTimeAsync(delay);
      await flush();
    }
  });

  it('resets the attempt count after a healthy connection', async () => {
    makeStream();
    await flush();
    latest().open();
    latest().drop();
    await flush();
    await vi.advanceTimersByTimeAsync(500);
    await flush();
    latest().open();
    latest().drop();
    await flush();
    expect(statuses.at(-1)!.attempt).toBe(2);
    await vi.advanceTimersByTimeAsync(1000);
    await flush();
    latest().open();
    await vi.advanceTimersByTimeAsync(5000);
    latest().drop();
    await flush();
    expect(FakeSocket.all).toHaveLength(3);
    expect(statuses.at(-1)).toMatchObject({ state: 'reconnecting', attempt: 1 });
  });

  it('drops duplicates replayed after a reconnect', async () => {
    makeStream();
    await flush();
    latest().open();
    latest().send(ev(1, 'status', { status: 'building' }));
    latest().send(ev(2, 'usage', { model: 'demo', prompt_tokens: 1, completion_tokens: 1, cost_usd: 0 }));
    await flush();
    latest().drop();
    await flush();
    await vi.advanceTimersByTimeAsync(500);
    await flush();
    const second = latest();
    second.open();
    second.send(ev(2, 'usage', { model: 'demo', prompt_tokens: 1, completion_tokens: 1, cost_usd: 0 }));
    second.send(ev(3, 'status', { status: 'executing' }));
    await flush();
    expect(received.map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it('fills a gap from the JSON events page before applying what follows', async () => {
    fetchMock.mockImplementation((input) => {
      const url = new URL(input as string);
      expect(url.pathname).toBe(`/api/v1/runs/${RUN_ID}/events`);
      expect(url.searchParams.get('after')).toBe('1');
      return Promise.resolve(json({ events: [ev(2, 'team', { team: { agents: [] } }), ev(3, 'status', { status: 'executing' })], next_after: 3 }));
    });
    makeStream();
    await flush();
    latest().open();
    latest().send(ev(1, 'status', { status: 'building' }));
    latest().send(ev(4, 'speaker', { agent: 'A', reason: 'auto' }));
    latest().send(ev(5, 'speaker', { agent: 'B', reason: 'auto' }));
    await vi.waitFor(() => expect(received.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]));
    const [, init] = fetchMock.mock.calls[0]!;
    expect(new Headers(init?.headers).get('Authorization')).toBe('Bearer token-1');
  });

  it('skips events of a type it does not know, without taking their seq for a gap', async () => {
    makeStream();
    await flush();
    const socket = latest();
    socket.open();
    socket.send(ev(1, 'status', { status: 'building' }));
    socket.send(rawEvent(2, 'something_new', { x: 1 }));
    socket.send(ev(3, 'status', { status: 'executing' }));
    await flush();
    expect(received.map((e) => [e.seq, e.type])).toEqual([
      [1, 'status'],
      [3, 'status'],
    ]);
    expect(fetchMock).not.toHaveBeenCalled();
    // The resume point moved past it.
    socket.drop();
    await vi.advanceTimersByTimeAsync(DEFAULT_BACKOFF.capMs);
    await flush();
    expect(latest().after).toBe(3);
  });

  it('skips unknown types in a gap-filling page too', async () => {
    fetchMock.mockImplementation(() =>
      Promise.resolve(json({ events: [rawEvent(2, 'something_new', {}), ev(3, 'status', { status: 'executing' })], next_after: 3 })),
    );
    makeStream();
    await flush();
    latest().open();
    latest().send(ev(1, 'status', { status: 'building' }));
    latest().send(ev(4, 'speaker', { agent: 'A', reason: 'auto' }));
    await vi.waitFor(() => expect(received.map((e) => e.seq)).toEqual([1, 3, 4]));
  });

  it('ignores what is not an event', async () => {
    makeStream();
    await flush();
    const socket = latest();
    socket.open();
    socket.sendText('not json');
    socket.sendText(new ArrayBuffer(2));
    for (const junk of [null, 3, [], { type: 'status', data: { status: 'failed' } }, { seq: '1', type: 'status', data: {} }, rawEvent(1, 'status', null), rawEvent(1, 'status', [])]) {
      socket.send(junk);
    }
    socket.send(ev(1, 'status', { status: 'executing' }));
    await flush();
    expect(received.map((e) => [e.seq, e.type])).toEqual([[1, 'status']]);
    expect(statuses.at(-1)?.state).toBe('live');
  });

  it('refreshes the token before reconnecting when it is about to expire', async () => {
    let expiry = Date.now() + 60_000;
    makeStream({ getTokenExpiry: () => expiry });
    await flush();
    expect(refresh).not.toHaveBeenCalled();
    latest().open();
    expiry = Date.now() + 5_000;
    latest().drop();
    await flush();
    await vi.advanceTimersByTimeAsync(500);
    await flush();
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(latest().token).toBe('token-2');
  });

  it('refreshes the token when the upgrade was refused (401 on a plain request)', async () => {
    fetchMock.mockResolvedValue(json({ error: { code: 'unauthorized', message: 'expired' } }, 401));
    makeStream();
    await flush();
    latest().drop(); // never opened
    await flush();
    expect(fetchMock).toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(500);
    await flush();
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(latest().token).toBe('token-2');
  });

  it('stops with an error when the refresh fails', async () => {
    refresh.mockResolvedValue(false);
    makeStream({ getToken: () => null });
    await flush();
    expect(FakeSocket.all).toHaveLength(0);
    expect(statuses.at(-1)).toMatchObject({ state: 'closed' });
    expect(statuses.at(-1)!.error).toMatch(/session/);
  });

  it('shows offline when the server cannot be reached', async () => {
    fetchMock.mockRejectedValue(new TypeError('Failed to fetch'));
    makeStream();
    await flush();
    latest().drop();
    await flush();
    expect(statuses.at(-1)?.state).toBe('offline');
  });

  it('falls back to SSE when the WebSocket cannot open but HTTP works', async () => {
    makeStream();
    await flush();
    latest().drop();
    await flush();
    await vi.advanceTimersByTimeAsync(500);
    await flush();
    latest().drop();
    await flush();
    await vi.advanceTimersByTimeAsync(1000);
    await flush();
    expect(FakeSocket.all).toHaveLength(2);
    expect(FakeEventSource.all).toHaveLength(1);
    const source = FakeEventSource.all[0]!;
    expect(source.url).toBe(`http://cadre.test/api/v1/runs/${RUN_ID}/events/stream?after=0&access_token=token-1`);
    source.onopen?.({});
    expect(statuses.at(-1)).toMatchObject({ state: 'live', transport: 'sse' });
    source.send(ev(1, 'status', { status: 'executing' }));
    source.send(ev(2, 'finished', finishedData('completed')));
    await flush();
    expect(received.map((e) => e.type)).toEqual(['status', 'finished']);
    expect(statuses.at(-1)?.state).toBe('closed');
  });

  it('does not reconnect after a terminal status when the socket closes', async () => {
    makeStream();
    await flush();
    latest().open();
    latest().send(ev(1, 'status', { status: 'cancelled' }));
    await flush();
    latest().drop(1000);
    await flush();
    expect(statuses.at(-1)?.state).toBe('closed');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.all).toHaveLength(1);
  });

  it('stop() closes the socket and cancels retries', async () => {
    const stream = makeStream();
    await flush();
    latest().drop();
    await flush();
    stream.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(statuses.at(-1)?.state).toBe('closed');
  });
});
