// The Cadre team JSON (cadre-core `TeamSpec`) as a zod schema, shared by the runs and
// teams features. The generated API types leave it free-form (`Record<string, unknown>`);
// this is its real shape, checked before anything is sent. Unknown fields
// (`autogen_extra`, fields of a newer server) pass through untouched, so an edit never
// drops them.
import { z } from 'zod';
import { DEFAULT_SPEAKER_METHOD, SPEAKER_METHODS } from './speaker-selection';

/** Agent names: what OpenAI's `name` field accepts (team.rs `is_valid_agent_name`). */
export const AGENT_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const AGENT_NAME_MESSAGE = 'use 1 to 64 letters, digits, “_” or “-” (no spaces)';
export const MAX_TEAM_NAME_CHARS = 200;

const agentName = z.string().regex(AGENT_NAME_PATTERN, AGENT_NAME_MESSAGE);
const optionalText = z.string().nullish();
const count = z.number().int().nonnegative();

export const agentSpecSchema = z.looseObject({
  name: agentName,
  system_message: z.string({ error: 'must be a string' }),
  description: z.string().default(''),
  model: optionalText,
  tools: z.array(z.string()).optional(),
});

/** One option per method of SPEAKER_METHODS (speaker-selection.test checks that they match). */
export const speakerSelectionSchema = z.discriminatedUnion(
  'method',
  [
    z.object({ method: z.literal('auto') }),
    z.object({ method: z.literal('round_robin') }),
    z.object({ method: z.literal('random'), seed: count.nullish() }),
    z.object({ method: z.literal('manual') }),
    z.object({ method: z.literal('graph'), transitions: z.record(z.string(), z.array(z.string())) }),
  ],
  { error: `method must be one of ${SPEAKER_METHODS.join(', ')}` },
);

export const terminationSchema = z.looseObject({
  text_mention: optionalText,
  max_round: count.min(1).nullish(),
  max_tokens: count.nullish(),
  max_cost_usd: z.number().nonnegative().nullish(),
  timeout_secs: count.nullish(),
});

export const codeExecutionSchema = z.looseObject({
  enabled: z.boolean().optional(),
  executor_name: agentName.optional(),
  languages: z.array(z.string()).optional(),
  last_n_messages: count.optional(),
  timeout_secs: count.optional(),
});

export const teamSpecSchema = z
  .looseObject({
    name: z
      .string({ error: 'must be a string' })
      .trim()
      .min(1, 'must not be empty')
      .max(MAX_TEAM_NAME_CHARS, `must be at most ${MAX_TEAM_NAME_CHARS} characters`),
    building_task: optionalText,
    agents: z.array(agentSpecSchema, { error: 'must be a list of agents' }).min(1, 'a team needs at least one agent'),
    speaker_selection: speakerSelectionSchema.optional(),
    termination: terminationSchema.optional(),
    code_execution: codeExecutionSchema.optional(),
    admin_name: agentName.optional(),
    default_model: optionalText,
    temperature: z.number().min(0).max(2).nullish(),
    autogen_extra: z.record(z.string(), z.unknown()).optional(),
  })
  .superRefine((team, ctx) => {
    // Every participant needs a distinct name (team.rs `validate`).
    const seen = new Map<string, string>();
    const claim = (name: string, path: (string | number)[]) => {
      if (seen.has(name)) {
        ctx.addIssue({ code: 'custom', path, message: `duplicate name “${name}” (already used by ${seen.get(name)})` });
      } else {
        seen.set(name, path.join('.'));
      }
    };
    team.agents.forEach((agent, i) => claim(agent.name, ['agents', i, 'name']));
    claim(team.admin_name ?? 'User', ['admin_name']);
    if (team.code_execution?.enabled) claim(team.code_execution.executor_name ?? 'Computer_terminal', ['code_execution', 'executor_name']);
    const selection = team.speaker_selection;
    if (selection?.method === 'graph') {
      for (const [from, tos] of Object.entries(selection.transitions)) {
        for (const name of [from, ...tos]) {
          if (!seen.has(name)) {
            ctx.addIssue({ code: 'custom', path: ['speaker_selection', 'transitions', from], message: `names unknown agent “${name}”` });
          }
        }
      }
    }
  });

export type TeamSpec = z.infer<typeof teamSpecSchema>;
export type AgentSpec = z.infer<typeof agentSpecSchema>;
export type SpeakerSelection = z.infer<typeof speakerSelectionSchema>;

/** A path like `agents[1].name` (or `team` for the whole document). */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out || 'team';
}

export type SpecCheck =
  | { ok: true; spec: TeamSpec }
  | {
      ok: false;
      /** One "path: message" line per problem. */
      errors: string[];
      /** The first message per path (`name`, `agents[0].name`, …), for form fields. */
      fields: Record<string, string>;
    };

