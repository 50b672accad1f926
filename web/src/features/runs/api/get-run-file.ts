// GET /api/v1/runs/{id}/files/{path}: one file a run's code wrote, as a Blob. Fetched with
// the bearer token (an <img src> or a plain link could not send it); images are shown
// through an object URL, other files saved with <a download>. A fork does not carry its
// parent's files over: the code results it copied list files that stay on the parent, so
// with `originRunId` (the run forked) a file the fork does not have is asked of the parent.
import { useMutation } from '@tanstack/react-query';
import { api } from '@/lib/api/client';
import { ApiError, apiErrorFromBody, toApiError } from '@/lib/api/errors';
import { saveBlob } from './download-transcript';

export async function fetchRunFile(runId: string, path: string, signal?: AbortSignal, originRunId?: string | null): Promise<Blob> {
  try {
    return await fetchOwnFile(runId, path, signal);
  } catch (error) {
    if (originRunId && error instanceof ApiError && error.status === 404) return fetchOwnFile(originRunId, path, signal);
    throw error;
  }
}

async function fetchOwnFile(runId: string, path: string, signal?: AbortSignal): Promise<Blob> {
  let result;
  try {
    // The client percent-encodes the path parameter (slashes too); the server decodes it.
    result = await api.GET('/api/v1/runs/{id}/files/{path}', {
      params: { path: { id: runId, path } },
      parseAs: 'blob',
      signal,
    });
  } catch (error) {
    throw toApiError(error);
  }
  // openapi-fetch parses error bodies as JSON whatever `parseAs` says.
  if (!result.response.ok) throw apiErrorFromBody(result.response.status, result.error);
  return result.data as Blob;
}

/** The file's name without its directories, for saving it. */
export function fileName(path: string): string {
  return path.split('/').pop() || path;
}

export async function downloadRunFile(runId: string, path: string, originRunId?: string | null): Promise<void> {
  const blob = await fetchRunFile(runId, path, undefined, originRunId);
  saveBlob(blob, fileName(path));
}

export function useDownloadRunFile(runId: string, originRunId?: string | null) {
  return useMutation({ mutationFn: (path: string) => downloadRunFile(runId, path, originRunId) });
}
