// The run view's state, folded from the run's events by pure functions, and a small
// zustand store (one per open run page) around them.
//
// The fold is idempotent and order-tolerant: a durable event (by seq) is applied at most
// once, items are kept sorted by seq whatever order they arrive in, and a streaming
// message (built from `message_delta`s) is replaced by its final `message`; deltas for a
// message that is already final are ignored. A tool call (`tool_call`) is an item of its
// own, completed by its `tool_result`; a streaming message sorts after the durable event
// its latest deltas carry, so the text an agent streams after its tool calls shows below
// them.
//
// Events arrive as the generated `RunEvent` union, already checked at the stream boundary
// (`readIncomingEvent`): the fold narrows on `event.type` and reads `data` as typed.
import { createStore } from 'zustand/vanilla';
import type { ArtifactFile, RunStatus, StopReason } from '@/lib/api/types';
import type { RunEvent, RunEventOf, TeamSpec } from '../types';

export interface CodeResultView {
  seq: number;
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
  /** Files the block wrote (none in events stored before the server listed them). */
  files: ArtifactFile[];
}

export interface CodeBlockView {
  seq: number;
  messageId: string;
  language: string;
  code: string;
  result: CodeResultView | null;
}

interface Ordered {
  /** Sort key: the event's seq; a streaming message sorts just after the durable event
   *  its deltas carry. */
  order: number;
  key: string;
}

export interface MessageItem extends Ordered {
  kind: 'message';
  messageId: string;
  agent: string;
  content: string;
  tokens: number;
  /** Still receiving deltas (no final `message` yet). */
  streaming: boolean;
  /** Seq of the final `message` (null while streaming). */
  seq: number | null;
  at: string | null;
}

export interface SpeakerItem extends Ordered {
  kind: 'speaker';
  seq: number;
  agent: string;
  reason: string;
}

export interface InputRequestItem extends Ordered {
  kind: 'input_request';
  seq: number;
  prompt: string;
  /** Answers to offer as buttons (manual speaker selection: the candidates). */
  options: string[];
  /** The human-driven agent the user speaks as, if any. */
  agent?: string;
  /** When the run stops waiting and takes `defaultReply` (ms since the epoch). */
  deadline?: number;
  defaultReply?: string;
}

export interface InputItem extends Ordered {
  kind: 'input';
  seq: number;
  content: string;
}

export interface LogItem extends Ordered {
  kind: 'log';
  seq: number;
  level: string;
  message: string;
}

export interface ErrorItem extends Ordered {
  kind: 'error';
  seq: number;
  code: string;
  message: string;
  retryable: boolean;
}

export interface ToolResultView {
  seq: number;
  /** What the tool answered, or the error (or refusal) the model was shown. */
  content: string;
  /** The tool failed or the call was refused. */
  isError: boolean;
  /** The call was never made (not on the agent's allowlist, unknown, over the turn's limit). */
  refused: boolean;
  durationMs: number;
}

export interface ToolCallItem extends Ordered {
  kind: 'tool_call';
  /** Seq of the `tool_call` event. */
  seq: number;
  /** The turn's message (the final message's id, unless the turn was retried). */
  messageId: string;
  callId: string;
  agent: string;
  /** Qualified tool name, `server.tool`. */
  tool: string;
  /** A JSON object, or the model's raw text when it was not valid JSON. */
  arguments: unknown;
  result: ToolResultView | null;
  /** The run finished with the call unanswered. */
  interrupted: boolean;
}

export type TranscriptItem = MessageItem | SpeakerItem | InputRequestItem | InputItem | LogItem | ErrorItem | ToolCallItem;

/** A `tool_result` whose `tool_call` has not arrived (yet). */
interface OrphanToolResult extends ToolResultView {
  callId: string;
}

export interface StatusChange {
  seq: number;
  status: RunStatus;
  at: string;
}

export interface UsageView {
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  calls: number;
}

export interface FinishedView {
  seq: number;
  status: RunStatus;
  summary: string;
  reason: StopReason;
  at: string;
}

