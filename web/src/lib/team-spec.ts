// The Cadre team JSON (the generated `TeamSpec`), checked before anything is sent, and
// shared by the runs and teams features. The type comes from `schema.d.ts`; what is here
// is a small hand-written check of what a user types into the team editor (the JSON tab
// or the form), so that mistakes are named by field (`agents[1].name: …`) and JSON syntax
// errors by line and column. It is not a full mirror of the server's rules: the server
// validates every team again and answers 422 with `details.fields`, which the editor
// shows. The value is never rewritten: unknown fields (`autogen_extra`, fields of a newer
// server) pass through untouched, so an edit never drops them.
import type { AgentSpec, TeamSpec } from '@/lib/api/types';
import { DEFAULT_SPEAKER_METHOD, SPEAKER_METHODS, isSpeakerMethod } from './speaker-selection';

export type { AgentSpec, TeamSpec };

/** Agent names: what OpenAI's `name` field accepts (team.rs `is_valid_agent_name`). */
export const AGENT_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const AGENT_NAME_MESSAGE = 'use 1 to 64 letters, digits, “_” or “-” (no spaces)';
export const MAX_TEAM_NAME_CHARS = 200;
/** MCP server names in the operator's configuration (tool.rs `is_name`). */
export const TOOL_SERVER_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** How to write an agent's tool allowlist entries. */
export const TOOL_PATTERN_FORMS = 'server.tool, server.* or *';
/** The name of the admin and of the executor when a team names none (team.rs). */
const DEFAULT_ADMIN_NAME = 'User';
const DEFAULT_EXECUTOR_NAME = 'Computer_terminal';

type Path = readonly (string | number)[];

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

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const isCount = (value: unknown) => typeof value === 'number' && Number.isInteger(value) && value >= 0;

