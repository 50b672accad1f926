// The live stream's state, always visible: "Live", "Reconnecting in 3 s (attempt 2)",
// "Offline", "Connecting…", or nothing once the run is over and the stream closed.
import { useEffect, useState } from 'react';
import { cx } from '@/lib/cx';
import type { StreamStatus } from '../stream/run-stream';

export function connectionLabel(status: StreamStatus, now: number): string {
  switch (status.state) {
    case 'connecting':
      return 'Connecting…';
    case 'live':
      return status.transport === 'sse' ? 'Live (SSE)' : 'Live';
    case 'reconnecting':
    case 'offline': {
      const prefix = status.state === 'offline' ? 'Offline — retrying' : 'Reconnecting';
      if (status.nextRetryAt === null) return `${prefix}…`;
      const seconds = Math.max(0, Math.ceil((status.nextRetryAt - now) / 1000));
      return seconds > 0 ? `${prefix} in ${seconds} s (attempt ${status.attempt})` : `${prefix} now (attempt ${status.attempt})`;
    }
    case 'closed':
      return status.error ? `Disconnected: ${status.error}` : 'Stream ended';
  }
}

/** The label, re-rendered twice a second while a retry countdown runs. */
function Label({ status }: { status: StreamStatus }) {
  const [now, setNow] = useState(() => Date.now());
  const waiting = status.state === 'reconnecting' || status.state === 'offline';
  useEffect(() => {
    if (!waiting) return undefined;
    const timer = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(timer);
  }, [waiting]);
  return <>{connectionLabel(status, now)}</>;
}

export function ConnectionIndicator({ status }: { status: StreamStatus }) {
  return (
    <p role="status" className={cx('connection', `connection--${status.state}`)} data-state={status.state}>
      <span className="connection__dot" aria-hidden="true" />
      {/* A fresh clock per retry, so the countdown starts from the right time. */}
      <Label key={`${status.state}-${status.nextRetryAt ?? ''}`} status={status} />
    </p>
  );
}
