// Import a team file (AutoGen AgentBuilder, AgentChat / AutoGen Studio, or Cadre JSON):
// pick a .json file (its text lands in the textarea) or paste the JSON, then POST
// /api/v1/teams/import and open the team, which says how the file was read (format,
// notes). JSON syntax errors are caught here with their line and column; the server's
// 422 says what else is wrong.
import { useId, useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { Button, Card, ErrorMessage, TextArea } from '@/components/ui';
import { useImportTeam } from '../api/import-team';
import { parseJsonText } from '@/lib/team-spec';
import type { ImportState } from './ImportNotice';

const EXAMPLE = `{
  "building_task": "Plot the stock prices of two companies.",
  "agent_configs": [
    { "name": "Analyst", "system_message": "You analyse data.", "description": "Analyses data." }
  ],
  "coding": true
}`;

export function ImportTeamCard() {
  const navigate = useNavigate();
  const importTeam = useImportTeam();
  const fileId = useId();
  const [text, setText] = useState('');
  const [localError, setLocalError] = useState<string | undefined>();
  const [fileName, setFileName] = useState<string | null>(null);

  async function onFile(file: File | undefined) {
    if (!file) return;
    setFileName(file.name);
    setLocalError(undefined);
    importTeam.reset();
    try {
      setText(await file.text());
    } catch {
      setLocalError(`Could not read ${file.name}.`);
    }
  }

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    importTeam.reset();
    const parsed = parseJsonText(text);
    if (!parsed.ok) {
      setLocalError(parsed.error);
      return;
    }
    if (typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value)) {
      setLocalError('Expected a JSON object (a team file, e.g. AgentBuilder’s with “agent_configs”).');
      return;
    }
    setLocalError(undefined);
    importTeam.mutate(parsed.value as Record<string, unknown>, {
      onSuccess: ({ id, format, notes }) => {
        const state: ImportState = { imported: { format, notes } };
        void navigate(`/teams/${id}`, { state });
      },
    });
  }

  return (
    <Card title="Import a team" className="import-card">
      <p className="muted">
        AutoGen AgentBuilder, AgentChat / AutoGen Studio, or Cadre JSON: a file saved by <code>AgentBuilder.save()</code>, a
        team component (<code>RoundRobinGroupChat</code>, <code>SelectorGroupChat</code>) or a gallery exported from AutoGen
        Studio, or a team exported here. The team page then lists what Cadre kept but does not use.
      </p>
      <form className="stack" onSubmit={onSubmit} noValidate>
        <div className="field">
          <label htmlFor={fileId} className="field__label">
            File
          </label>
          <input
            id={fileId}
            type="file"
            accept="application/json,.json"
            className="field__control field__control--file"
            onChange={(event) => void onFile(event.target.files?.[0])}
          />
          {fileName && <div className="field__hint">Loaded {fileName} into the box below.</div>}
        </div>
        <TextArea
          label="JSON to import"
          hint="Or paste it here: AutoGen AgentBuilder, AgentChat / AutoGen Studio, or Cadre JSON."
          rows={8}
          spellCheck={false}
          className="code-field"
          placeholder={EXAMPLE}
          value={text}
          error={localError}
          onChange={(event) => {
            setText(event.target.value);
            setLocalError(undefined);
          }}
        />
        <ErrorMessage error={importTeam.error} title="The server refused this file" />
        <div className="row">
          <Button type="submit" variant="primary" loading={importTeam.isPending} disabled={!text.trim() || importTeam.isPending}>
            Import team
          </Button>
        </div>
      </form>
    </Card>
  );
}
