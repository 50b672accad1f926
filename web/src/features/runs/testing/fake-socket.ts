// A fake browser WebSocket for component tests: install it as the global, then push
// events into the latest socket.
import { act } from '@testing-library/react';
import { expect, vi } from 'vitest';
import type { RunEvent } from '../types';

export class FakeWebSocket {
  static sockets: FakeWebSocket[] = [];
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  closed = false;
  constructor(readonly url: string) {
    FakeWebSocket.sockets.push(this);
  }
  close() {
    this.closed = true;
  }
}

export function installFakeWebSocket() {
  FakeWebSocket.sockets = [];
  vi.stubGlobal('WebSocket', FakeWebSocket);
  vi.stubGlobal('EventSource', undefined);
}

/** The latest socket, once the page opened it. */
export async function openedSocket(): Promise<FakeWebSocket> {
  await vi.waitFor(() => expect(FakeWebSocket.sockets.length).toBeGreaterThan(0));
  const socket = FakeWebSocket.sockets[FakeWebSocket.sockets.length - 1]!;
  act(() => socket.onopen?.({}));
  return socket;
}

/** Sends events through the socket and lets the page render them. */
export async function push(socket: FakeWebSocket, ...events: RunEvent[]) {
  await act(async () => {
    for (const event of events) socket.onmessage?.({ data: JSON.stringify(event) });
    for (let i = 0; i < 20; i += 1) await Promise.resolve();
  });
}
