// The live transcript: one article per message (Markdown, highlighted code, the code's
// execution result beneath, and with `forkable` the fork actions: fork from here, edit &
// rerun), speaker choices, human input, logs and errors, in seq order.
// It sticks to the bottom while the reader is at the bottom; when they scroll up a
// "Jump to latest" button appears instead. The region is a polite live log; a message
// still streaming is aria-busy, so screen readers announce it once, complete.
import { useCallback, useLayoutEffect, useRef, useState } from 'react';
import { Badge, Button, EmptyState } from '@/components/ui';
import { cx } from '@/lib/cx';
import { formatDuration, formatTokens } from '@/lib/format';
import type { CodeBlockView, MessageItem, TranscriptItem } from '../stores/run-view';
import { CodeFiles } from './CodeFiles';
import { ForkActions } from './ForkActions';
import { Markdown } from './Markdown';

/** Distance from the bottom (px) that still counts as "at the bottom". */
const STICK_THRESHOLD = 48;

/** A block's result; with `runId`, the files it wrote can be downloaded (and images seen). */
export function CodeResult({ block, runId, originRunId }: { block: CodeBlockView; runId?: string | undefined; originRunId?: string | null | undefined }) {
  const result = block.result;
  if (!result) {
    return (
      <div className="code-result code-result--pending" aria-label="Code result">
        <span className="spinner spinner--inline" aria-hidden="true" /> Running {block.language || 'code'}…
      </div>
    );
  }
  const ok = result.exitCode === 0 && !result.timedOut;
  return (
    <section className={cx('code-result', ok ? 'code-result--ok' : 'code-result--failed')} aria-label="Code result">
      <div className="code-result__header">
        <span className="code-result__title">Execution result</span>
        <Badge tone={ok ? 'success' : 'danger'}>exit code {result.exitCode}</Badge>
        {result.timedOut && <Badge tone="warning">timed out</Badge>}
        <span className="muted">{formatDuration(result.durationMs)}</span>
      </div>
      {result.stdout && (
        <>
          <div className="code-result__label">stdout</div>
          <pre className="code-result__stdout">{result.stdout}</pre>
        </>
      )}
      {result.stderr && (
        <>
          <div className="code-result__label">stderr</div>
          <pre className="code-result__stderr">{result.stderr}</pre>
        </>
      )}
      {!result.stdout && !result.stderr && <p className="muted">No output.</p>}
      {runId && <CodeFiles runId={runId} originRunId={originRunId} files={result.files} />}
    </section>
  );
}

interface ItemProps {
  runId?: string | undefined;
  /** For a fork: the run it was forked from (its files). */
  originRunId?: string | null | undefined;
  /** Offer the fork actions on final messages (needs `runId`). */
  forkable?: boolean | undefined;
}

function MessageArticle({ item, code, runId, originRunId, forkable }: ItemProps & { item: MessageItem; code: readonly CodeBlockView[] }) {
  return (
    <article
      className={cx('message', item.streaming && 'message--streaming')}
      aria-busy={item.streaming || undefined}
      aria-label={`${item.agent} says`}
      data-message-id={item.messageId}
      data-seq={item.seq ?? undefined}
    >
      <header className="message__header">
        <span className="message__agent">{item.agent}</span>
        {item.tokens > 0 && <span className="muted message__tokens">{formatTokens(item.tokens)} tokens</span>}
        {item.streaming && <span className="visually-hidden">(typing)</span>}
      </header>
      <div className="message__body">
        <Markdown>{item.content}</Markdown>
        {item.streaming && <span className="typing-cursor" aria-hidden="true" />}
      </div>
      {code.map((block) => (
        <CodeResult key={block.seq} block={block} runId={runId} originRunId={originRunId} />
      ))}
      {forkable && runId && item.seq !== null && <ForkActions runId={runId} seq={item.seq} agent={item.agent} content={item.content} />}
    </article>
  );
}

function Item({ item, code, ...rest }: ItemProps & { item: TranscriptItem; code: Record<string, CodeBlockView[]> }) {
  switch (item.kind) {
    case 'message':
      return <MessageArticle item={item} code={code[item.messageId] ?? []} {...rest} />;
    case 'speaker':
      return (
        <p className="transcript__speaker muted">
          <span aria-hidden="true">→ </span>
          <span className="visually-hidden">Next speaker: </span>
          <strong>{item.agent}</strong>
          {item.reason && ` (${item.reason})`}
        </p>
      );
    case 'input_request':
      return (
        <div className="transcript__input-request">
          <Badge tone="warning">Input requested</Badge>
          <pre>{item.prompt}</pre>
        </div>
      );
    case 'input':
      return (
        <article className="message message--human" aria-label="You answered">
          <header className="message__header">
            <span className="message__agent">You</span>
          </header>
          <p className="message__body">{item.content}</p>
        </article>
      );
    case 'log':
      return (
        <p className={cx('transcript__log', `transcript__log--${item.level}`)}>
          <Badge tone={item.level === 'warn' || item.level === 'warning' ? 'warning' : 'neutral'}>{item.level}</Badge> {item.message}
        </p>
      );
    case 'error':
      return (
        <div className="transcript__error" role="alert">
          <Badge tone="danger">{item.code}</Badge> {item.message}
          {item.retryable && <span className="muted"> (retryable)</span>}
        </div>
      );
  }
}

export interface TranscriptProps {
  items: readonly TranscriptItem[];
  code: Record<string, CodeBlockView[]>;
  /** Shown when there are no items yet. */
  emptyText?: string;
  /** The run, so that the files code wrote can be fetched (and messages forked). */
  runId?: string;
  /** For a fork: the run it was forked from, which keeps the files of the copied history. */
  originRunId?: string | null;
  /** Each final message offers "Fork from here" and "Edit & rerun" (needs `runId`). */
  forkable?: boolean;
}

export function Transcript({ items, code, emptyText = 'No messages yet.', runId, originRunId = null, forkable = false }: TranscriptProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const [showJump, setShowJump] = useState(false);

  const onScroll = useCallback(() => {
    const el = scroller.current;
    if (!el) return;
    const bottom = el.scrollHeight - el.scrollTop - el.clientHeight <= STICK_THRESHOLD;
    atBottom.current = bottom;
    setShowJump(!bottom);
  }, []);

  const jump = useCallback(() => {
    const el = scroller.current;
    if (!el) return;
    el.scrollTop = el.scrollHeight;
    atBottom.current = true;
    setShowJump(false);
  }, []);

  const follow = useCallback(() => {
    const el = scroller.current;
    if (el && atBottom.current) el.scrollTop = el.scrollHeight;
  }, []);

  // After every change (a new item, a delta, a code result): follow the bottom when the
  // reader is there.
  useLayoutEffect(follow, [items, code, follow]);

  return (
    <div className="transcript">
      <div
        ref={scroller}
        className="transcript__scroller"
        onScroll={onScroll}
        // An image a code block wrote loads after it is rendered and grows the transcript:
        // keep following the bottom then too (`load` does not bubble, hence capture).
        onLoadCapture={follow}
        tabIndex={0}
        aria-label="Transcript"
        role="region"
      >
        <div className="transcript__log-region" role="log" aria-live="polite" aria-relevant="additions">
          {items.length === 0 ? <EmptyState title={emptyText} /> : items.map((item) => <Item key={item.key} item={item} code={code} runId={runId} originRunId={originRunId} forkable={forkable} />)}
        </div>
      </div>
      {showJump && (
        <Button className="transcript__jump" size="sm" variant="primary" onClick={jump}>
          Jump to latest <span aria-hidden="true">↓</span>
        </Button>
      )}
    </div>
  );
}
