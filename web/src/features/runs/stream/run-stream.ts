// A run's live event stream, framework-free.
//
// - Connects over a WebSocket (`/api/v1/runs/{id}/ws`); when the WebSocket cannot open
//   (twice in a row while plain HTTP works) it falls back to Server-Sent Events.
// - Keeps the last durable seq it applied and resumes with `?after=lastSeq`. A
//   `message_delta` carries the seq of the last durable event before it: it never moves the
//   resume point.
// - Drops durable events with seq ≤ lastSeq (duplicates after a reconnect) and fills gaps
//   (seq > lastSeq + 1) from the JSON events page before applying what follows, so the
//   consumer sees every durable event exactly once, in order.
// - Reconnects with exponential backoff and full jitter (delay = random × min(cap,
//   base × 2^(attempt-1))); the attempt count resets once a connection stayed healthy.
// - Before each reconnect it makes sure the access token is fresh (refreshing when it is
//   about to expire or the last failure looked like an auth failure).
// - Stops for good after `finished` (or a close after a terminal status).
// - Checks what arrives just enough (`readIncomingEvent`) and hands on the generated
//   `RunEvent`; an event of a type this UI does not know is skipped, but its seq still
//   counts, so it is never taken for a gap.
//
// Time, timers, WebSocket/EventSource constructors, fetch and random are injectable.
import { isRunStatus, isTerminalStatus } from '@/lib/run-status';
import { RUN_EVENT_TYPES, readIncomingEvent, type IncomingEvent, type RunEvent } from '../types';

export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'offline' | 'closed';
export type Transport = 'ws' | 'sse';

export interface StreamStatus {
  state: ConnectionState;
  /** Consecutive failed attempts (0 while healthy). */
  attempt: number;
  /** When the next connection attempt starts (epoch ms), while waiting to reconnect. */
  nextRetryAt: number | null;
  transport: Transport;
  /** Last durable seq applied. */
  lastSeq: number;
  /** Why the stream stopped for good, when it did not end normally. */
  error: string | null;
}

/** The parts of a WebSocket the client uses. */
export interface SocketLike {
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string; wasClean?: boolean }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  close: (code?: number, reason?: string) => void;
}
export type SocketFactory = new (url: string) => SocketLike;

/** The parts of an EventSource the client uses. */
export interface EventSourceLike {
  onopen: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
  addEventListener: (type: string, listener: (event: { data: unknown }) => void) => void;
  close: () => void;
}
export type EventSourceFactory = new (url: string) => EventSourceLike;

export interface BackoffOptions {
  /** First delay cap (ms). */
  baseMs: number;
  /** Largest delay cap (ms). */
  capMs: number;
  /** A connection open this long resets the attempt count (ms). */
  healthyMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, capMs: 15_000, healthyMs: 5_000 };

/** Refresh the token when it expires within this margin. */
const TOKEN_MARGIN_MS = 10_000;
/** Events per JSON page when filling gaps. */
const PAGE_LIMIT = 500;
/** WebSocket open failures (with HTTP working) before falling back to SSE. */
const WS_FAILURES_BEFORE_SSE = 2;

export interface RunStreamOptions {
  runId: string;
  /** Resume after this seq (default 0: replay everything). */
  after?: number;
  /** Durable events (exactly once, in seq order) and live deltas. */
  onEvent: (event: RunEvent) => void;
  onStatus?: (status: StreamStatus) => void;
  /** The current access token. */
  getToken: () => string | null;
  /** When the current token expires (epoch ms), if known. */
  getTokenExpiry?: () => number | null;
  /** Renews the token; true when a new one is in place. */
  refreshToken: () => Promise<boolean>;
  /** Origin of the API (default `location.origin`). */
  baseUrl?: string;
  /** Start with this transport (default 'ws'). */
  transport?: Transport;
  WebSocket?: SocketFactory | undefined;
  EventSource?: EventSourceFactory | undefined;
  fetch?: typeof fetch;
  random?: () => number;
  now?: () => number;
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (handle: unknown) => void;
  backoff?: Partial<BackoffOptions>;
}

