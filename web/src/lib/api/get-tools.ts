// GET /api/v1/tools: the tools of the operator's MCP servers that agents may be allowed to
// call (named `server.tool`), whether any server is configured at all, and the servers
// that could not be reached. Used by the team editor to help write agents' allowlists.
import { queryOptions, useQuery } from '@tanstack/react-query';
import { api, unwrap } from './client';
import { queryKeys } from './query-keys';
import type { ToolsView } from './types';

export function getTools(signal?: AbortSignal): Promise<ToolsView> {
  return unwrap(api.GET('/api/v1/tools', { signal }));
}

export const toolsQueryOptions = queryOptions({
  queryKey: queryKeys.tools,
  queryFn: ({ signal }) => getTools(signal),
  // The server asks its MCP servers: don't repeat that on every focus.
  staleTime: 5 * 60_000,
  refetchOnWindowFocus: false,
});

/** The deployment's MCP tools. */
export function useTools() {
  return useQuery(toolsQueryOptions);
}
