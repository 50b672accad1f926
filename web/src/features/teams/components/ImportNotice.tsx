// After an import, the team page says how the file was read: its format and the
// importer's notes (parts of the file kept but not used, behaviour that differs from the
// source framework). The import hands them over in the navigation's state, so the notice
// shows once, on the page the import opened; "Dismiss" drops it from the history entry.
import { useLocation, useNavigate } from 'react-router';
import { Button } from '@/components/ui';
import type { TeamFormat } from '@/lib/api/types';

/** How each format the import reads is named to the user. */
export const TEAM_FORMAT_LABELS: Record<TeamFormat, string> = {
  cadre: 'Cadre team JSON',
  autogen_builder: 'an AutoGen AgentBuilder file',
  agentchat: 'an AutoGen AgentChat / AutoGen Studio team',
  agentchat_gallery: 'an AutoGen Studio gallery (its first team)',
  autogen_studio_legacy: 'an AutoGen Studio 0.4 team',
};

export interface ImportResult {
  format: TeamFormat;
  notes: string[];
}

/** The navigation state the import passes to the team page. */
export interface ImportState {
  imported: ImportResult;
}

function isFormat(value: unknown): value is TeamFormat {
  return typeof value === 'string' && Object.hasOwn(TEAM_FORMAT_LABELS, value);
}

/** The import result in a location's state, if it carries one. */
export function importResultOf(state: unknown): ImportResult | null {
  const imported = (state as { imported?: unknown } | null)?.imported as { format?: unknown; notes?: unknown } | undefined;
  if (!imported || !isFormat(imported.format) || !Array.isArray(imported.notes)) return null;
  return { format: imported.format, notes: imported.notes.filter((note): note is string => typeof note === 'string') };
}

export function ImportNotice() {
  const location = useLocation();
  const navigate = useNavigate();
  const result = importResultOf(location.state);
  if (!result) return null;
  const { format, notes } = result;
  return (
    <div className="notice import-notice" role="status">
      <p className="import-notice__title">
        Imported from {TEAM_FORMAT_LABELS[format]}.
        {notes.length === 0 && ' Nothing to report.'}
      </p>
      {notes.length > 0 && (
        <>
          <p>{notes.length === 1 ? 'One thing to know:' : `${notes.length} things to know:`}</p>
          <ul className="import-notice__notes" aria-label="Import notes">
            {notes.map((note, index) => (
              <li key={index}>{note}</li>
            ))}
          </ul>
        </>
      )}
      <Button size="sm" variant="ghost" onClick={() => void navigate(location.pathname, { replace: true, state: null })}>
        Dismiss
      </Button>
    </div>
  );
}