/** The full-jitter delay of attempt `attempt` (1-based). */
export function backoffDelay(attempt: number, random: number, backoff: BackoffOptions = DEFAULT_BACKOFF): number {
  const ceiling = Math.min(backoff.capMs, backoff.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random * ceiling);
}

type ProbeResult = 'ok' | 'unauthorized' | 'not_found' | 'unreachable' | 'error';

export class RunStream {
  private readonly opts: RunStreamOptions;
  private readonly backoff: BackoffOptions;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly fetchFn: typeof fetch;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;

  private lastSeq: number;
  private attempt = 0;
  private state: ConnectionState = 'connecting';
  private nextRetryAt: number | null = null;
  private transport: Transport;
  private error: string | null = null;

  private socket: SocketLike | null = null;
  private source: EventSourceLike | null = null;
  private retryTimer: unknown = null;
  private healthyTimer: unknown = null;
  /** Bumped per connection; callbacks of older connections are ignored. */
  private connection = 0;
  private opened = false;
  private stopped = false;
  private finished = false;
  private sawTerminalStatus = false;
  private needsRefresh = false;
  private wsOpenFailures = 0;
  /** Incoming events, processed one at a time (gap fills are async). */
  private chain: Promise<void> = Promise.resolve();

  constructor(options: RunStreamOptions) {
    this.opts = options;
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.setTimer = options.setTimeout ?? ((fn, ms) => globalThis.setTimeout(fn, ms));
    this.clearTimer = options.clearTimeout ?? ((handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>));
    this.lastSeq = options.after ?? 0;
    const hasWs = (options.WebSocket ?? globalThis.WebSocket) !== undefined;
    this.transport = options.transport ?? (hasWs ? 'ws' : 'sse');
  }

  /** Opens the first connection. */
  start(): void {
    void this.connect();
  }

  /** Stops for good (e.g. the view unmounts). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.teardown();
    this.setState('closed');
  }

  get status(): StreamStatus {
    return {
      state: this.state,
      attempt: this.attempt,
      nextRetryAt: this.nextRetryAt,
      transport: this.transport,
      lastSeq: this.lastSeq,
      error: this.error,
    };
  }

  private setState(state: ConnectionState) {
    this.state = state;
    if (state !== 'reconnecting' && state !== 'offline') this.nextRetryAt = null;
    this.opts.onStatus?.(this.status);
  }

  private base(): string {
    return (this.opts.baseUrl ?? globalThis.location?.origin ?? '').replace(/\/$/, '');
  }

  private path(suffix: string): string {
    return `/api/v1/runs/${encodeURIComponent(this.opts.runId)}${suffix}`;
  }

  /** A usable token: refreshed first when it is (about to be) expired or was refused. */
  private async freshToken(): Promise<string | null> {
    const expiry = this.opts.getTokenExpiry?.() ?? null;
    const expiring = expiry !== null && expiry - this.now() < TOKEN_MARGIN_MS;
    if (this.needsRefresh || expiring || !this.opts.getToken()) {
      this.needsRefresh = false;
      const ok = await this.opts.refreshToken();
      if (!ok) return null;
    }
    return this.opts.getToken();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.retryTimer = null;
    this.setState(this.attempt === 0 ? 'connecting' : 'reconnecting');
    const token = await this.freshToken();
    if (this.stopped) return;
    if (!token) {
      this.fail('Your session has ended. Sign in again to follow this run.');
      return;
    }
    const id = ++this.connection;
    this.opened = false;
    const query = `?after=${this.lastSeq}&access_token=${encodeURIComponent(token)}`;
    if (this.transport === 'ws') this.openSocket(id, query);
    else this.openEventSource(id, query);
  }