/** Validates a parsed value as a team. */
export function checkTeamSpec(value: unknown): SpecCheck {
  const result = teamSpecSchema.safeParse(value);
  if (result.success) return { ok: true, spec: result.data };
  const fields: Record<string, string> = {};
  const errors = result.error.issues.map((issue) => {
    const path = formatIssuePath(issue.path);
    fields[path] ??= issue.message;
    return `${path}: ${issue.message}`;
  });
  return { ok: false, errors, fields };
}

/** The 1-based line and column of a character offset. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, offset));
  const lines = before.split('\n');
  return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 };
}

/** The offset of the first JSON syntax error in `text` and what was expected there, or
 *  null when it is valid. Browsers' JSON.parse messages do not reliably carry a position,
 *  so the text is scanned here (RFC 8259 grammar, no values built). */
export function findJsonError(text: string): { offset: number; expected: string } | null {
  class SyntaxAt extends Error {
    constructor(
      readonly offset: number,
      readonly expected: string,
    ) {
      super(expected);
    }
  }
  let i = 0;
  const fail = (expected: string): never => {
    throw new SyntaxAt(i, expected);
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i += 1;
  };
  const literal = (word: string) => {
    if (text.startsWith(word, i)) i += word.length;
    else fail('a value');
  };
  const string = () => {
    i += 1; // opening quote
    while (i < text.length) {
      const c = text[i]!;
      if (c === '"') {
        i += 1;
        return;
      }
      if (c === '\\') {
        const next = text[i + 1] ?? '';
        if ('"\\/bfnrt'.includes(next) && next) i += 2;
        else if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else fail('a valid escape sequence');
      } else if (c < ' ') fail('“"” to close the string');
      else i += 1;
    }
    fail('“"” to close the string');
  };
  const number = () => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!match) fail('a value');
    i += match![0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i += 1;
      ws();
      if (text[i] === '}') {
        i += 1;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('a property name in double quotes');
        string();
        ws();
        if (text[i] !== ':') fail('“:”');
        i += 1;
        value();
        ws();
        if (text[i] === ',') {
          i += 1;
          continue;
        }
        if (text[i] === '}') {
          i += 1;
          return;
        }
        fail('“,” or “}”');
      }
    } else if (c === '[') {
      i += 1;
      ws();
      if (text[i] === ']') {
        i += 1;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') {
          i += 1;
          continue;
        }
        if (text[i] === ']') {
          i += 1;
          return;
        }
        fail('“,” or “]”');
      }
    } else if (c === '"') string();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) number();
    else fail('a value');
  };
  try {
    value();
    ws();
    if (i < text.length) fail('the end of the text');
    return null;
  } catch (error) {
    if (error instanceof SyntaxAt) return { offset: error.offset, expected: error.expected };
    throw error;
  }
}

/** Parses JSON text; a syntax error becomes a message with its line and column. */
export function parseJsonText(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  if (!text.trim()) return { ok: false, error: 'The JSON is empty.' };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    const found = findJsonError(text);
    if (!found) return { ok: false, error: `Invalid JSON: ${error instanceof Error ? error.message : String(error)}` };
    const { line, column } = lineAndColumn(text, found.offset);
    const got = found.offset >= text.length ? 'the end of the text' : `“${text[found.offset]}”`;
    return { ok: false, error: `Invalid JSON at line ${line}, column ${column}: expected ${found.expected}, found ${got}.` };
  }
}

/** Parses and validates a team from JSON text. */
export function parseTeamJson(text: string): SpecCheck {
  const parsed = parseJsonText(text);
  if (!parsed.ok) return { ok: false, errors: [parsed.error], fields: {} };
  if (typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value)) {
    return { ok: false, errors: ['team: expected a JSON object with “name” and “agents”'], fields: {} };
  }
  return checkTeamSpec(parsed.value);
}

/** A team as the editor holds it: whatever the server sent, with the defaults the form
 *  needs. Falls back to the raw value when it does not validate (the JSON tab shows why). */
export function toDraft(spec: Record<string, unknown>): TeamSpec {
  const checked = teamSpecSchema.safeParse(spec);
  return checked.success ? checked.data : (spec as TeamSpec);
}

/** A new agent with a free name (`Agent_2`, `Agent_3`, …). */
export function newAgent(existing: readonly { name: string }[]): AgentSpec {
  const names = new Set(existing.map((agent) => agent.name));
  let n = existing.length + 1;
  while (names.has(`Agent_${n}`)) n += 1;
  return { name: `Agent_${n}`, description: '', system_message: 'You are a helpful expert. Reply TERMINATE when the task is done.' };
}

/** The spec a "New team" starts from: one agent, default settings. */
export function emptyTeamSpec(name = 'New team'): TeamSpec {
  return {
    name,
    agents: [
      {
        name: 'Assistant',
        description: 'A general-purpose assistant.',
        system_message: 'You are a helpful assistant. Reply TERMINATE when the task is done.',
      },
    ],
    speaker_selection: { method: DEFAULT_SPEAKER_METHOD },
  };
}
