// The deployment's MCP tools, shown above the agents in the team form so that their tool
// allowlists can name them: each tool (`server.tool`) with its description, and the
// servers that could not be reached. Says so when the deployment has no MCP servers.
import { useId } from 'react';
import type { ToolsView } from '@/lib/api/types';

export interface ToolsCatalogProps {
  /** The answer of `GET /api/v1/tools` (undefined while loading or when it failed). */
  tools: ToolsView | undefined;
  loading: boolean;
}

export function ToolsCatalog({ tools, loading }: ToolsCatalogProps) {
  const headingId = useId();
  let body;
  if (loading) body = <p className="muted tools-catalog__note">Looking up the MCP tools…</p>;
  else if (!tools) body = <p className="muted tools-catalog__note">Could not list the MCP tools; tool entries are still checked when the team is saved.</p>;
  else if (!tools.configured) body = <p className="muted tools-catalog__note">This server has no MCP tools configured.</p>;
  else {
    body = (
      <>
        {tools.tools.length > 0 ? (
          <ul className="tools-catalog__list" aria-label="Available tools">
            {tools.tools.map((tool) => (
              <li key={tool.name}>
                <code>{tool.name}</code>
                {tool.description && <span className="muted"> — {tool.description}</span>}
              </li>
            ))}
          </ul>
        ) : (
          <p className="muted tools-catalog__note">No tools are available right now.</p>
        )}
        {tools.unavailable.length > 0 && (
          <>
            <p className="tools-catalog__note">Unavailable servers (their tools are not listed):</p>
            <ul className="tools-catalog__list tools-catalog__list--unavailable" aria-label="Unavailable servers">
              {tools.unavailable.map((server) => (
                <li key={server.server}>
                  <code>{server.server}</code>: {server.message}
                </li>
              ))}
            </ul>
          </>
        )}
      </>
    );
  }
  return (
    <section className="tools-catalog" aria-labelledby={headingId}>
      <h4 id={headingId} className="tools-catalog__title">
        MCP tools
      </h4>
      {body}
    </section>
  );
}

/** What an allowlist entry can be completed with: every tool, and each server's `server.*`. */
export function toolSuggestions(tools: ToolsView | undefined): string[] {
  if (!tools?.configured) return [];
  const names = tools.tools.map((tool) => tool.name);
  const servers = [...new Set(names.map((name) => name.split('.')[0]!))].map((server) => `${server}.*`);
  return [...names, ...servers];
}
