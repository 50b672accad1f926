// The live transcript: one article per message (Markdown, highlighted code, the code's
// execution result beneath, and with `forkable` the fork actions: fork from here, edit &
// rerun), the agents' tool calls (arguments, result, status), speaker choices, human
// input, logs and errors, in seq order.
// It sticks to the bottom while the reader is at the bottom; when they scroll up a
// "Jump to latest" button appears instead. The region is a polite live log; a message
// still streaming is aria-busy, so screen readers announce it once, complete.
import { useCallback, useId, useLayoutEffect, useRef, useState } from 'react';
import { Badge, Button, EmptyState, type BadgeTone } from '@/components/ui';
import { cx } from '@/lib/cx';
import { formatDuration, formatTokens } from '@/lib/format';
import type { CodeBlockView, MessageItem, ToolCallItem, TranscriptItem } from '../stores/run-view';
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

/** A tool result longer than this (characters or lines) is folded. */
const LONG_RESULT_CHARS = 600;
const LONG_RESULT_LINES = 12;

/** A tool call's arguments as shown: pretty JSON, or the model's text when it was not JSON. */
function formatArguments(value: unknown): { text: string; raw: boolean; empty: boolean } {
  if (typeof value === 'string') return { text: value, raw: true, empty: value.trim() === '' };
  const empty = value === null || value === undefined || (typeof value === 'object' && Object.keys(value).length === 0);
  return { text: JSON.stringify(value ?? {}, null, 2), raw: false, empty };
}

function toolStatus(item: ToolCallItem): { tone: BadgeTone; label: string; modifier: string } {
  const { result } = item;
  if (!result) return item.interrupted ? { tone: 'neutral', label: 'no result', modifier: 'interrupted' } : { tone: 'info', label: 'running…', modifier: 'pending' };
  if (result.refused) return { tone: 'warning', label: 'refused', modifier: 'refused' };
  if (result.isError) return { tone: 'danger', label: 'failed', modifier: 'failed' };
  return { tone: 'success', label: `answered in ${formatDuration(result.durationMs)}`, modifier: 'ok' };
}

/** One tool call: who called what, with which arguments, and what came back. */
export function ToolCallCard({ item }: { item: ToolCallItem }) {
  const headingId = useId();
  const status = toolStatus(item);
  const args = formatArguments(item.arguments);
  const { result } = item;
  const resultLabel = !result ? '' : result.refused ? 'Reason' : result.isError ? 'Error' : 'Result';
  const long = result !== null && (result.content.length > LONG_RESULT_CHARS || result.content.split('\n').length > LONG_RESULT_LINES);
  return (
    <article
      className={cx('tool-call', `tool-call--${status.modifier}`)}
      aria-labelledby={headingId}
      aria-busy={status.modifier === 'pending' || undefined}
      data-call-id={item.callId}
      data-seq={item.seq}
    >
      <header className="tool-call__header">
        <h3 id={headingId} className="tool-call__title">
          <span className="tool-call__agent">{item.agent}</span> called <code className="tool-call__tool">{item.tool}</code>
        </h3>
        <Badge tone={status.tone} className="tool-call__status">
          {status.modifier === 'pending' && <span className="spinner spinner--inline" aria-hidden="true" />}
          {status.label}
        </Badge>
      </header>
      {args.empty ? (
        <p className="tool-call__note muted">No arguments.</p>
      ) : (
        <details className="tool-call__details">
          <summary>{args.raw ? 'Arguments (not valid JSON)' : 'Arguments'}</summary>
          <pre className="tool-call__pre">{args.text}</pre>
        </details>
      )}
      {result &&
        (result.content === '' ? (
          <p className="tool-call__note muted">Empty result.</p>
        ) : long ? (
          <details className="tool-call__details">
            <summary>
              {resultLabel} ({result.content.split('\n').length} lines, {result.content.length} characters)
            </summary>
            <pre className={cx('tool-call__pre', 'tool-call__result', result.isError && 'tool-call__result--error')}>{result.content}</pre>
          </details>
        ) : (
          <>
            <div className="tool-call__label">{resultLabel}</div>
            <pre className={cx('tool-call__pre', 'tool-call__result', result.isError && 'tool-call__result--error')}>{result.content}</pre>
          </>
        ))}
    </article>
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
    case 'tool_call':
      return <ToolCallCard item={item} />;
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