  private openSocket(id: number, query: string) {
    const Socket = this.opts.WebSocket ?? (globalThis.WebSocket as unknown as SocketFactory | undefined);
    if (!Socket) {
      this.transport = 'sse';
      this.openEventSource(id, query);
      return;
    }
    let socket: SocketLike;
    try {
      socket = new Socket(`${this.base().replace(/^http/, 'ws')}${this.path('/ws')}${query}`);
    } catch {
      this.transport = 'sse';
      this.openEventSource(id, query);
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (id === this.connection) this.onOpen();
    };
    socket.onmessage = (message) => {
      if (id === this.connection) this.onRaw(message.data);
    };
    socket.onerror = () => undefined;
    socket.onclose = (close) => {
      if (id !== this.connection) return;
      this.socket = null;
      // 1008 (policy) and 4401/4403: the server refused our token.
      if (close.code === 1008 || close.code === 4401 || close.code === 4403) this.needsRefresh = true;
      void this.onDisconnect(id, !this.opened);
    };
  }

  private openEventSource(id: number, query: string) {
    const Source = this.opts.EventSource ?? (globalThis.EventSource as unknown as EventSourceFactory | undefined);
    if (!Source) {
      this.fail('This browser cannot stream events.');
      return;
    }
    const source = new Source(`${this.base()}${this.path('/events/stream')}${query}`);
    this.source = source;
    source.onopen = () => {
      if (id === this.connection) this.onOpen();
    };
    for (const type of RUN_EVENT_TYPES) {
      source.addEventListener(type, (message) => {
        if (id === this.connection) this.onRaw(message.data);
      });
    }
    source.onerror = () => {
      if (id !== this.connection) return;
      // EventSource would retry on its own with a stale `after`: take over instead.
      source.close();
      this.source = null;
      void this.onDisconnect(id, !this.opened);
    };
  }

  private onOpen() {
    this.opened = true;
    this.wsOpenFailures = 0;
    this.setState('live');
    this.clearHealthy();
    this.healthyTimer = this.setTimer(() => {
      this.healthyTimer = null;
      this.attempt = 0;
      if (this.state === 'live') this.opts.onStatus?.(this.status);
    }, this.backoff.healthyMs);
  }

