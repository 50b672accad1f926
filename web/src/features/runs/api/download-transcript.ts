// GET /api/v1/runs/{id}/transcript?format=md|json, saved as a file: fetched with the
// bearer token (a plain link could not send it), then handed to the browser as a Blob.
import { useMutation } from '@tanstack/react-query';
import { api } from '@/lib/api/client';
import { apiErrorFromBody, toApiError } from '@/lib/api/errors';

export type TranscriptFormat = 'md' | 'json';

export async function fetchTranscript(runId: string, format: TranscriptFormat): Promise<Blob> {
  let result;
  try {
    result = await api.GET('/api/v1/runs/{id}/transcript', {
      params: { path: { id: runId }, query: { format } },
      parseAs: 'blob',
    });
  } catch (error) {
    throw toApiError(error);
  }
  // openapi-fetch parses error bodies as JSON whatever `parseAs` says.
  if (!result.response.ok) throw apiErrorFromBody(result.response.status, result.error);
  return result.data as Blob;
}

/** Saves `blob` as `filename` through a temporary object URL and <a download>. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.rel = 'noopener';
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export async function downloadTranscript(runId: string, format: TranscriptFormat): Promise<void> {
  const blob = await fetchTranscript(runId, format);
  saveBlob(blob, `run-${runId}.${format}`);
}

export function useDownloadTranscript(runId: string) {
  return useMutation({ mutationFn: (format: TranscriptFormat) => downloadTranscript(runId, format) });
}