export interface RunViewState {
  /** Current status (from the latest status/finished event), null before any. */
  status: RunStatus | null;
  /** Status changes in seq order (for the stepper). */
  timeline: StatusChange[];
  team: TeamSpec | null;
  /** Transcript items in seq order. */
  items: TranscriptItem[];
  /** Code blocks by the message they came from. */
  code: Record<string, CodeBlockView[]>;
  usage: UsageView;
  finished: FinishedView | null;
  /** The open input request (an `input_request` with no later `input`), if any. */
  pendingInput: InputRequestItem | null;
  /** Tool results that arrived before their call (order tolerance). */
  orphanToolResults: OrphanToolResult[];
  /** Highest durable seq applied. */
  lastSeq: number;
  /** Seqs applied (dedup). */
  seen: Record<number, true>;
  /** Seq of the latest status-changing event. */
  statusSeq: number;
}

export const initialRunView: RunViewState = {
  status: null,
  timeline: [],
  team: null,
  items: [],
  code: {},
  usage: { promptTokens: 0, completionTokens: 0, costUsd: 0, calls: 0 },
  finished: null,
  pendingInput: null,
  orphanToolResults: [],
  lastSeq: 0,
  seen: {},
  statusSeq: 0,
};

/** Inserts `item` keeping `items` sorted by order (stable: after equal orders). */
function insertSorted(items: TranscriptItem[], item: TranscriptItem): TranscriptItem[] {
  let index = items.length;
  while (index > 0 && items[index - 1]!.order > item.order) index -= 1;
  return [...items.slice(0, index), item, ...items.slice(index)];
}

function findMessage(items: TranscriptItem[], messageId: string): number {
  return items.findIndex((item) => item.kind === 'message' && item.messageId === messageId);
}

function withStatus(state: RunViewState, seq: number, status: RunStatus, at: string): RunViewState {
  const timeline = [...state.timeline, { seq, status, at }].sort((a, b) => a.seq - b.seq);
  const newer = seq >= state.statusSeq;
  return {
    ...state,
    timeline,
    status: newer ? status : state.status,
    statusSeq: newer ? seq : state.statusSeq,
  };
}

function pendingInputOf(items: TranscriptItem[]): InputRequestItem | null {
  for (let i = items.length - 1; i >= 0; i -= 1) {
    const item = items[i]!;
    if (item.kind === 'input') return null;
    if (item.kind === 'input_request') return item;
  }
  return null;
}

/** The seq of the durable event a draft's deltas followed. */
function draftBase(draft: MessageItem): number {
  return Math.floor(draft.order);
}

/** The items without the drafts (messages still streaming) that `abandoned` picks.
 *  Deltas are live only: a turn halted mid-answer (its worker stopped, the model call
 *  failed and was retried) leaves a draft that no final `message` will ever replace. */
function dropDrafts(items: TranscriptItem[], abandoned: (draft: MessageItem) => boolean): TranscriptItem[] {
  const kept = items.filter((item) => !(item.kind === 'message' && item.streaming && abandoned(item)));
  return kept.length === items.length ? items : kept;
}

/** Applies a live `message_delta`. */
function applyDelta(state: RunViewState, event: RunEventOf<'message_delta'>): RunViewState {
  const { message_id: messageId, agent, delta } = event.data;
  const index = findMessage(state.items, messageId);
  if (index === -1) {
    const item: MessageItem = {
      kind: 'message',
      key: `m-${messageId}`,
      order: event.seq + 0.5,
      messageId,
      agent,
      content: delta,
      tokens: 0,
      streaming: true,
      seq: null,
      at: null,
    };
    return { ...state, items: insertSorted(state.items, item) };
  }
  const existing = state.items[index] as MessageItem;
  if (!existing.streaming) return state; // already final: late delta
  const updated: MessageItem = { ...existing, content: existing.content + delta };
  if (event.seq > draftBase(existing)) {
    // Durable events (the turn's tool calls) came since its last deltas: the draft moves
    // below them, where its final message will be.
    const rest = [...state.items.slice(0, index), ...state.items.slice(index + 1)];
    return { ...state, items: insertSorted(rest, { ...updated, order: event.seq + 0.5 }) };
  }
  const items = state.items.slice();
  items[index] = updated;
  return { ...state, items };
}

