// The stream boundary: JSON from the WebSocket, SSE or the JSON events page becomes a
// `RunEvent` (the generated union, `docs/DESIGN.md` §4) after a small structural check.
// The server's types are not re-declared here: `data` is trusted to match its `type`
// (the server generates both from one definition), and code narrows on `event.type`.
import type { RunEvent, RunEventType } from '@/lib/api/types';

export type { AgentSpec, RunEvent, RunEventOf, RunEventType, TeamSpec } from '@/lib/api/types';

/** Every event type this UI knows, checked against the generated union both ways: a
 *  type the server adds or drops fails the typecheck here. */
const KNOWN_EVENT_TYPES = {
  status: true,
  team: true,
  speaker: true,
  message_delta: true,
  message: true,
  code: true,
  code_result: true,
  tool_call: true,
  tool_result: true,
  usage: true,
  input_request: true,
  input: true,
  log: true,
  error: true,
  finished: true,
} as const satisfies Record<RunEventType, true>;

/** Every event type, e.g. for naming the SSE listeners. */
export const RUN_EVENT_TYPES = Object.keys(KNOWN_EVENT_TYPES) as RunEventType[];

export function isRunEventType(value: unknown): value is RunEventType {
  return typeof value === 'string' && Object.hasOwn(KNOWN_EVENT_TYPES, value);
}

/** A value from the stream, checked: a known event, or one of a type this UI does not
 *  know (a newer server) that is skipped but still moves the resume point. */
export type IncomingEvent = { known: true; seq: number; event: RunEvent } | { known: false; seq: number; type: string };

/** Checks a value from the stream: an object with a numeric `seq`, a string `type` and an
 *  object `data`; null when it is not an event at all. */
export function readIncomingEvent(value: unknown): IncomingEvent | null {
  if (typeof value !== 'object' || value === null) return null;
  const { seq, type, data } = value as { seq?: unknown; type?: unknown; data?: unknown };
  if (typeof seq !== 'number' || !Number.isFinite(seq) || typeof type !== 'string') return null;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return null;
  if (!isRunEventType(type)) return { known: false, seq, type };
  return { known: true, seq, event: value as RunEvent };
}
