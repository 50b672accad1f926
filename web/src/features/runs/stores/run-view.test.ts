import { describe, expect, it } from 'vitest';
import { ev, finishedData, scriptedRun, TEAM } from '../testing/events';
import { applyEvent, applyEvents, createRunViewStore, initialRunView, isBuildOnly, type MessageItem } from './run-view';

const messages = (items: readonly { kind: string }[]) => items.filter((i): i is MessageItem => i.kind === 'message');

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
});
