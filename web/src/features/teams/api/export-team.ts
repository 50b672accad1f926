// GET /api/v1/teams/{id}/export: the team as an AutoGen AgentBuilder save file, fetched
// with the session's bearer token (a plain link could not send it) and handed to the
// browser as a download.
import { useMutation } from '@tanstack/react-query';
import { api, unwrap } from '@/lib/api/client';

/** The file name the server suggests (`Content-Disposition`), else `team-<id>.json`. */
export function downloadName(disposition: string | null, id: string): string {
  const match = disposition && /filename="?([^";]+)"?/i.exec(disposition);
  return match?.[1] ?? `team-${id}.json`;
}

export async function exportTeam(id: string): Promise<{ blob: Blob; filename: string }> {
  const call = api.GET('/api/v1/teams/{id}/export', { params: { path: { id } }, parseAs: 'blob' });
  const blob = await unwrap(call);
  const { response } = await call;
  return { blob, filename: downloadName(response.headers.get('Content-Disposition'), id) };
}

/** Saves a Blob through a temporary <a download>. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // Let the browser start the download before the URL goes.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Exports a team and downloads it. */
export function useExportTeam() {
  return useMutation({
    mutationFn: exportTeam,
    onSuccess: ({ blob, filename }) => saveBlob(blob, filename),
  });
}