/** Validates a parsed value as a team (its shape, names, and the references between them). */
export function checkTeamSpec(value: unknown): SpecCheck {
  const issues: { path: Path; message: string }[] = [];
  const fail = (path: Path, message: string) => {
    issues.push({ path, message });
  };
  /** Checks an optional field: absent passes, `null` passes when `nullable`. */
  const optional = (object: Json, key: string, path: Path, test: (v: unknown) => boolean, message: string, nullable = true) => {
    const v = object[key];
    if (v === undefined || (nullable && v === null)) return;
    if (!test(v)) fail([...path, key], message);
  };
  const agentName = (v: unknown) => typeof v === 'string' && AGENT_NAME_PATTERN.test(v);
  const isString = (v: unknown) => typeof v === 'string';

  if (!isObject(value)) return report([{ path: [], message: 'expected a JSON object with “name” and “agents”' }]);
  const team = value;

  if (typeof team.name !== 'string') fail(['name'], 'must be a string');
  else if (!team.name.trim()) fail(['name'], 'must not be empty');
  else if (team.name.trim().length > MAX_TEAM_NAME_CHARS) fail(['name'], `must be at most ${MAX_TEAM_NAME_CHARS} characters`);

  const names: { name: string; path: Path }[] = [];
  if (!Array.isArray(team.agents)) fail(['agents'], 'must be a list of agents');
  else if (team.agents.length === 0) fail(['agents'], 'a team needs at least one agent');
  else {
    team.agents.forEach((agent: unknown, i) => {
      const at = ['agents', i];
      if (!isObject(agent)) return fail(at, 'must be an object with “name” and “system_message”');
      if (typeof agent.name !== 'string') fail([...at, 'name'], 'must be a string');
      else if (!agentName(agent.name)) fail([...at, 'name'], AGENT_NAME_MESSAGE);
      else names.push({ name: agent.name, path: [...at, 'name'] });
      if (typeof agent.system_message !== 'string') fail([...at, 'system_message'], 'must be a string');
      optional(agent, 'description', at, isString, 'must be a string', false);
      optional(agent, 'model', at, isString, 'must be a string');
      optional(agent, 'tools', at, (v) => Array.isArray(v) && v.every(isString), 'must be a list of strings', false);
      if (Array.isArray(agent.tools) && agent.tools.every(isString)) {
        const message = toolListError(agent.tools);
        if (message) fail([...at, 'tools'], message);
      }
    });
  }

  optional(team, 'admin_name', [], agentName, AGENT_NAME_MESSAGE, false);
  optional(team, 'building_task', [], isString, 'must be a string');
  optional(team, 'default_model', [], isString, 'must be a string');
  optional(team, 'temperature', [], (v) => typeof v === 'number' && v >= 0 && v <= 2, 'must be a number from 0 to 2');
  optional(team, 'autogen_extra', [], isObject, 'must be an object', false);

  const selection = team.speaker_selection;
  let transitions: Record<string, unknown> | null = null;
  if (selection !== undefined) {
    if (!isObject(selection)) fail(['speaker_selection'], 'must be an object with a “method”');
    else if (!isSpeakerMethod(selection.method)) {
      fail(['speaker_selection', 'method'], `method must be one of ${SPEAKER_METHODS.join(', ')}`);
    } else if (selection.method === 'random') {
      optional(selection, 'seed', ['speaker_selection'], isCount, 'must be a whole number ≥ 0');
    } else if (selection.method === 'graph') {
      const t = selection.transitions;
      if (!isObject(t) || !Object.values(t).every((tos) => Array.isArray(tos) && tos.every(isString))) {
        fail(['speaker_selection', 'transitions'], 'must map each agent to a list of agent names');
      } else transitions = t;
    }
  }

  const termination = team.termination;
  if (termination !== undefined) {
    if (!isObject(termination)) fail(['termination'], 'must be an object');
    else {
      const at = ['termination'];
      optional(termination, 'text_mention', at, isString, 'must be a string');
      optional(termination, 'max_round', at, (v) => isCount(v) && (v as number) >= 1, 'must be a whole number ≥ 1');
      for (const key of ['max_tokens', 'timeout_secs']) optional(termination, key, at, isCount, 'must be a whole number ≥ 0');
      optional(termination, 'max_cost_usd', at, (v) => typeof v === 'number' && v >= 0, 'must be a number ≥ 0');
    }
  }

  const execution = team.code_execution;
  let executorName: string | null = null;
  if (execution !== undefined) {
    if (!isObject(execution)) fail(['code_execution'], 'must be an object');
    else {
      const at = ['code_execution'];
      optional(execution, 'enabled', at, (v) => typeof v === 'boolean', 'must be true or false', false);
      optional(execution, 'executor_name', at, agentName, AGENT_NAME_MESSAGE, false);
      optional(execution, 'languages', at, (v) => Array.isArray(v) && v.every(isString), 'must be a list of strings', false);
      for (const key of ['last_n_messages', 'timeout_secs']) optional(execution, key, at, isCount, 'must be a whole number ≥ 0', false);
      if (execution.enabled === true) executorName = typeof execution.executor_name === 'string' ? execution.executor_name : DEFAULT_EXECUTOR_NAME;
    }
  }

  // Every participant needs a distinct name (team.rs `validate`).
  const adminName = typeof team.admin_name === 'string' ? team.admin_name : DEFAULT_ADMIN_NAME;
  names.push({ name: adminName, path: ['admin_name'] });
  if (executorName !== null) names.push({ name: executorName, path: ['code_execution', 'executor_name'] });
  const seen = new Map<string, string>();
  for (const { name, path } of names) {
    const first = seen.get(name);
    if (first !== undefined) fail(path, `duplicate name “${name}” (already used by ${first})`);
    else seen.set(name, path.join('.'));
  }
  if (transitions) {
    for (const [from, tos] of Object.entries(transitions)) {
      for (const name of [from, ...(tos as string[])]) {
        if (!seen.has(name)) fail(['speaker_selection', 'transitions', from], `names unknown agent “${name}”`);
      }
    }
  }

  // The checks above cover every field the generated type requires.
  return issues.length ? report(issues) : { ok: true, spec: team as TeamSpec };
}

function report(issues: readonly { path: Path; message: string }[]): SpecCheck {
  const fields: Record<string, string> = {};
  const errors = issues.map(({ path, message }) => {
    const key = formatIssuePath(path);
    fields[key] ??= message;
    return `${key}: ${message}`;
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
  return checkTeamSpec(parsed.value);
}

/** Whether `entry` is a tool allowlist entry the server accepts (tool.rs `ToolPattern::parse`):
 *  `*`, `server.*`, or `server.tool` (a tool name without whitespace). */
export function isToolPattern(entry: string): boolean {
  if (entry === '*') return true;
  const dot = entry.indexOf('.');
  if (dot === -1) return false;
  const server = entry.slice(0, dot);
  const tool = entry.slice(dot + 1);
  if (!TOOL_SERVER_PATTERN.test(server)) return false;
  return tool === '*' || (tool !== '' && !/\s/u.test(tool));
}

/** What is wrong with an allowlist (its first invalid entry), or null when it is valid. */
export function toolListError(entries: readonly string[]): string | null {
  const bad = entries.filter((entry) => !isToolPattern(entry));
  if (bad.length === 0) return null;
  const named = bad.map((entry) => `“${entry}”`).join(', ');
  return `${named} ${bad.length === 1 ? 'is not a tool entry' : 'are not tool entries'}: use ${TOOL_PATTERN_FORMS} (server names: letters, digits, “_” or “-”)`;
}

/** An allowlist typed as text: comma-separated entries, trimmed, empty ones dropped. */
export function parseToolList(text: string): string[] {
  return text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

/** An allowlist as text (`parseToolList` reads it back). */
export function formatToolList(entries: readonly string[] | undefined): string {
  return (entries ?? []).join(', ');
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
