// Follows one run live: a run-view store fed by a RunStream (WebSocket, SSE fallback),
// replaying from seq 0 so the page shows the whole run. Stops when the page unmounts.
import { useEffect, useState } from 'react';
import { useStore } from 'zustand';
import { accessToken, accessTokenExpiry, refreshAccessToken } from '@/lib/api/client';
import { createRunViewStore, type RunViewStore } from '../stores/run-view';
import { RunStream, type StreamStatus } from '../stream/run-stream';

export interface RunStreamOptionsForHook {
  /** Do not connect (e.g. the run failed to load). */
  enabled?: boolean;
}

const INITIAL_STATUS: StreamStatus = { state: 'connecting', attempt: 0, nextRetryAt: null, transport: 'ws', lastSeq: 0, error: null };

export function useRunStream(runId: string, { enabled = true }: RunStreamOptionsForHook = {}) {
  const [store] = useState(createRunViewStore);
  const [connection, setConnection] = useState<StreamStatus>(INITIAL_STATUS);
  const view = useStore(store);

  useEffect(() => {
    if (!enabled) return undefined;
    store.getState().reset();
    const stream = new RunStream({
      runId,
      onEvent: (event) => store.getState().apply(event),
      onStatus: setConnection,
      getToken: accessToken,
      getTokenExpiry: accessTokenExpiry,
      refreshToken: refreshAccessToken,
    });
    stream.start();
    return () => stream.stop();
  }, [runId, enabled, store]);

  return { view, connection, store };
}

export type RunViewSnapshot = RunViewStore;
