// Real types for the free-form JSON the runs feature reads: each event's `data`
// (`docs/DESIGN.md` §4) and a run's team (the shared team-spec schema). The generated schema only knows
// them as `Record<string, unknown>`; these zod schemas parse them leniently (unknown
// fields pass through, so a team round-trips unchanged).
import { z } from 'zod';
import type { RunStatus } from '@/lib/api/types';
import { RUN_STATUSES } from '@/lib/run-status';
import { teamSpecSchema, type TeamSpec } from '@/lib/team-spec';

export type { AgentSpec, TeamSpec } from '@/lib/team-spec';

/** A team spec from free-form JSON (the server's, so already valid), or null when it is
 *  not one. */
export function parseTeam(value: unknown): TeamSpec | null {
  const parsed = teamSpecSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

const runStatus = z.enum(RUN_STATUSES) satisfies z.ZodType<RunStatus>;

const usageTotals = z.looseObject({
  prompt_tokens: z.number().default(0),
  completion_tokens: z.number().default(0),
  cost_usd: z.number().default(0),
  calls: z.number().optional(),
});
export type UsageTotals = z.infer<typeof usageTotals>;

/** `data` of each event type. */
export const eventDataSchemas = {
  status: z.looseObject({ status: runStatus }),
  team: z.looseObject({ team: z.unknown() }),
  speaker: z.looseObject({ agent: z.string(), reason: z.string().default('') }),
  message_delta: z.looseObject({ message_id: z.string(), agent: z.string().default(''), delta: z.string() }),
  message: z.looseObject({ message_id: z.string(), agent: z.string(), content: z.string(), tokens: z.number().default(0) }),
  code: z.looseObject({ message_id: z.string(), language: z.string().default(''), code: z.string() }),
  code_result: z.looseObject({
    message_id: z.string().nullish(),
    exit_code: z.number(),
    stdout: z.string().default(''),
    stderr: z.string().default(''),
    duration_ms: z.number().default(0),
    timed_out: z.boolean().default(false),
  }),
  usage: z.looseObject({
    model: z.string().default(''),
    prompt_tokens: z.number().default(0),
    completion_tokens: z.number().default(0),
    cost_usd: z.number().default(0),
  }),
  input_request: z.looseObject({ prompt: z.string().default('') }),
  input: z.looseObject({ content: z.string() }),
  log: z.looseObject({ level: z.string().default('info'), message: z.string() }),
  error: z.looseObject({ code: z.string().default('error'), message: z.string(), retryable: z.boolean().default(false) }),
  finished: z.looseObject({ status: runStatus, summary: z.string().nullish(), usage: usageTotals.optional(), reason: z.string().nullish() }),
} as const;

export type RunEventType = keyof typeof eventDataSchemas;
export type EventData<T extends RunEventType> = z.infer<(typeof eventDataSchemas)[T]>;

/** An event as the stream delivers it (the generated `RunEvent`, with `data` untyped). */
export interface StreamEvent {
  seq: number;
  run_id: string;
  at: string;
  type: string;
  data: Record<string, unknown>;
}

/** A typed event: `data` parsed for its type. */
export type TypedEvent = {
  [T in RunEventType]: { seq: number; at: string; type: T; data: EventData<T> };
}[RunEventType];

/** Parses an event's data for its type; null for unknown types or malformed data. */
export function typeEvent(event: StreamEvent): TypedEvent | null {
  if (!(event.type in eventDataSchemas)) return null;
  const type = event.type as RunEventType;
  const parsed = eventDataSchemas[type].safeParse(event.data);
  if (!parsed.success) return null;
  return { seq: event.seq, at: event.at, type, data: parsed.data } as TypedEvent;
}

/** Whether a stream value looks like an event. */
export function isStreamEvent(value: unknown): value is StreamEvent {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<StreamEvent>;
  return typeof v.seq === 'number' && typeof v.type === 'string' && typeof v.data === 'object' && v.data !== null;
}
