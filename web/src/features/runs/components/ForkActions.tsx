// The fork actions under a transcript message: "Fork from here" starts a new run that
// keeps the conversation up to and including this message and continues from it; "Edit &
// rerun" opens an inline editor prefilled with the message and forks with the new text
// (on the task message: the same team on a new task). Either way the page then moves to
// the new run. The server's refusals (422, 429) show inline; a 422 on `edit` marks the box.
import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { Button, ErrorMessage, TextArea } from '@/components/ui';
import { toApiError } from '@/lib/api/errors';
import { useForkRun } from '../api/fork-run';

export interface ForkActionsProps {
  runId: string;
  /** The seq of the message's event: the fork point. */
  seq: number;
  agent: string;
  /** The message's text (the editor starts from it). */
  content: string;
}

/** Rows for the editor: the text's lines, within reason. */
function rowsFor(text: string): number {
  return Math.min(14, Math.max(3, text.split('\n').length + 1));
}

export function ForkActions({ runId, seq, agent, content }: ForkActionsProps) {
  const fork = useForkRun(runId);
  const navigate = useNavigate();
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(content);
  const [localError, setLocalError] = useState<string | undefined>();
  const editorId = useId();
  const forkButton = useRef<HTMLButtonElement>(null);
  const editButton = useRef<HTMLButtonElement>(null);
  const textArea = useRef<HTMLTextAreaElement>(null);
  /** Set when the editor closes: focus goes back to the button that opened it. */
  const returnFocus = useRef(false);

  useEffect(() => {
    if (editing) {
      const box = textArea.current;
      box?.focus();
      box?.setSelectionRange(box.value.length, box.value.length);
    } else if (returnFocus.current) {
      returnFocus.current = false;
      editButton.current?.focus();
    }
  }, [editing]);

  // A refusal: focus goes back where the user was (the busy button was disabled, which
  // dropped focus), next to the error: the box of the editor, or "Fork from here". After
  // the render that enables the button again, hence an effect.
  const failed = fork.isError;
  useEffect(() => {
    if (failed) (editing ? textArea : forkButton).current?.focus();
  }, [failed, editing]);

  /** Forks; on success opens the new run (a failure shows below). */
  async function start(edit: string | null) {
    try {
      const run = await fork.mutateAsync({ after_seq: seq, edit });
      await navigate(`/runs/${run.id}`);
    } catch {
      // shown below
    }
  }

  function open() {
    fork.reset();
    setDraft(content);
    setLocalError(undefined);
    setEditing(true);
  }

  function close() {
    fork.reset();
    returnFocus.current = true;
    setEditing(false);
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (fork.isPending) return;
    if (!draft.trim()) {
      setLocalError('Type the new message.');
      textArea.current?.focus();
      return;
    }
    // Unchanged text is a plain fork: the new run is not marked as edited.
    void start(draft === content ? null : draft);
  }

  const error = fork.error ? toApiError(fork.error) : null;
  const editError = localError ?? error?.fieldErrors.edit;
  const forking = fork.isPending && !editing;

  return (
    <div className="message-fork">
      <div className="message-fork__actions">
        <Button ref={forkButton} size="sm" variant="ghost" onClick={() => void start(null)} loading={forking} disabled={fork.isPending}>
          Fork from here
        </Button>
        <Button
          ref={editButton}
          size="sm"
          variant="ghost"
          aria-expanded={editing}
          aria-controls={editing ? editorId : undefined}
          onClick={editing ? close : open}
          disabled={fork.isPending}
        >
          Edit &amp; rerun
        </Button>
      </div>
      {editing ? (
        <form id={editorId} className="message-editor" aria-label={`Edit ${agent}’s message`} onSubmit={onSubmit} noValidate>
          <TextArea
            ref={textArea}
            label="New message"
            hint="A new run keeps the conversation before this message, then continues from your text."
            rows={rowsFor(draft)}
            value={draft}
            error={editError}
            onChange={(event) => {
              setDraft(event.target.value);
              setLocalError(undefined);
            }}
            onKeyDown={(event) => {
              if (event.key === 'Escape' && !fork.isPending) {
                event.preventDefault();
                close();
              } else if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
                event.preventDefault();
                event.currentTarget.form?.requestSubmit();
              }
            }}
          />
          {error && !error.fieldErrors.edit && <ErrorMessage error={error} title="Could not start the new run" />}
          <div className="message-editor__actions">
            <Button type="submit" size="sm" variant="primary" loading={fork.isPending}>
              Rerun from here
            </Button>
            <Button size="sm" onClick={close} disabled={fork.isPending}>
              Cancel
            </Button>
          </div>
        </form>
      ) : (
        <ErrorMessage error={error} title="Could not fork the run" />
      )}
    </div>
  );
}
