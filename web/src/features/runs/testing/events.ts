// Event fixtures for the runs feature's tests: a small scripted run, seq by seq, typed by
// the generated event union.
import type { RunEvent, RunEventOf, RunEventType, TeamSpec } from '../types';

export const RUN_ID = '7d0c6d38-6a55-4a43-b1c7-1a0c2f6c2a11';

let clock = Date.parse('2026-05-01T10:00:00Z');

/** One event; `at` advances a second per call. */
export function ev<T extends RunEventType>(seq: number, type: T, data: RunEventOf<T>['data']): RunEventOf<T> {
  clock += 1000;
  return { seq, run_id: RUN_ID, at: new Date(clock).toISOString(), type, data } as RunEventOf<T>;
}

/** Anything the stream might carry (an event of a newer server, a malformed one). */
export function rawEvent(seq: number, type: string, data: unknown): unknown {
  clock += 1000;
  return { seq, run_id: RUN_ID, at: new Date(clock).toISOString(), type, data };
}

/** The `data` of a `finished` event, with the usage and reason a test does not care about. */
export function finishedData(
  status: RunEventOf<'finished'>['data']['status'],
  rest: Partial<RunEventOf<'finished'>['data']> = {},
): RunEventOf<'finished'>['data'] {
  return { status, summary: '', reason: 'text_mention', usage: { prompt_tokens: 0, completion_tokens: 0, cost_usd: 0, calls: 0 }, ...rest };
}

export const TEAM = {
  name: 'Fib vs primes',
  agents: [
    { name: 'Mathematician', system_message: 'You are a mathematician.', description: 'Checks the maths.' },
    { name: 'Python_Developer', system_message: 'You write Python.', description: 'Writes the code.' },
    { name: 'Quality_Reviewer', system_message: 'You review.', description: 'Reviews the result.' },
  ],
  speaker_selection: { method: 'auto' },
  code_execution: { enabled: true, executor_name: 'Computer_terminal', languages: ['python', 'sh'] },
  admin_name: 'User',
} satisfies TeamSpec;

export const CODE = "print('First 20 Fibonacci numbers: [0, 1, 1]')";

/** A whole run: status, team, messages with a code block and its result, usage, finished. */
export function scriptedRun(): RunEvent[] {
  return [
    ev(1, 'status', { status: 'building' }),
    ev(2, 'usage', { model: 'demo', prompt_tokens: 100, completion_tokens: 20, cost_usd: 0.001 }),
    ev(3, 'team', { team: TEAM }),
    ev(4, 'status', { status: 'executing' }),
    ev(5, 'message', { message_id: 'm1', agent: 'User', content: 'Compare Fibonacci and primes', tokens: 0 }),
    ev(6, 'speaker', { agent: 'Python_Developer', reason: 'auto' }),
    ev(7, 'usage', { model: 'demo', prompt_tokens: 200, completion_tokens: 50, cost_usd: 0.002 }),
    ev(8, 'message', { message_id: 'm2', agent: 'Python_Developer', content: `Here is the program:\n\`\`\`python\n${CODE}\n\`\`\``, tokens: 50 }),
    ev(9, 'speaker', { agent: 'Computer_terminal', reason: 'code to execute' }),
    ev(10, 'code', { message_id: 'm2', language: 'python', code: CODE }),
    ev(11, 'code_result', { message_id: 'm2', exit_code: 0, stdout: 'First 20 Fibonacci numbers: [0, 1, 1]\n', stderr: '', duration_ms: 412, timed_out: false }),
    ev(12, 'message', { message_id: 'm3', agent: 'Computer_terminal', content: 'exitcode: 0', tokens: 0 }),
    ev(13, 'status', { status: 'completed' }),
    ev(14, 'finished', { status: 'completed', summary: 'All **done**.', reason: 'text_mention', usage: { prompt_tokens: 300, completion_tokens: 70, cost_usd: 0.003, calls: 2 } }),
  ];
}
