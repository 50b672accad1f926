// /runs/new — the task form: what to do, with which model, and which team (built for the
// task, or a saved one). Creates the run with POST /api/v1/runs and opens /runs/:runId.
import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { z } from 'zod';
import { Button, Card, Checkbox, ErrorMessage, PageHeader, Select, Spinner, TextArea, TextField } from '@/components/ui';
import { ApiError } from '@/lib/api/errors';
import { useModels } from '@/lib/api/get-models';
import type { CreateRunBody, ModelCatalog } from '@/lib/api/types';
import { validate, type FieldErrors } from '@/lib/form';
import { SIMPLE_SPEAKER_METHODS, SPEAKER_METHOD_LABELS } from '@/lib/speaker-selection';
import { useCreateRun } from '../api/create-run';
import { useSavedTeams } from '../api/get-saved-teams';

/** The "other model" choice of the model select. */
export const OTHER_MODEL = '__other__';

const optionalInt = (min: number, max: number, label: string) =>
  z
    .string()
    .trim()
    .refine((v) => v === '' || (/^\d+$/.test(v) && Number(v) >= min && Number(v) <= max), `${label} must be a whole number from ${min} to ${max}.`);

export const newRunSchema = z
  .object({
    task: z.string().trim().min(1, 'Describe the task.').max(20_000, 'The task is too long (at most 20,000 characters).'),
    model: z.string().min(1, 'Choose a model.'),
    otherModel: z.string().trim(),
    teamSource: z.enum(['build', 'saved']),
    teamId: z.string(),
    maxAgents: z
      .string()
      .trim()
      .refine((v) => /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 16, 'Max agents must be a whole number from 1 to 16.'),
    coding: z.boolean(),
    speakerSelection: z.enum(['', ...SIMPLE_SPEAKER_METHODS]),
    maxRound: optionalInt(1, 1000, 'Max rounds'),
    budgetUsd: z
      .string()
      .trim()
      .refine((v) => v === '' || (Number.isFinite(Number(v)) && Number(v) >= 0), 'The budget must be a number of dollars, 0 or more.'),
    buildOnly: z.boolean(),
  })
  .superRefine((values, ctx) => {
    if (values.model === OTHER_MODEL && values.otherModel === '') {
      ctx.addIssue({ code: 'custom', path: ['otherModel'], message: 'Enter the model id.' });
    }
    if (values.teamSource === 'saved' && values.teamId === '') {
      ctx.addIssue({ code: 'custom', path: ['teamId'], message: 'Choose a saved team.' });
    }
  });

export type NewRunValues = z.input<typeof newRunSchema>;

/** The POST /api/v1/runs body for valid form values. */
export function toCreateRunBody(values: z.output<typeof newRunSchema>): CreateRunBody {
  const model = values.model === OTHER_MODEL ? values.otherModel : values.model;
  const body: CreateRunBody = { task: values.task, model };
  if (values.teamSource === 'saved') body.team_id = values.teamId;
  else body.build = { max_agents: Number(values.maxAgents), coding: values.coding };
  if (values.buildOnly) body.execute = false;
  if (values.speakerSelection !== '') body.speaker_selection = values.speakerSelection;
  if (values.maxRound !== '') body.max_round = Number(values.maxRound);
  if (values.budgetUsd !== '') body.budget_usd = Number(values.budgetUsd);
  return body;
}

/** Server field paths → form fields. */
const SERVER_FIELDS: Record<string, keyof NewRunValues> = {
  task: 'task',
  model: 'model',
  'build.model': 'model',
  'build.max_agents': 'maxAgents',
  'build.coding': 'coding',
  team_id: 'teamId',
  team: 'teamId',
  max_round: 'maxRound',
  budget_usd: 'budgetUsd',
  speaker_selection: 'speakerSelection',
};

function serverFieldErrors(error: unknown): FieldErrors<NewRunValues> {
  if (!(error instanceof ApiError)) return {};
  const out: FieldErrors<NewRunValues> = {};
  for (const [field, message] of Object.entries(error.fieldErrors)) {
    const key = SERVER_FIELDS[field];
    if (key && !out[key]) out[key] = message;
  }
  return out;
}

