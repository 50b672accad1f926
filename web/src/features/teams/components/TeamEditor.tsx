// Edits a team two ways, on tabs: "Form" (TeamForm) and "JSON" (the whole spec as text).
// Both work on one draft; leaving the JSON tab or saving parses and checks the text first
// (`checkTeamSpec`), so an obviously broken team never reaches the server, and problems
// are listed with their line/column (syntax) or field path (`agents[1].name: …`). What
// the server still refuses (422) is shown below the editor.
import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { Button, ErrorMessage, TextArea } from '@/components/ui';
import { checkTeamSpec, parseTeamJson, type TeamSpec } from '@/lib/team-spec';
import { TeamForm } from './TeamForm';

type Tab = 'form' | 'json';
const TABS: { id: Tab; label: string }[] = [
  { id: 'form', label: 'Form' },
  { id: 'json', label: 'JSON' },
];

export interface TeamEditorProps {
  /** The saved spec (as the server sent it). */
  spec: TeamSpec;
  /** Saves a valid spec; resolves with the saved spec. */
  onSave: (spec: TeamSpec) => Promise<TeamSpec>;
  saving: boolean;
  saveError: unknown;
  /** Told whenever the draft starts or stops differing from the saved team. */
  onDirtyChange?: (dirty: boolean) => void;
}

const pretty = (value: unknown) => JSON.stringify(value, null, 2);

export function TeamEditor({ spec, onSave, saving, saveError, onDirtyChange }: TeamEditorProps) {
  const [tab, setTab] = useState<Tab>('form');
  const [draft, setDraft] = useState<TeamSpec>(spec);
  const [baseline, setBaseline] = useState(() => pretty(spec));
  const [jsonText, setJsonText] = useState(() => pretty(spec));
  const [problems, setProblems] = useState<string[]>([]);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [savedNote, setSavedNote] = useState(false);
  const tabRefs = useRef<Record<Tab, HTMLButtonElement | null>>({ form: null, json: null });

  const dirty = tab === 'json' ? jsonText.trim() !== baseline.trim() : pretty(draft) !== baseline;
  useEffect(() => onDirtyChange?.(dirty), [dirty, onDirtyChange]);

  function clearProblems() {
    setProblems([]);
    setFieldErrors({});
    setSavedNote(false);
  }

  /** Switches tabs; leaving JSON only when it holds a valid team. */
  function selectTab(next: Tab) {
    if (next === tab) return;
    if (next === 'json') {
      setJsonText(pretty(draft));
      clearProblems();
      setTab('json');
      return;
    }
    const checked = parseTeamJson(jsonText);
    if (!checked.ok) {
      setProblems(checked.errors);
      return;
    }
    setDraft(checked.spec);
    clearProblems();
    setTab('form');
  }

  function onTabKeyDown(event: KeyboardEvent<HTMLButtonElement>) {
    const index = TABS.findIndex((t) => t.id === tab);
    let next: Tab | undefined;
    if (event.key === 'ArrowRight') next = TABS[(index + 1) % TABS.length]!.id;
    else if (event.key === 'ArrowLeft') next = TABS[(index - 1 + TABS.length) % TABS.length]!.id;
    else if (event.key === 'Home') next = TABS[0]!.id;
    else if (event.key === 'End') next = TABS[TABS.length - 1]!.id;
    if (!next) return;
    event.preventDefault();
    selectTab(next);
    tabRefs.current[next]?.focus();
  }

  async function save() {
    const checked = tab === 'json' ? parseTeamJson(jsonText) : checkTeamSpec(draft);
    if (!checked.ok) {
      setProblems(checked.errors);
      setFieldErrors(checked.fields);
      return;
    }
    clearProblems();
    try {
      const saved = await onSave(checked.spec);
      setDraft(saved);
      setBaseline(pretty(saved));
      setJsonText(pretty(saved));
      setSavedNote(true);
    } catch {
      // The page shows `saveError`.
    }
  }

  function discard() {
    const saved = JSON.parse(baseline) as TeamSpec;
    setDraft(saved);
    setJsonText(baseline);
    clearProblems();
  }

  return (
    <div className="team-editor">
      <div role="tablist" aria-label="Edit the team as" className="tabs">
        {TABS.map((t) => (
          <button
            key={t.id}
            ref={(element) => {
              tabRefs.current[t.id] = element;
            }}
            type="button"
            role="tab"
            id={`team-tab-${t.id}`}
            aria-selected={tab === t.id}
            aria-controls={`team-panel-${t.id}`}
            tabIndex={tab === t.id ? 0 : -1}
            className="tabs__tab"
            onClick={() => selectTab(t.id)}
            onKeyDown={onTabKeyDown}
          >
            {t.label}
          </button>
        ))}
      </div>

      {problems.length > 0 && (
        <div role="alert" className="error-message">
          <p className="error-message__title">
            {problems.length === 1 ? 'This team has a problem:' : `This team has ${problems.length} problems:`}
          </p>
          <ul className="error-message__fields">
            {problems.map((problem) => (
              <li key={problem}>{problem}</li>
            ))}
          </ul>
        </div>
      )}

      <div role="tabpanel" id={`team-panel-${tab}`} aria-labelledby={`team-tab-${tab}`} className="tabs__panel">
        {tab === 'form' ? (
          <TeamForm
            draft={draft}
            errors={fieldErrors}
            onChange={(next) => {
              setDraft(next);
              setSavedNote(false);
            }}
          />
        ) : (
          <TextArea
            label="Team JSON"
            hint="The Cadre team format: name, agents, speaker_selection, termination, code_execution, …"
            rows={24}
            spellCheck={false}
            className="code-field"
            value={jsonText}
            onChange={(event) => {
              setJsonText(event.target.value);
              setSavedNote(false);
            }}
          />
        )}
      </div>

      <ErrorMessage error={saveError} title="Could not save the team" />

      <div className="editor-actions">
        <Button variant="primary" onClick={() => void save()} loading={saving}>
          Save
        </Button>
        <Button variant="ghost" onClick={discard} disabled={!dirty || saving}>
          Discard changes
        </Button>
        <span className="muted" role="status">
          {savedNote ? 'Saved.' : dirty ? 'Unsaved changes' : ''}
        </span>
      </div>
    </div>
  );
}
