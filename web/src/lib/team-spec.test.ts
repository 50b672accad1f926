import { describe, expect, it } from 'vitest';
import {
  checkTeamSpec,
  findJsonError,
  formatIssuePath,
  formatToolList,
  isToolPattern,
  lineAndColumn,
  newAgent,
  parseJsonText,
  parseTeamJson,
  parseToolList,
  toolListError,
} from './team-spec';

describe('parseJsonText', () => {
  it('parses valid JSON', () => {
    expect(parseJsonText('{"a": [1, 2.5e3, "x\\n", true, null]}')).toEqual({ ok: true, value: { a: [1, 2500, 'x\n', true, null] } });
  });

  it.each([
    ['{"a": 1,}', 'line 1, column 9: expected a property name in double quotes, found “}”.'],
    ['{\n  "a": 1\n  "b": 2\n}', 'line 3, column 3: expected “,” or “}”, found “"”.'],
    ['[1, 2', 'line 1, column 6: expected “,” or “]”, found the end of the text.'],
    ["{'a': 1}", 'line 1, column 2: expected a property name in double quotes, found “\'”.'],
    ['{"a": tru}', 'line 1, column 7: expected a value, found “t”.'],
    ['{} x', 'line 1, column 4: expected the end of the text, found “x”.'],
  ])('locates the error in %j', (text, where) => {
    expect(parseJsonText(text)).toEqual({ ok: false, error: `Invalid JSON at ${where}` });
  });

  it('agrees with JSON.parse on what is valid', () => {
    for (const text of ['0', '-1.5E+2', '"\\u00e9"', '[]', '{}', ' [ { } ] ', '"a\\"b"']) {
      expect(findJsonError(text)).toBeNull();
      expect(() => JSON.parse(text) as unknown).not.toThrow();
    }
    for (const text of ['01', '1.', '"\\x"', '[,]', '', '"a']) {
      expect(findJsonError(text)).not.toBeNull();
    }
  });

  it('says when the text is empty', () => {
    expect(parseJsonText('  ')).toEqual({ ok: false, error: 'The JSON is empty.' });
  });
});

describe('team check', () => {
  const agent = (name: string) => ({ name, system_message: 'x' });

  it('accepts a minimal team and keeps unknown fields, unchanged', () => {
    const value = { name: ' T ', agents: [{ ...agent('A'), autogen_extra: { tags: [1] } }], future_field: 1 };
    const checked = checkTeamSpec(value);
    expect(checked).toEqual({ ok: true, spec: value });
    expect(checked.ok && checked.spec).toBe(value);
  });

  it('names what is missing or of the wrong type', () => {
    const fields = (value: unknown) => {
      const checked = checkTeamSpec(value);
      return checked.ok ? null : checked.fields;
    };
    expect(fields({ name: 'T' })).toEqual({ agents: 'must be a list of agents' });
    expect(fields({ name: 'T', agents: {} })).toEqual({ agents: 'must be a list of agents' });
    expect(fields({ agents: [agent('A')] })).toEqual({ name: 'must be a string' });
    expect(fields({ name: 'T', agents: [{ system_message: 'x' }, { name: 'B' }, 'C'] })).toEqual({
      'agents[0].name': 'must be a string',
      'agents[1].system_message': 'must be a string',
      'agents[2]': 'must be an object with “name” and “system_message”',
    });
    expect(fields({ name: 'T', agents: [{ ...agent('A'), description: 3, tools: 'x' }], termination: { max_round: 0 }, code_execution: { enabled: 'yes' } })).toEqual({
      'agents[0].description': 'must be a string',
      'agents[0].tools': 'must be a list of strings',
      'termination.max_round': 'must be a whole number ≥ 1',
      'code_execution.enabled': 'must be true or false',
    });
    expect(fields({ name: 'T', agents: [agent('A')], speaker_selection: { method: 'graph', transitions: { A: 'B' } } })).toEqual({
      'speaker_selection.transitions': 'must map each agent to a list of agent names',
    });
  });

  it('names every invalid field', () => {
    const checked = checkTeamSpec({ name: '', agents: [agent('has space')], temperature: 5, speaker_selection: { method: 'random', seed: -1 } });
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.fields).toMatchObject({
      name: 'must not be empty',
      'agents[0].name': expect.stringContaining('letters, digits') as string,
      temperature: expect.any(String) as string,
      'speaker_selection.seed': expect.any(String) as string,
    });
  });

  it('refuses duplicate participants, including the admin and the executor', () => {
    const withAdmin = checkTeamSpec({ name: 'T', agents: [agent('User')] });
    expect(withAdmin.ok || withAdmin.errors).toEqual(['admin_name: duplicate name “User” (already used by agents.0.name)']);
    const withExecutor = checkTeamSpec({ name: 'T', agents: [agent('Computer_terminal')], code_execution: { enabled: true } });
    expect(withExecutor.ok).toBe(false);
    expect(checkTeamSpec({ name: 'T', agents: [agent('Computer_terminal')], code_execution: { enabled: false } }).ok).toBe(true);
  });

  it('checks graph transitions against the participants', () => {
    const checked = checkTeamSpec({ name: 'T', agents: [agent('A')], speaker_selection: { method: 'graph', transitions: { A: ['Z'] } } });
    expect(checked.ok || checked.errors).toEqual(['speaker_selection.transitions.A: names unknown agent “Z”']);
  });

  it('needs a JSON object with agents', () => {
    expect(parseTeamJson('[]')).toMatchObject({ ok: false, errors: ['team: expected a JSON object with “name” and “agents”'] });
    expect(parseTeamJson('{"name": "T", "agents": []}')).toMatchObject({ ok: false, errors: ['agents: a team needs at least one agent'] });
  });
});