function modelOptions(catalog: ModelCatalog | undefined) {
  const groups: Record<string, string> = { demo: 'Offline demo', preset: 'Presets', provider: 'Provider models' };
  if (!catalog) return [];
  return (['demo', 'preset', 'provider'] as const)
    .map((source) => ({ source, label: groups[source]!, models: catalog.models.filter((m) => m.source === source) }))
    .filter((group) => group.models.length > 0);
}

/** The run's speaker selection: the team's own, or one of the methods without settings. */
const SPEAKER_OPTIONS = [
  { value: '', label: "Team's default" },
  ...SIMPLE_SPEAKER_METHODS.map((method) => ({ value: method, label: SPEAKER_METHOD_LABELS[method] })),
];

export function NewRunPage() {
  const navigate = useNavigate();
  const [searchParams] = useSearchParams();
  const presetTeam = searchParams.get('team') ?? '';
  const models = useModels();
  const createRun = useCreateRun();

  const [values, setValues] = useState<NewRunValues>(() => ({
    task: '',
    model: '',
    otherModel: '',
    teamSource: presetTeam ? 'saved' : 'build',
    teamId: presetTeam,
    maxAgents: '4',
    coding: true,
    speakerSelection: '',
    maxRound: '',
    budgetUsd: '',
    buildOnly: false,
  }));
  const [errors, setErrors] = useState<FieldErrors<NewRunValues>>({});
  const teams = useSavedTeams(values.teamSource === 'saved');

  const catalog = models.data;
  // The model select shows the default until the user picks one.
  const model = values.model || (catalog ? catalog.default_model : '');
  const noProvider = catalog !== undefined && !catalog.provider_configured;

  function set<K extends keyof NewRunValues>(key: K, value: NewRunValues[K]) {
    setValues((current) => ({ ...current, [key]: value }));
    setErrors((current) => ({ ...current, [key]: undefined }));
  }

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const result = validate(newRunSchema, { ...values, model });
    if (result.errors) {
      setErrors(result.errors);
      const first = Object.keys(result.errors)[0];
      if (first) document.getElementById(`new-run-${first}`)?.focus();
      return;
    }
    setErrors({});
    try {
      const run = await createRun.mutateAsync(toCreateRunBody(result.data));
      await navigate(`/runs/${run.id}`);
    } catch (error) {
      setErrors(serverFieldErrors(error));
    }
  }

  const groups = modelOptions(catalog);
  const knownModel = !catalog || catalog.models.some((m) => m.id === model) || model === OTHER_MODEL;
  const showServerError = createRun.error && Object.keys(serverFieldErrors(createRun.error)).length === 0;

  return (
    <>
      <PageHeader title="New run" description="Describe a task; Cadre builds a team of agents and runs it." />
      {noProvider && (
        <div className="runs-banner" role="note" aria-label="No LLM provider">
          <p>
            <strong>No LLM provider is configured.</strong> The offline demo model runs a scripted team so you can see a
            whole run: it builds experts, writes Python, executes it in the sandbox and reports. To use real models, add a
            key in <Link to="/settings">Settings</Link>.
          </p>
        </div>
      )}
      <form className="new-run" noValidate onSubmit={(event) => void onSubmit(event)} aria-label="New run">
        <Card>
          <TextArea
            id="new-run-task"
            name="task"
            label="Task"
            required
            rows={5}
            placeholder="e.g. Compare the first 20 Fibonacci numbers with the first 20 primes and plot both"
            value={values.task}
            error={errors.task}
            onChange={(e) => set('task', e.target.value)}
          />
          <div className="new-run__row">
            {models.isPending ? (
              <Spinner label="Loading models…" showLabel />
            ) : (
              <Select
                id="new-run-model"
                name="model"
                label="Model"
                value={knownModel ? model : OTHER_MODEL}
                error={errors.model}
                hint={catalog?.provider_error ? `Provider models unavailable: ${catalog.provider_error}` : undefined}
                onChange={(e) => set('model', e.target.value)}
              >
                {groups.map((group) => (
                  <optgroup key={group.source} label={group.label}>
                    {group.models.map((option) => (
                      <option key={option.id} value={option.id}>
                        {option.label}
                      </option>
                    ))}
                  </optgroup>
                ))}
                {!catalog && model === '' && <option value="">—</option>}
                <option value={OTHER_MODEL}>Other model…</option>
              </Select>
            )}
            {(model === OTHER_MODEL || !knownModel) && (
              <TextField
                id="new-run-otherModel"
                name="otherModel"
                label="Model id"
                placeholder="provider/model-name"
                value={values.otherModel}
                error={errors.otherModel}
                onChange={(e) => set('otherModel', e.target.value)}
              />
            )}
          </div>
          {models.error && <ErrorMessage error={models.error} title="Could not load the models" onRetry={() => void models.refetch()} />}
        </Card>

        <Card title="Team">
          <fieldset className="new-run__fieldset">
            <legend className="field__label">Team source</legend>
            <label className="new-run__radio">
              <input
                type="radio"
                name="teamSource"
                value="build"
                checked={values.teamSource === 'build'}
                onChange={() => set('teamSource', 'build')}
              />
              Build a team for this task
            </label>
            <label className="new-run__radio">
              <input
                type="radio"
                name="teamSource"
                value="saved"
                checked={values.teamSource === 'saved'}
                onChange={() => set('teamSource', 'saved')}
              />
              Use a saved team
            </label>
          </fieldset>
          {values.teamSource === 'build' ? (
            <div className="new-run__row">
              <TextField
                id="new-run-maxAgents"
                name="maxAgents"
                label="Max agents"
                type="number"
                inputMode="numeric"
                min={1}
                max={16}
                hint="1 to 16 experts."
                value={values.maxAgents}
                error={errors.maxAgents}
                onChange={(e) => set('maxAgents', e.target.value)}
              />
              <Checkbox
                id="new-run-coding"
                name="coding"
                label="Agents write and run code"
                hint="Adds a code-executing agent (sandboxed)."
                checked={values.coding}
                onChange={(e) => set('coding', e.target.checked)}
              />
            </div>
          ) : teams.isPending ? (
            <Spinner label="Loading saved teams…" showLabel />
          ) : teams.error ? (
            <ErrorMessage error={teams.error} title="Could not load your teams" onRetry={() => void teams.refetch()} />
          ) : (
            <Select
              id="new-run-teamId"
              name="teamId"
              label="Saved team"
              value={values.teamId}
              error={errors.teamId}
              hint={teams.data.teams.length === 0 ? <>You have no saved teams yet. Build one first, or import one on the <Link to="/teams">Teams</Link> page.</> : undefined}
              onChange={(e) => set('teamId', e.target.value)}
            >
              <option value="">Choose a team…</option>
              {teams.data.teams.map((team) => (
                <option key={team.id} value={team.id}>
                  {team.name || team.id}
                </option>
              ))}
              {values.teamId && !teams.data.teams.some((team) => team.id === values.teamId) && (
                <option value={values.teamId}>Team {values.teamId}</option>
              )}
            </Select>
          )}
        </Card>

        <Card title="Run settings">
          <div className="new-run__row">
            <Select
              id="new-run-speakerSelection"
              name="speakerSelection"
              label="Speaker selection"
              value={values.speakerSelection}
              error={errors.speakerSelection}
              onChange={(e) => set('speakerSelection', e.target.value as NewRunValues['speakerSelection'])}
              options={SPEAKER_OPTIONS}
            />
            <TextField
              id="new-run-maxRound"
              name="maxRound"
              label="Max rounds"
              type="number"
              inputMode="numeric"
              min={1}
              max={1000}
              placeholder="Team default"
              value={values.maxRound}
              error={errors.maxRound}
              onChange={(e) => set('maxRound', e.target.value)}
            />
            <TextField
              id="new-run-budgetUsd"
              name="budgetUsd"
              label="Budget (USD)"
              type="number"
              inputMode="decimal"
              min={0}
              step="0.01"
              placeholder="No limit"
              value={values.budgetUsd}
              error={errors.budgetUsd}
              onChange={(e) => set('budgetUsd', e.target.value)}
            />
          </div>
          <Checkbox
            id="new-run-buildOnly"
            name="buildOnly"
            label="Build only (review the team before running)"
            checked={values.buildOnly}
            onChange={(e) => set('buildOnly', e.target.checked)}
          />
        </Card>

        {showServerError && <ErrorMessage error={createRun.error} title="Could not start the run" />}
        <div className="new-run__actions">
          <Button type="submit" variant="primary" loading={createRun.isPending}>
            {values.buildOnly ? 'Build team' : 'Start run'}
          </Button>
        </div>
      </form>
    </>
  );
}
