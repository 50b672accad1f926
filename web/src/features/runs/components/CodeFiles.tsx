// The files a code block wrote, under its result: name, size and a download button for
// each kept file, the reason for the others, and raster images shown inline. The bytes
// need the user's bearer token, so they are fetched and shown through an object URL
// (revoked when the image goes away), never through a plain <img src> or link. On a fork,
// the files its copied history lists are its parent's (`originRunId`).
import { useEffect, useState } from 'react';
import { Button, ErrorMessage } from '@/components/ui';
import type { ArtifactFile, ArtifactSkip } from '@/lib/api/types';
import { formatBytes } from '@/lib/format';
import { fetchRunFile, fileName, useDownloadRunFile } from '../api/get-run-file';

/** Media types shown inline: raster images only (SVG can carry script). */
const INLINE_IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

const SKIP_REASONS = {
  too_large: 'too large to keep',
  run_quota_exceeded: "over the run's storage limit",
  unreadable: 'could not be read',
  not_kept: 'not kept',
  storage_failed: 'could not be saved',
} as const satisfies Record<ArtifactSkip, string>;

export function isInlineImage(file: ArtifactFile): boolean {
  return file.stored && INLINE_IMAGE_TYPES.has(file.content_type);
}

type ObjectUrl = { url: string | null; error: unknown };

/** An object URL of a run file's bytes while the caller is mounted; revoked after. */
function useRunFileUrl(runId: string, path: string, originRunId: string | null): ObjectUrl {
  const [state, setState] = useState<ObjectUrl>({ url: null, error: null });
  useEffect(() => {
    const abort = new AbortController();
    let url: string | null = null;
    fetchRunFile(runId, path, abort.signal, originRunId).then(
      (blob) => {
        if (abort.signal.aborted) return;
        url = URL.createObjectURL(blob);
        setState({ url, error: null });
      },
      (error: unknown) => {
        if (!abort.signal.aborted) setState({ url: null, error });
      },
    );
    return () => {
      abort.abort();
      if (url) URL.revokeObjectURL(url);
    };
  }, [runId, path, originRunId]);
  return state;
}

function InlineImage({ runId, originRunId, file }: { runId: string; originRunId: string | null; file: ArtifactFile }) {
  const { url, error } = useRunFileUrl(runId, file.path, originRunId);
  if (error) return <ErrorMessage error={error} title={`Could not load ${fileName(file.path)}`} />;
  if (!url) return <span className="code-files__loading muted">Loading {fileName(file.path)}…</span>;
  return <img className="code-files__image" src={url} alt={file.path} />;
}

export interface CodeFilesProps {
  /** The run the files belong to (needed to fetch them). */
  runId: string;
  /** For a fork: the run it was forked from, which keeps the files of the copied history. */
  originRunId?: string | null | undefined;
  files: readonly ArtifactFile[];
}

export function CodeFiles({ runId, originRunId = null, files }: CodeFilesProps) {
  const download = useDownloadRunFile(runId, originRunId);
  if (files.length === 0) return null;
  return (
    <div className="code-files">
      <div className="code-result__label">files written</div>
      <ul className="code-files__list" aria-label="Files written">
        {files.map((file) => (
          <li key={file.path} className="code-files__item">
            <div className="code-files__row">
              <code className="code-files__path">{file.path}</code>
              <span className="muted">{formatBytes(file.size_bytes)}</span>
              {file.stored ? (
                <Button
                  size="sm"
                  variant="ghost"
                  aria-label={`Download ${file.path}`}
                  onClick={() => download.mutate(file.path)}
                  loading={download.isPending && download.variables === file.path}
                >
                  Download
                </Button>
              ) : (
                <span className="muted">({SKIP_REASONS[file.skipped ?? 'not_kept']})</span>
              )}
            </div>
            {isInlineImage(file) && <InlineImage runId={runId} originRunId={originRunId} file={file} />}
          </li>
        ))}
      </ul>
      <ErrorMessage error={download.error} title="Could not download the file" />
    </div>
  );
}