describe('helpers', () => {
  it('formats paths and positions', () => {
    expect(formatIssuePath(['agents', 2, 'name'])).toBe('agents[2].name');
    expect(formatIssuePath([])).toBe('team');
    expect(lineAndColumn('ab\ncd', 4)).toEqual({ line: 2, column: 2 });
  });

  it('names new agents without clashes', () => {
    expect(newAgent([{ name: 'Agent_2' }]).name).toBe('Agent_3');
  });
});

describe('tool allowlists', () => {
  it('accepts what the server accepts (tool.rs ToolPattern::parse)', () => {
    for (const entry of ['*', 'notebook.*', 'notebook.remember', 'my-server_2.read.file', 'a.b/c', `${'s'.repeat(64)}.t`]) {
      expect(isToolPattern(entry), entry).toBe(true);
    }
    for (const entry of ['', 'notebook', 'notebook.', '.remember', '*.remember', 'note book.x', 'notebook.re member', 'notebook.x\t', ' notebook.x', `${'s'.repeat(65)}.t`, 'é.x', '**']) {
      expect(isToolPattern(entry), entry).toBe(false);
    }
  });

  it('reads and writes the comma-separated text', () => {
    expect(parseToolList(' notebook.remember, files.* ,, *,')).toEqual(['notebook.remember', 'files.*', '*']);
    expect(parseToolList('  ')).toEqual([]);
    expect(formatToolList(['a.b', 'c.*'])).toBe('a.b, c.*');
    expect(formatToolList(undefined)).toBe('');
  });

  it('names the invalid entries', () => {
    expect(toolListError(['a.b', '*'])).toBeNull();
    expect(toolListError(['a.b', 'notebook remember'])).toBe(
      '“notebook remember” is not a tool entry: use server.tool, server.* or * (server names: letters, digits, “_” or “-”)',
    );
    expect(toolListError(['x', 'y'])).toMatch(/^“x”, “y” are not tool entries/);
  });

  it('refuses a team with an invalid entry, by field', () => {
    const checked = checkTeamSpec({ name: 'T', agents: [{ name: 'A', system_message: 'x', tools: ['files.*', 'files'] }] });
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.fields['agents[0].tools']).toMatch(/^“files” is not a tool entry/);
  });
});