  private onRaw(data: unknown) {
    if (typeof data !== 'string') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return;
    }
    const event = readIncomingEvent(parsed);
    if (!event) return;
    const id = this.connection;
    this.chain = this.chain.then(() => (id === this.connection ? this.process(event) : undefined)).catch(() => undefined);
  }

  /** Applies one incoming event: deltas pass through, durable events exactly once, in order. */
  private async process(incoming: IncomingEvent): Promise<void> {
    if (this.stopped || this.finished) return;
    if (incoming.known && incoming.event.type === 'message_delta') {
      this.opts.onEvent(incoming.event);
      return;
    }
    const { seq } = incoming;
    if (seq <= this.lastSeq) return; // already applied (replay after a reconnect)
    if (seq > this.lastSeq + 1) {
      const filled = await this.fillGap(seq - 1);
      if (this.stopped || this.finished) return;
      if (!filled) {
        // Could not fill: reconnect from what we have; the server replays the rest.
        this.forceReconnect();
        return;
      }
      if (seq <= this.lastSeq) return;
      if (seq > this.lastSeq + 1) {
        this.forceReconnect();
        return;
      }
    }
    this.apply(incoming);
  }

  /** Applies the next durable event (or skips one of an unknown type), moving the resume point. */
  private apply(incoming: IncomingEvent) {
    this.lastSeq = incoming.seq;
    if (!incoming.known) return;
    const { event } = incoming;
    this.opts.onEvent(event);
    // A status newer than this UI is not terminal for it.
    if (event.type === 'status' && isRunStatus(event.data.status) && isTerminalStatus(event.data.status)) this.sawTerminalStatus = true;
    if (event.type === 'finished') {
      this.finished = true;
      this.teardown();
      this.setState('closed');
    }
  }

  /** Reads the JSON events pages until `through` is applied; false when that failed. */
  private async fillGap(through: number): Promise<boolean> {
    while (this.lastSeq < through && !this.stopped && !this.finished) {
      const page = await this.fetchPage(Math.min(PAGE_LIMIT, Math.max(1, through - this.lastSeq)));
      if (page === null || page.length === 0) return false;
      for (const incoming of page) {
        if (incoming.seq === this.lastSeq + 1 && !(incoming.known && incoming.event.type === 'message_delta')) this.apply(incoming);
      }
    }
    return this.lastSeq >= through || this.finished;
  }

  private async fetchPage(limit: number): Promise<IncomingEvent[] | null> {
    const token = this.opts.getToken();
    try {
      const response = await this.fetchFn(`${this.base()}${this.path(`/events?after=${this.lastSeq}&limit=${limit}`)}`, {
        headers: token ? { Authorization: `Bearer ${token}` } : {},
        credentials: 'same-origin',
      });
      if (response.status === 401) this.needsRefresh = true;
      if (!response.ok) return null;
      const body = (await response.json()) as { events?: unknown };
      if (!Array.isArray(body.events)) return null;
      return body.events.map(readIncomingEvent).filter((incoming) => incoming !== null);
    } catch {
      return null;
    }
  }

  /** Plain HTTP check after a failed WebSocket open: is it us, the token or the server? */
  private async probe(): Promise<ProbeResult> {
    const token = this.opts.getToken();
    try {
      const response = await this.fetchFn(`${this.base()}${this.path('')}`, {
        headers: token ? { Authorization: `Bearer ${token}` } : {},
        credentials: 'same-origin',
      });
      if (response.status === 401) return 'unauthorized';
      if (response.status === 404) return 'not_found';
      return response.ok ? 'ok' : 'error';
    } catch {
      return 'unreachable';
    }
  }

  private forceReconnect() {
    this.teardown();
    void this.onDisconnect(this.connection, false);
  }

  private async onDisconnect(id: number, neverOpened: boolean): Promise<void> {
    this.clearHealthy();
    // Let queued events (e.g. `finished` just before the close) settle first.
    await this.chain;
    if (this.stopped || this.finished || id !== this.connection) return;
    if (this.sawTerminalStatus) {
      this.teardown();
      this.setState('closed');
      return;
    }
    let offline = false;
    if (neverOpened) {
      const result = await this.probe();
      if (this.stopped || id !== this.connection) return;
      if (result === 'not_found') {
        this.fail('This run does not exist (or is not yours).');
        return;
      }
      if (result === 'unauthorized') this.needsRefresh = true;
      if (result === 'unreachable') offline = true;
      if (result === 'ok' && this.transport === 'ws') {
        this.wsOpenFailures += 1;
        if (this.wsOpenFailures >= WS_FAILURES_BEFORE_SSE) this.transport = 'sse';
      }
    }
    this.scheduleReconnect(offline);
  }

  private scheduleReconnect(offline: boolean) {
    if (this.stopped || this.retryTimer !== null) return;
    this.attempt += 1;
    const delay = backoffDelay(this.attempt, this.random(), this.backoff);
    this.nextRetryAt = this.now() + delay;
    this.state = offline ? 'offline' : 'reconnecting';
    this.opts.onStatus?.(this.status);
    this.retryTimer = this.setTimer(() => void this.connect(), delay);
  }

  private fail(message: string) {
    this.error = message;
    this.stopped = true;
    this.teardown();
    this.setState('closed');
  }

  private clearHealthy() {
    if (this.healthyTimer !== null) this.clearTimer(this.healthyTimer);
    this.healthyTimer = null;
  }

  private teardown() {
    this.clearHealthy();
    if (this.retryTimer !== null) this.clearTimer(this.retryTimer);
    this.retryTimer = null;
    this.connection += 1;
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onclose = null;
      socket.onmessage = null;
      socket.onopen = null;
      try {
        socket.close(1000);
      } catch {
        // already closed
      }
    }
    this.source?.close();
    this.source = null;
  }
}
