import { describe, expect, it } from 'vitest';
import { RUN_STATUSES, TERMINAL_RUN_STATUSES, isRunStatus, isTerminalStatus, runStatusLabel } from './run-status';

describe('run statuses', () => {
  it('lists every status in lifecycle order', () => {
    expect(RUN_STATUSES).toEqual(['queued', 'building', 'executing', 'waiting_input', 'completed', 'failed', 'cancelled']);
  });

  it('knows which statuses are final', () => {
    expect(TERMINAL_RUN_STATUSES).toEqual(['completed', 'failed', 'cancelled']);
    expect(RUN_STATUSES.filter(isTerminalStatus)).toEqual(TERMINAL_RUN_STATUSES);
  });

  it('tells statuses from other values', () => {
    expect(RUN_STATUSES.every(isRunStatus)).toBe(true);
    for (const value of ['', 'done', 'toString', 'constructor', null, undefined, 3]) expect(isRunStatus(value)).toBe(false);
  });

  it('names each status', () => {
    expect(RUN_STATUSES.map(runStatusLabel)).toEqual(['Queued', 'Building team', 'Running', 'Waiting for input', 'Completed', 'Failed', 'Cancelled']);
  });
});