/** Applies one durable event. */
function applyDurable(state: RunViewState, event: Exclude<RunEvent, RunEventOf<'message_delta'>>): RunViewState {
  const { seq, at } = event;
  switch (event.type) {
    case 'status':
      return withStatus(state, seq, event.data.status, at);
    case 'team':
      return { ...state, team: event.data.team };
    case 'speaker': {
      const item: SpeakerItem = { kind: 'speaker', key: `s-${seq}`, order: seq, seq, agent: event.data.agent, reason: event.data.reason };
      // The chat moved to another turn: a draft from before it was abandoned.
      return { ...state, items: insertSorted(dropDrafts(state.items, (draft) => draftBase(draft) < seq), item) };
    }
    case 'message': {
      const { message_id: messageId, agent, content, tokens } = event.data;
      const final: MessageItem = {
        kind: 'message',
        key: `m-${messageId}`,
        order: seq,
        messageId,
        agent,
        content,
        tokens,
        streaming: false,
        seq,
        at,
      };
      // The draft of this message becomes it; another draft of the same agent was a turn
      // this one retried.
      const rest = dropDrafts(
        state.items.filter((item) => !(item.kind === 'message' && item.messageId === messageId)),
        (draft) => draft.agent === agent && draftBase(draft) < seq,
      );
      return { ...state, items: insertSorted(rest, final) };
    }
    case 'code': {
      const { message_id: messageId, language, code } = event.data;
      const blocks = [...(state.code[messageId] ?? []), { seq, messageId, language, code, result: null }].sort((a, b) => a.seq - b.seq);
      return { ...state, code: { ...state.code, [messageId]: blocks } };
    }
    case 'code_result': {
      const result: CodeResultView = {
        seq,
        exitCode: event.data.exit_code,
        stdout: event.data.stdout,
        stderr: event.data.stderr,
        durationMs: event.data.duration_ms,
        timedOut: event.data.timed_out,
        files: event.data.files ?? [],
      };
      // The earliest block (of its message, if named) before it that has no result yet.
      const candidates = Object.values(state.code)
        .flat()
        .filter((block) => block.seq < seq && block.result === null && (!event.data.message_id || block.messageId === event.data.message_id))
        .sort((a, b) => a.seq - b.seq);
      const target = event.data.message_id ? candidates[0] : candidates[candidates.length - 1];
      if (!target) return state;
      const blocks = state.code[target.messageId]!.map((block) => (block === target ? { ...block, result } : block));
      return { ...state, code: { ...state.code, [target.messageId]: blocks } };
    }
    case 'tool_call': {
      const { message_id: messageId, call_id: callId, agent, tool } = event.data;
      // A result that came first: the earliest one after this call.
      const orphan = state.orphanToolResults
        .filter((result) => result.callId === callId && result.seq > seq)
        .sort((a, b) => a.seq - b.seq)[0];
      const item: ToolCallItem = {
        kind: 'tool_call',
        key: `t-${seq}`,
        order: seq,
        seq,
        messageId,
        callId,
        agent,
        tool,
        arguments: event.data.arguments,
        result: orphan ? toolResultView(orphan) : null,
        interrupted: state.finished !== null && !orphan,
      };
      return {
        ...state,
        items: insertSorted(state.items, item),
        orphanToolResults: orphan ? state.orphanToolResults.filter((result) => result !== orphan) : state.orphanToolResults,
      };
    }
    case 'tool_result': {
      const result: ToolResultView = {
        seq,
        content: event.data.content,
        isError: event.data.is_error,
        refused: event.data.refused ?? false,
        durationMs: event.data.duration_ms,
      };
      // The latest unanswered call of that id before it.
      let index = -1;
      state.items.forEach((item, i) => {
        if (item.kind === 'tool_call' && item.callId === event.data.call_id && item.seq < seq && item.result === null) index = i;
      });
      if (index === -1) {
        return { ...state, orphanToolResults: [...state.orphanToolResults, { ...result, callId: event.data.call_id }] };
      }
      const items = state.items.slice();
      items[index] = { ...(items[index] as ToolCallItem), result, interrupted: false };
      return { ...state, items };
    }
    case 'usage':
      return {
        ...state,
        usage: {
          promptTokens: state.usage.promptTokens + event.data.prompt_tokens,
          completionTokens: state.usage.completionTokens + event.data.completion_tokens,
          costUsd: state.usage.costUsd + (event.data.cost_usd ?? 0),
          calls: state.usage.calls + 1,
        },
      };
    case 'input_request': {
      const { prompt, options, agent, timeout_secs: timeoutSecs, default: defaultReply } = event.data;
      const item: InputRequestItem = {
        kind: 'input_request',
        key: `q-${seq}`,
        order: seq,
        seq,
        prompt,
        options: options ?? [],
        agent: agent ?? undefined,
        deadline: timeoutSecs != null ? Date.parse(event.at) + timeoutSecs * 1000 : undefined,
        defaultReply: defaultReply ?? undefined,
      };
      const items = insertSorted(state.items, item);
      return { ...state, items, pendingInput: pendingInputOf(items) };
    }
    case 'input': {
      const item: InputItem = { kind: 'input', key: `i-${seq}`, order: seq, seq, content: event.data.content };
      const items = insertSorted(state.items, item);
      return { ...state, items, pendingInput: pendingInputOf(items) };
    }
    case 'log': {
      const item: LogItem = { kind: 'log', key: `l-${seq}`, order: seq, seq, level: event.data.level, message: event.data.message };
      return { ...state, items: insertSorted(state.items, item) };
    }
    case 'error': {
      const item: ErrorItem = {
        kind: 'error',
        key: `e-${seq}`,
        order: seq,
        seq,
        code: event.data.code,
        message: event.data.message,
        retryable: event.data.retryable,
      };
      return { ...state, items: insertSorted(state.items, item) };
    }
    case 'finished': {
      const { status, summary, reason, usage } = event.data;
      let next: RunViewState = {
        ...state,
        finished: { seq, status, summary, reason, at },
        pendingInput: null,
      };
      if (seq >= state.statusSeq) next = { ...next, status, statusSeq: seq };
      if (!state.timeline.some((change) => change.status === status)) {
        next = { ...next, timeline: [...next.timeline, { seq, status, at }].sort((a, b) => a.seq - b.seq) };
      }
      // The final totals are authoritative (they include calls the events may not show).
      next = {
        ...next,
        usage: {
          promptTokens: usage.prompt_tokens,
          completionTokens: usage.completion_tokens,
          costUsd: usage.cost_usd,
          calls: usage.calls,
        },
      };
      // A draft still streaming now never became a message (its worker stopped mid-answer):
      // it is not part of the transcript. A tool call still unanswered never will be.
      const items = dropDrafts(next.items, () => true).map((item) =>
        item.kind === 'tool_call' && item.result === null && !item.interrupted ? { ...item, interrupted: true } : item,
      );
      return { ...next, items };
    }
  }
}

