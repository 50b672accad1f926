// Query keys for TanStack Query, in one place so that any feature can invalidate another's
// data (e.g. creating a run refreshes the history list). Keys are arrays from general to
// specific: invalidating `queryKeys.runs.all` refreshes every run query.
export const queryKeys = {
  info: ['info'] as const,
  models: ['models'] as const,
  /** The deployment's MCP tools (the same for everyone). */
  tools: ['tools'] as const,
  runs: {
    all: ['runs'] as const,
    list: (filters: Record<string, unknown> = {}) => ['runs', 'list', filters] as const,
    detail: (runId: string) => ['runs', 'detail', runId] as const,
    events: (runId: string) => ['runs', 'detail', runId, 'events'] as const,
  },
  teams: {
    all: ['teams'] as const,
    list: (filters: Record<string, unknown> = {}) => ['teams', 'list', filters] as const,
    detail: (teamId: string) => ['teams', 'detail', teamId] as const,
    /** The starter teams Cadre ships (the same for everyone). */
    gallery: ['teams', 'gallery'] as const,
  },
  providers: {
    all: ['providers'] as const,
    detail: (provider: string) => ['providers', provider] as const,
  },
  tokens: { all: ['tokens'] as const },
} as const;
