import { describe, expect, it } from 'vitest';
import { ev, finishedData, scriptedRun, TEAM } from '../testing/events';
import { applyEvent, applyEvents, createRunViewStore, initialRunView, isBuildOnly, type MessageItem, type ToolCallItem } from './run-view';

const messages = (items: readonly { kind: string }[]) => items.filter((i): i is MessageItem => i.kind === 'message');
const toolCalls = (items: readonly { kind: string }[]) => items.filter((i): i is ToolCallItem => i.kind === 'tool_call');

const call = (seq: number, callId: string, tool = 'notebook.remember', args: Record<string, unknown> = { fact: 'F(20) = 6765' }) =>
  ev(seq, 'tool_call', { message_id: 't1', call_id: callId, agent: 'Researcher', tool, arguments: args });
const answer = (seq: number, callId: string, rest: Partial<{ content: string; is_error: boolean; refused: boolean; duration_ms: number; tool: string }> = {}) =>
  ev(seq, 'tool_result', { message_id: 't1', call_id: callId, agent: 'Researcher', tool: 'notebook.remember', content: 'ok', is_error: false, duration_ms: 12, ...rest });

describe('run view reducer', () => {
  it('folds a whole run: status timeline, team, ordered transcript, code result, usage, summary', () => {
    const state = applyEvents(initialRunView, scriptedRun());
    expect(state.status).toBe('completed');
    expect(state.timeline.map((t) => t.status)).toEqual(['building', 'executing', 'completed']);
    expect(state.team?.agents.map((a) => a.name)).toEqual(TEAM.agents.map((a) => a.name));
    expect(state.items.map((i) => i.kind)).toEqual(['message', 'speaker', 'message', 'speaker', 'message']);
    expect(messages(state.items).map((m) => m.messageId)).toEqual(['m1', 'm2', 'm3']);
    expect(state.code.m2).toHaveLength(1);
    expect(state.code.m2![0]!.result).toMatchObject({ exitCode: 0, durationMs: 412, timedOut: false });
    expect(state.finished).toMatchObject({ status: 'completed', summary: 'All **done**.', reason: 'text_mention' });
    // The finished totals are authoritative.
    expect(state.usage).toEqual({ promptTokens: 300, completionTokens: 70, costUsd: 0.003, calls: 2 });
    expect(state.lastSeq).toBe(14);
  });

  it('keeps the files a code result lists (none for events stored before files were listed)', () => {
    const file = { path: 'a.csv', size_bytes: 3, content_type: 'text/csv', stored: true };
    const state = applyEvents(initialRunView, [
      ev(1, 'code', { message_id: 'm', language: 'python', code: 'a()' }),
      ev(2, 'code_result', { message_id: 'm', exit_code: 0, stdout: '', stderr: '', duration_ms: 1, timed_out: false, files: [file] }),
      ev(3, 'code', { message_id: 'm', language: 'python', code: 'b()' }),
      ev(4, 'code_result', { message_id: 'm', exit_code: 0, stdout: '', stderr: '', duration_ms: 1, timed_out: false }),
    ]);
    expect(state.code.m!.map((block) => block.result?.files)).toEqual([[file], []]);
  });

  it('sums usage events while running', () => {
    const state = applyEvents(initialRunView, scriptedRun().slice(0, 7));
    expect(state.usage.promptTokens).toBe(300);
    expect(state.usage.completionTokens).toBe(70);
    expect(state.usage.costUsd).toBeCloseTo(0.003);
    expect(state.usage.calls).toBe(2);
  });

  it('applying the same events twice changes nothing', () => {
    const events = scriptedRun();
    const once = applyEvents(initialRunView, events);
    const twice = applyEvents(once, events);
    expect(twice).toBe(once);
    const interleaved = applyEvents(initialRunView, events.flatMap((e) => [e, e]));
    expect(interleaved.items).toEqual(once.items);
    expect(interleaved.usage).toEqual(once.usage);
    expect(interleaved.timeline).toEqual(once.timeline);
  });

  it('keeps seq order whatever order events arrive in', () => {
    const events = scriptedRun();
    const shuffled = [events[7]!, events[4]!, events[11]!, events[5]!, events[8]!, events[3]!, events[0]!, events[1]!, events[2]!, events[6]!, events[9]!, events[10]!, events[12]!, events[13]!];
    const state = applyEvents(initialRunView, shuffled);
    const inOrder = applyEvents(initialRunView, events);
    expect(state.items.map((i) => i.key)).toEqual(inOrder.items.map((i) => i.key));
    expect(state.timeline.map((t) => t.status)).toEqual(['building', 'executing', 'completed']);
    expect(state.status).toBe('completed');
  });

  it('a late status event does not override a newer one', () => {
    const state = applyEvents(initialRunView, [ev(4, 'status', { status: 'executing' }), ev(1, 'status', { status: 'building' })]);
    expect(state.status).toBe('executing');
    expect(state.timeline.map((t) => t.status)).toEqual(['building', 'executing']);
  });

  it('streams deltas into a message, then replaces it with the final message', () => {
    let state = applyEvents(initialRunView, scriptedRun().slice(0, 5));
    state = applyEvent(state, ev(5, 'message_delta', { message_id: 'm2', agent: 'Python_Developer', delta: 'Here ' }));
    state = applyEvent(state, ev(5, 'message_delta', { message_id: 'm2', agent: 'Python_Developer', delta: 'is' }));
    let streaming = messages(state.items).find((m) => m.messageId === 'm2')!;
    expect(streaming).toMatchObject({ content: 'Here is', streaming: true, seq: null });
    // A delta does not move the resume point.
    expect(state.lastSeq).toBe(5);

    state = applyEvent(state, ev(6, 'speaker', { agent: 'Python_Developer', reason: 'auto' }));
    state = applyEvent(state, ev(8, 'message', { message_id: 'm2', agent: 'Python_Developer', content: 'Here is the program', tokens: 5 }));
    const all = messages(state.items).filter((m) => m.messageId === 'm2');
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ content: 'Here is the program', streaming: false, seq: 8 });
    // It now sits after the speaker line (seq 6).
    expect(state.items.map((i) => i.key)).toEqual(['m-m1', 's-6', 'm-m2']);

    // A late delta for a final message is ignored.
    const after = applyEvent(state, ev(8, 'message_delta', { message_id: 'm2', agent: 'Python_Developer', delta: ' again' }));
    expect(after).toBe(state);
    streaming = messages(after.items).find((m) => m.messageId === 'm2')!;
    expect(streaming.content).toBe('Here is the program');
  });

  it('drops a draft that never became a message (its worker stopped mid-answer)', () => {
    const base = applyEvents(initialRunView, scriptedRun().slice(0, 5));
    const draft = (state: typeof base) =>
      applyEvent(state, ev(5, 'message_delta', { message_id: 'halted', agent: 'Python_Developer', delta: 'Here is th' }));
    // The resumed run retries the turn: its final message replaces the abandoned draft.
    let state = applyEvent(draft(base), ev(8, 'message', { message_id: 'm2', agent: 'Python_Developer', content: 'Here is the program', tokens: 5 }));
    expect(messages(state.items).map((m) => m.messageId)).toEqual(['m1', 'm2']);
    // Or the chat moves on to another speaker.
    state = applyEvent(draft(base), ev(6, 'speaker', { agent: 'Mathematician', reason: 'auto' }));
    expect(messages(state.items).map((m) => m.messageId)).toEqual(['m1']);
    // Or the run ends.
    state = applyEvent(draft(base), ev(20, 'finished', finishedData('cancelled', { summary: 'cancelled', reason: 'cancelled' })));
    expect(messages(state.items).map((m) => m.messageId)).toEqual(['m1']);
    // A draft of another agent is left alone by a final message.
    state = applyEvent(draft(base), ev(8, 'message', { message_id: 'x', agent: 'Mathematician', content: 'Hm', tokens: 1 }));
    expect(messages(state.items).find((m) => m.messageId === 'halted')?.streaming).toBe(true);
  });

  it('tracks the open input request until it is answered', () => {
    let state = applyEvents(initialRunView, [ev(1, 'status', { status: 'waiting_input' }), ev(2, 'input_request', { prompt: 'Pick: 1) A 2) B' })]);
    expect(state.pendingInput?.prompt).toBe('Pick: 1) A 2) B');
    state = applyEvent(state, ev(3, 'input', { content: '1' }));
    expect(state.pendingInput).toBeNull();
    expect(state.items.map((i) => i.kind)).toEqual(['input_request', 'input']);
  });

  it('records errors and logs as transcript items', () => {
    const state = applyEvents(initialRunView, [
      ev(1, 'log', { level: 'warn', message: 'slow model' }),
      ev(2, 'error', { code: 'llm_unreachable', message: 'timeout', retryable: true }),
    ]);
    expect(state.items.map((i) => i.kind)).toEqual(['log', 'error']);
    expect(state.items[1]).toMatchObject({ code: 'llm_unreachable', message: 'timeout', retryable: true });
    expect(state.lastSeq).toBe(2);
  });

  it('knows a build-only run', () => {
    const state = applyEvents(initialRunView, [
      ev(1, 'status', { status: 'building' }),
      ev(2, 'team', { team: TEAM }),
      ev(3, 'status', { status: 'completed' }),
      ev(4, 'finished', { status: 'completed', summary: 'team built', reason: 'build_only', usage: { prompt_tokens: 1, completion_tokens: 1, cost_usd: 0, calls: 1 } }),
    ]);
    expect(isBuildOnly(state)).toBe(true);
    expect(isBuildOnly(applyEvents(initialRunView, scriptedRun()))).toBe(false);
  });

  it('a store applies events and resets', () => {
    const store = createRunViewStore();
    store.getState().applyMany(scriptedRun());
    expect(store.getState().status).toBe('completed');
    store.getState().reset();
    expect(store.getState().items).toEqual([]);
  });
  describe('tool calls', () => {
    it('adds a tool call in seq order and completes it with its result', () => {
      const state = applyEvents(initialRunView, [
        ev(1, 'speaker', { agent: 'Researcher', reason: 'auto' }),
        call(2, 'c1'),
        answer(3, 'c1', { content: 'remembered', duration_ms: 42 }),
        ev(4, 'message', { message_id: 't1', agent: 'Researcher', content: 'Noted.', tokens: 3 }),
      ]);
      expect(state.items.map((i) => i.key)).toEqual(['s-1', 't-2', 'm-t1']);
      expect(toolCalls(state.items)[0]).toMatchObject({
        seq: 2,
        messageId: 't1',
        callId: 'c1',
        agent: 'Researcher',
        tool: 'notebook.remember',
        arguments: { fact: 'F(20) = 6765' },
        result: { seq: 3, content: 'remembered', isError: false, refused: false, durationMs: 42 },
        interrupted: false,
      });
      expect(state.lastSeq).toBe(4);
    });

    it('leaves a call pending until its result, and pairs results by call id', () => {
      let state = applyEvents(initialRunView, [call(1, 'a', 'files.read'), call(2, 'b', 'files.list')]);
      expect(toolCalls(state.items).map((c) => c.result)).toEqual([null, null]);
      state = applyEvent(state, answer(3, 'b', { content: 'x.txt' }));
      expect(toolCalls(state.items).map((c) => c.result?.content ?? null)).toEqual([null, 'x.txt']);
      state = applyEvent(state, answer(4, 'a', { content: 'hello' }));
      expect(toolCalls(state.items).map((c) => c.result?.content)).toEqual(['hello', 'x.txt']);
    });

    it('answers the latest unanswered call of a repeated id', () => {
      const state = applyEvents(initialRunView, [
        call(1, 'call_1_0'),
        answer(2, 'call_1_0', { content: 'first' }),
        call(3, 'call_1_0'),
        call(4, 'call_1_0'),
        answer(5, 'call_1_0', { content: 'second' }),
      ]);
      expect(toolCalls(state.items).map((c) => c.result?.content ?? null)).toEqual(['first', null, 'second']);
    });

    it('marks a refused call, and a failed one', () => {
      const state = applyEvents(initialRunView, [
        call(1, 'r', 'shell.exec', { cmd: 'rm -rf /' }),
        answer(2, 'r', { tool: 'shell.exec', content: 'Refused: shell.exec is not a tool Researcher may call.', is_error: true, refused: true, duration_ms: 0 }),
        call(3, 'f'),
        answer(4, 'f', { content: 'server crashed', is_error: true }),
      ]);
      const [refused, failed] = toolCalls(state.items);
      expect(refused!.result).toMatchObject({ refused: true, isError: true, durationMs: 0 });
      expect(failed!.result).toMatchObject({ refused: false, isError: true, content: 'server crashed' });
    });

    it('keeps arguments that were not valid JSON as text', () => {
      const raw = { ...call(1, 'c'), data: { message_id: 't1', call_id: 'c', agent: 'Researcher', tool: 'notebook.remember', arguments: '{"fact": ' } };
      const state = applyEvent(initialRunView, raw as unknown as ReturnType<typeof call>);
      expect(toolCalls(state.items)[0]!.arguments).toBe('{"fact": ');
    });

    it('pairs a result that arrives before its call, and applies each event once', () => {
      const events = [call(1, 'c'), answer(2, 'c', { content: 'done' })];
      const reversed = applyEvents(initialRunView, [events[1]!, events[0]!]);
      const inOrder = applyEvents(initialRunView, events);
      expect(reversed.items).toEqual(inOrder.items);
      expect(reversed.orphanToolResults).toEqual([]);
      expect(applyEvents(inOrder, events)).toBe(inOrder);
    });

    it('moves the streaming text below the tool calls made since, where the final message goes', () => {
      let state = applyEvents(initialRunView, [ev(1, 'speaker', { agent: 'Researcher', reason: 'auto' })]);
      state = applyEvent(state, ev(1, 'message_delta', { message_id: 't1', agent: 'Researcher', delta: 'Let me note that. ' }));
      state = applyEvents(state, [call(2, 'c1'), answer(3, 'c1')]);
      expect(state.items.map((i) => i.key)).toEqual(['s-1', 'm-t1', 't-2']);
      state = applyEvent(state, ev(3, 'message_delta', { message_id: 't1', agent: 'Researcher', delta: 'Noted.' }));
      expect(state.items.map((i) => i.key)).toEqual(['s-1', 't-2', 'm-t1']);
      expect(messages(state.items)[0]).toMatchObject({ content: 'Let me note that. Noted.', streaming: true });
      state = applyEvent(state, ev(4, 'message', { message_id: 't1', agent: 'Researcher', content: 'Let me note that.\n\nNoted.', tokens: 9 }));
      expect(state.items.map((i) => i.key)).toEqual(['s-1', 't-2', 'm-t1']);
    });

    it('a call still unanswered when the run finishes is marked interrupted', () => {
      const state = applyEvents(initialRunView, [call(1, 'c'), ev(2, 'finished', finishedData('cancelled', { reason: 'cancelled' }))]);
      expect(toolCalls(state.items)[0]).toMatchObject({ result: null, interrupted: true });
    });
  });
});
