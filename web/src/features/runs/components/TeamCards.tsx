// The run's team: one card per agent (name, description, system message on demand), and
// the code executor when the team runs code.
import { useId, useState } from 'react';
import { Badge, Button } from '@/components/ui';
import type { AgentSpec, TeamSpec } from '../types';

function AgentCard({ agent }: { agent: AgentSpec }) {
  const [open, setOpen] = useState(false);
  const panelId = useId();
  return (
    <li className="agent-card" aria-label={agent.name}>
      <h3 className="agent-card__name">{agent.name}</h3>
      {agent.model && <Badge>{agent.model}</Badge>}
      <p className="agent-card__description">{agent.description || <span className="muted">No description.</span>}</p>
      <Button size="sm" variant="ghost" aria-expanded={open} aria-controls={panelId} onClick={() => setOpen((v) => !v)}>
        {open ? 'Hide system message' : 'Show system message'}
      </Button>
      <div id={panelId} hidden={!open}>
        {open && <pre className="agent-card__system">{agent.system_message}</pre>}
      </div>
    </li>
  );
}

export function TeamCards({ team }: { team: TeamSpec }) {
  const executor = team.code_execution?.enabled ? team.code_execution.executor_name ?? 'Computer_terminal' : null;
  return (
    <ul className="team-cards" aria-label="Agents">
      {team.agents.map((agent) => (
        <AgentCard key={agent.name} agent={agent} />
      ))}
      {executor && (
        <li className="agent-card agent-card--executor" aria-label={executor}>
          <h3 className="agent-card__name">{executor}</h3>
          <Badge tone="info">Code executor</Badge>
          <p className="agent-card__description">
            Runs the code blocks the others write ({(team.code_execution?.languages ?? ['python', 'sh']).join(', ')}) in the sandbox
            and reports the output.
          </p>
        </li>
      )}
    </ul>
  );
}
