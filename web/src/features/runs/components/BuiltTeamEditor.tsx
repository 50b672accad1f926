// The built team's editor on a build-only run's page ("Review the team"): the team's
// name and each agent's name, description and system message, before the team is saved
// or run. Saved teams have the full editor (teams feature, TeamEditor).
import { useId } from 'react';
import { TextArea, TextField } from '@/components/ui';
import type { AgentSpec, TeamSpec } from '../types';

export interface BuiltTeamEditorProps {
  team: TeamSpec;
  onChange: (team: TeamSpec) => void;
}

function AgentEditor({ agent, index, onChange }: { agent: AgentSpec; index: number; onChange: (agent: AgentSpec) => void }) {
  const headingId = useId();
  return (
    <li>
      <fieldset className="agent-editor" aria-labelledby={headingId}>
        <legend id={headingId} className="agent-editor__title">
          Agent {index + 1}: {agent.name || 'unnamed'}
        </legend>
        <TextField
          label="Name"
          value={agent.name}
          hint="Letters, digits, _ and - (at most 64)."
          onChange={(e) => onChange({ ...agent, name: e.target.value })}
        />
        <TextField label="Description" value={agent.description ?? ''} onChange={(e) => onChange({ ...agent, description: e.target.value })} />
        <TextArea
          label="System message"
          rows={6}
          value={agent.system_message}
          onChange={(e) => onChange({ ...agent, system_message: e.target.value })}
        />
      </fieldset>
    </li>
  );
}

export function BuiltTeamEditor({ team, onChange }: BuiltTeamEditorProps) {
  return (
    <div className="built-team-editor">
      <TextField label="Team name" value={team.name ?? ''} onChange={(e) => onChange({ ...team, name: e.target.value })} />
      <ol className="built-team-editor__agents" aria-label="Agents">
        {team.agents.map((agent, index) => (
          <AgentEditor
            key={index}
            agent={agent}
            index={index}
            onChange={(next) => onChange({ ...team, agents: team.agents.map((a, i) => (i === index ? next : a)) })}
          />
        ))}
      </ol>
    </div>
  );
}
