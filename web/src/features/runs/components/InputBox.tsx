// Shown while the run waits for a human: the run's prompt (e.g. the speaker menu) and a
// box to answer it (POST /api/v1/runs/{id}/input).
import { useState, type FormEvent } from 'react';
import { Button, Card, ErrorMessage, TextArea } from '@/components/ui';
import { useSendRunInput } from '../api/send-run-input';

export function InputBox({ runId, prompt }: { runId: string; prompt: string }) {
  const [content, setContent] = useState('');
  const [error, setError] = useState<string | undefined>();
  const send = useSendRunInput(runId);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (!content.trim()) {
      setError('Type an answer.');
      return;
    }
    try {
      await send.mutateAsync(content);
      setContent('');
    } catch {
      // shown below
    }
  }

  return (
    <Card title="The run needs your input" className="input-box">
      <form onSubmit={(event) => void onSubmit(event)} aria-label="Answer the run">
        {prompt && <pre className="input-box__prompt">{prompt}</pre>}
        <TextArea
          label="Your answer"
          rows={3}
          value={content}
          error={error}
          onChange={(e) => {
            setContent(e.target.value);
            setError(undefined);
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
              e.preventDefault();
              e.currentTarget.form?.requestSubmit();
            }
          }}
        />
        <ErrorMessage error={send.error} title="Could not send the answer" />
        <Button type="submit" variant="primary" loading={send.isPending}>
          Send
        </Button>
      </form>
    </Card>
  );
}
