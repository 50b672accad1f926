// The team as a form: name, speaker selection, end conditions, code execution, default
// model, and each agent's name, description, system message, model and tool allowlist
// (add / remove). Works on a draft owned by the editor; `errors` are messages keyed by
// spec path (`agents[0].name`). The deployment's MCP tools are listed (GET /api/v1/tools)
// and offered as completions of the allowlists.
import { useId, useState } from 'react';
import { Button, Checkbox, Select, TextArea, TextField } from '@/components/ui';
import { useTools } from '@/lib/api/get-tools';
import { DEFAULT_SPEAKER_METHOD, SPEAKER_METHODS, SPEAKER_METHOD_LABELS, isSimpleSpeakerMethod } from '@/lib/speaker-selection';
import { formatToolList, newAgent, parseToolList, toolListError, type AgentSpec, type TeamSpec } from '@/lib/team-spec';
import { ToolsCatalog, toolSuggestions } from './ToolsCatalog';

export interface TeamFormProps {
  draft: TeamSpec;
  onChange: (draft: TeamSpec) => void;
  errors: Record<string, string>;
}

function numberOrNull(value: string): number | null {
  if (!value.trim()) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

const sameEntries = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((entry, i) => entry === b[i]);

/** An agent's tool allowlist as comma-separated text, checked as it is typed (the server's
 *  rule, the one `checkTeamSpec` applies on save: its message would only repeat this one,
 *  and go stale once the text is fixed), with the deployment's tools offered as
 *  completions of the last entry. */
function ToolsField({
  agent,
  suggestions,
  onChange,
}: {
  agent: AgentSpec;
  suggestions: readonly string[];
  onChange: (agent: AgentSpec) => void;
}) {
  const listId = useId();
  const entries = agent.tools ?? [];
  // The text as typed (keeping a trailing ", "), unless the list changed elsewhere (the
  // JSON tab, discarding changes).
  const [typed, setTyped] = useState(() => formatToolList(entries));
  const value = sameEntries(parseToolList(typed), entries) ? typed : formatToolList(entries);
  const cut = value.lastIndexOf(',');
  const prefix = cut === -1 ? '' : `${value.slice(0, cut + 1)} `;
  const completions = suggestions.filter((name) => !entries.includes(name)).map((name) => `${prefix}${name}`);
  return (
    <>
      <TextField
        label="Tools (optional)"
        hint={
          <>
            MCP tools the agent may call, comma-separated: <code>server.tool</code>, <code>server.*</code> (all of a server’s tools) or{' '}
            <code>*</code> (every tool). Empty: none.
          </>
        }
        placeholder="notebook.remember, files.*"
        value={value}
        error={toolListError(parseToolList(value)) ?? undefined}
        list={completions.length > 0 ? listId : undefined}
        autoComplete="off"
        spellCheck={false}
        // Tidy the text once it is left ("a.b ,c.*," becomes "a.b, c.*").
        onBlur={() => setTyped(formatToolList(parseToolList(value)))}
        onChange={(event) => {
          setTyped(event.target.value);
          const tools = parseToolList(event.target.value);
          const { tools: _tools, ...rest } = agent;
          onChange(tools.length > 0 ? { ...rest, tools } : rest);
        }}
      />
      {completions.length > 0 && (
        <datalist id={listId}>
          {completions.map((completion) => (
            <option key={completion} value={completion} />
          ))}
        </datalist>
      )}
    </>
  );
}

function AgentFields({
  agent,
  index,
  canRemove,
  errors,
  toolNames,
  onChange,
  onRemove,
}: {
  agent: AgentSpec;
  index: number;
  canRemove: boolean;
  errors: Record<string, string>;
  toolNames: readonly string[];
  onChange: (agent: AgentSpec) => void;
  onRemove: () => void;
}) {
  const at = `agents[${index}]`;
  return (
    <fieldset className="agent-fieldset">
      <legend className="agent-fieldset__legend">
        Agent {index + 1}
        {agent.name ? `: ${agent.name}` : ''}
      </legend>
      <TextField
        label="Name"
        hint="Letters, digits, “_” and “-”; unique in the team."
        value={agent.name}
        error={errors[`${at}.name`]}
        autoComplete="off"
        spellCheck={false}
        onChange={(event) => onChange({ ...agent, name: event.target.value })}
      />
      <TextField
        label="Description"
        hint="One line the other agents (and speaker selection) see."
        value={agent.description ?? ''}
        error={errors[`${at}.description`]}
        onChange={(event) => onChange({ ...agent, description: event.target.value })}
      />
      <TextArea
        label="System message"
        rows={5}
        value={agent.system_message}
        error={errors[`${at}.system_message`]}
        onChange={(event) => onChange({ ...agent, system_message: event.target.value })}
      />
      <TextField
        label="Model (optional)"
        hint="Overrides the team’s default model for this agent."
        value={agent.model ?? ''}
        error={errors[`${at}.model`]}
        autoComplete="off"
        spellCheck={false}
        onChange={(event) => {
          const { model: _model, ...rest } = agent;
          onChange(event.target.value.trim() ? { ...rest, model: event.target.value } : rest);
        }}
      />
      <ToolsField agent={agent} suggestions={toolNames} onChange={onChange} />
      <div className="row">
        <Button size="sm" variant="ghost" onClick={onRemove} disabled={!canRemove} aria-label={`Remove agent ${agent.name || index + 1}`}>
          Remove agent
        </Button>
      </div>
    </fieldset>
  );
}

export function TeamForm({ draft, onChange, errors }: TeamFormProps) {
  const method = draft.speaker_selection?.method ?? DEFAULT_SPEAKER_METHOD;
  // A graph is kept (and shown) when the team has one, but set up in the JSON tab.
  const speakerOptions = SPEAKER_METHODS.filter((value) => isSimpleSpeakerMethod(value) || value === method).map((value) => ({
    value,
    label: SPEAKER_METHOD_LABELS[value],
  }));
  const agentsError = errors.agents;
  const tools = useTools();
  const toolNames = toolSuggestions(tools.data);

  function setAgent(index: number, agent: AgentSpec) {
    onChange({ ...draft, agents: draft.agents.map((a, i) => (i === index ? agent : a)) });
  }

  function setMethod(value: string) {
    if (value === method || !isSimpleSpeakerMethod(value)) return;
    onChange({ ...draft, speaker_selection: { method: value } });
  }

  return (
    <div className="team-form stack">
      <div className="form-grid">
        <TextField
          label="Team name"
          required
          value={draft.name ?? ''}
          error={errors.name}
          onChange={(event) => onChange({ ...draft, name: event.target.value })}
        />
        <Select
          label="Speaker selection"
          hint={method === 'graph' ? 'Edit the transitions in the JSON tab.' : 'Who speaks next.'}
          value={method}
          options={speakerOptions}
          error={errors.speaker_selection ?? errors['speaker_selection.method']}
          onChange={(event) => setMethod(event.target.value)}
        />
        <TextField
          label="Maximum rounds"
          type="number"
          min={1}
          inputMode="numeric"
          hint="Turns before the chat stops; empty for no limit."
          value={draft.termination?.max_round ?? ''}
          error={errors['termination.max_round']}
          onChange={(event) =>
            onChange({ ...draft, termination: { ...draft.termination, max_round: numberOrNull(event.target.value) } })
          }
        />
        <TextField
          label="Default model"
          hint="For agents without their own model; empty: the run’s model."
          value={draft.default_model ?? ''}
          autoComplete="off"
          spellCheck={false}
          onChange={(event) => onChange({ ...draft, default_model: event.target.value.trim() ? event.target.value : null })}
        />
      </div>
      <Checkbox
        label="Execute code"
        hint="Adds a code-executing agent that runs the team’s code blocks in the sandbox."
        checked={draft.code_execution?.enabled ?? false}
        onChange={(event) => onChange({ ...draft, code_execution: { ...draft.code_execution, enabled: event.target.checked } })}
      />
      {draft.building_task && (
        <p className="muted">
          Built for: <q>{draft.building_task}</q>
        </p>
      )}

      <h3 className="section-title">Agents ({draft.agents.length})</h3>
      {agentsError && (
        <p className="field__error" role="alert">
          {agentsError}
        </p>
      )}
      <ToolsCatalog tools={tools.data} loading={tools.isPending} />
      {draft.agents.map((agent, index) => (
        <AgentFields
          // Agents have no id; the index is their identity while editing.
          key={index}
          agent={agent}
          index={index}
          canRemove={draft.agents.length > 1}
          errors={errors}
          toolNames={toolNames}
          onChange={(next) => setAgent(index, next)}
          onRemove={() => onChange({ ...draft, agents: draft.agents.filter((_, i) => i !== index) })}
        />
      ))}
      <div className="row">
        <Button onClick={() => onChange({ ...draft, agents: [...draft.agents, newAgent(draft.agents)] })}>Add agent</Button>
      </div>
    </div>
  );
}