function toolResultView({ seq, content, isError, refused, durationMs }: ToolResultView): ToolResultView {
  return { seq, content, isError, refused, durationMs };
}

/** Folds one event into the view. */
export function applyEvent(state: RunViewState, event: RunEvent): RunViewState {
  if (event.type === 'message_delta') {
    // Deltas after the run finished, or for a message already final, change nothing.
    if (state.finished) return state;
    return applyDelta(state, event);
  }
  if (state.seen[event.seq]) return state;
  // After `finished`, the final usage totals must not be added to again.
  if (event.type === 'usage' && state.finished) {
    return { ...state, seen: { ...state.seen, [event.seq]: true }, lastSeq: Math.max(state.lastSeq, event.seq) };
  }
  const next = applyDurable(state, event);
  return { ...next, seen: { ...next.seen, [event.seq]: true }, lastSeq: Math.max(next.lastSeq, event.seq) };
}

/** Folds many events. */
export function applyEvents(state: RunViewState, events: readonly RunEvent[]): RunViewState {
  return events.reduce(applyEvent, state);
}

/** Whether the run was built but not executed (`execute: false`). */
export function isBuildOnly(state: RunViewState): boolean {
  return state.finished?.reason === 'build_only';
}

export interface RunViewStore extends RunViewState {
  apply: (event: RunEvent) => void;
  applyMany: (events: readonly RunEvent[]) => void;
  reset: () => void;
}

/** A store for one run page. */
export function createRunViewStore() {
  return createStore<RunViewStore>()((set) => ({
    ...initialRunView,
    apply: (event) => set((state) => applyEvent(state, event)),
    applyMany: (events) => set((state) => applyEvents(state, events)),
    reset: () => set(initialRunView),
  }));
}
export type RunViewStoreApi = ReturnType<typeof createRunViewStore>;
