// Shown while the run waits for a human: the run's prompt, a button per offered answer
// (manual speaker selection: one per candidate), and a box for any answer
// (POST /api/v1/runs/{id}/input). When the user speaks as a human-driven agent, it says
// how long the team waits and what the agent says without an answer.
import { useEffect, useState, type FormEvent } from 'react';
import { Button, Card, ErrorMessage, TextArea } from '@/components/ui';
import { useSendRunInput } from '../api/send-run-input';
import type { InputRequestItem } from '../stores/run-view';

/** Whole seconds until `deadline`, ticking once a second; `undefined` without one. */
function useSecondsLeft(deadline: number | undefined): number | undefined {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (deadline === undefined) return;
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, [deadline]);
  return deadline === undefined ? undefined : Math.max(0, Math.ceil((deadline - now) / 1000));
}

export function InputBox({ runId, request }: { runId: string; request: InputRequestItem }) {
  const [content, setContent] = useState('');
  const [error, setError] = useState<string | undefined>();
  const send = useSendRunInput(runId);
  const secondsLeft = useSecondsLeft(request.deadline);

  async function answer(text: string) {
    try {
      await send.mutateAsync(text);
      setContent('');
    } catch {
      // shown below
    }
  }

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (!content.trim()) {
      setError('Type an answer.');
      return;
    }
    await answer(content);
  }

  const title = request.agent ? `Your turn as ${request.agent}` : 'The run needs your input';
  return (
    <Card title={title} className="input-box">
      <form onSubmit={(event) => void onSubmit(event)} aria-label="Answer the run">
        {request.prompt && <pre className="input-box__prompt">{request.prompt}</pre>}
        {secondsLeft !== undefined && (
          <p className="input-box__deadline" role="timer" aria-live="off">
            {secondsLeft > 0
              ? `The team waits ${secondsLeft} s more`
              : 'The time to answer is up'}
            {request.defaultReply ? `; then ${request.agent ?? 'the run'} says: “${request.defaultReply}”` : ''}
          </p>
        )}
        {request.options.length > 0 && (
          <div className="input-box__options" role="group" aria-label="Choose an answer">
            {request.options.map((option) => (
              <Button
                key={option}
                type="button"
                disabled={send.isPending}
                onClick={() => void answer(option)}
              >
                {option}
              </Button>
            ))}
          </div>
        )}
        <TextArea
          label={request.options.length > 0 ? 'Or type an answer' : 'Your answer'}
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
