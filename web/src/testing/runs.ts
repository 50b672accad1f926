// Run fixtures for tests: a `RunView` as the API answers it.
import type { Run } from '@/lib/api/types';

/** A run as `GET /api/v1/runs/{id}` shows it: queued, nothing used yet; `overrides` win. */
export function runView(overrides: Partial<Run> = {}): Run {
  return {
    id: '5f1c2b3a-0d4e-4f5a-8b6c-7d8e9f0a1b2c',
    task: 'Compare',
    status: 'queued',
    team: null,
    summary: null,
    error: null,
    usage: { prompt_tokens: 0, completion_tokens: 0, cost_usd: 0, calls: 0 },
    last_seq: 0,
    cancel_requested: false,
    settings: { execute: true, model: 'demo' },
    created_at: '2026-05-01T10:00:00Z',
    started_at: null,
    finished_at: null,
    ...overrides,
  };
}
