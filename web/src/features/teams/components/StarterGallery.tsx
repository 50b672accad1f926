// The starter gallery on /teams: the teams Cadre ships (GET /api/v1/teams/gallery), one
// card each (label, what it is for, its agents), and "Save to my teams" (POST
// /api/v1/teams with its spec), after which it is in the saved list like any other.
import { useId } from 'react';
import { Link } from 'react-router';
import { Badge, Button, ErrorMessage, Spinner } from '@/components/ui';
import type { StarterTeam } from '@/lib/api/types';
import { DEFAULT_SPEAKER_METHOD, SPEAKER_METHOD_LABELS } from '@/lib/speaker-selection';
import { useCreateTeam } from '../api/create-team';
import { useStarterGallery } from '../api/get-gallery';

function StarterCard({ starter }: { starter: StarterTeam }) {
  const save = useCreateTeam();
  const headingId = useId();
  const { spec } = starter;
  const executor = spec.code_execution?.enabled ? (spec.code_execution.executor_name ?? 'Computer_terminal') : null;
  return (
    <li className="starter-card" aria-labelledby={headingId}>
      <h3 id={headingId} className="starter-card__title">
        {starter.label}
      </h3>
      <p className="starter-card__description">{starter.description}</p>
      <p className="starter-card__agents">
        <span className="muted">Agents: </span>
        {spec.agents.map((agent) => agent.name).join(', ')}
      </p>
      <p className="starter-card__badges">
        <Badge>{SPEAKER_METHOD_LABELS[spec.speaker_selection?.method ?? DEFAULT_SPEAKER_METHOD]}</Badge>
        {executor && <Badge tone="info">Runs code</Badge>}
      </p>
      <div className="starter-card__actions">
        <Button size="sm" onClick={() => save.mutate(spec)} loading={save.isPending} aria-describedby={headingId}>
          Save to my teams
        </Button>
        {save.data && (
          <p role="status" className="starter-card__saved">
            Saved. <Link to={`/teams/${save.data.id}`}>Open “{save.data.name || starter.label}”</Link>
          </p>
        )}
      </div>
      <ErrorMessage error={save.error} title="Could not save the team" />
    </li>
  );
}

export function StarterGallery() {
  const gallery = useStarterGallery();
  return (
    <section aria-labelledby="starter-gallery-heading" className="starter-gallery">
      <h2 id="starter-gallery-heading" className="section-title">
        Starter gallery
      </h2>
      <p className="muted">Ready-made teams: save one to your teams, then run it as it is or edit it first.</p>
      {gallery.isPending ? (
        <Spinner label="Loading the starter teams…" />
      ) : !gallery.data ? (
        <ErrorMessage error={gallery.error} title="Could not load the starter teams" onRetry={() => void gallery.refetch()} />
      ) : gallery.data.teams.length === 0 ? (
        <p className="muted">No starter teams on this server.</p>
      ) : (
        <ul className="starter-gallery__list" aria-label="Starter teams">
          {gallery.data.teams.map((starter) => (
            <StarterCard key={starter.id} starter={starter} />
          ))}
        </ul>
      )}
    </section>
  );
}
