#!/usr/bin/env python3
"""The smoke test's API client (deploy/smoke.sh), Python standard library only.

Through the proxy: logs in as the admin (OAuth2 password grant), creates a demo run,
follows its SSE stream (`GET /api/v1/runs/{id}/events/stream`) and, whenever the
connection ends before the run's `finished` event (an api replica restarting ends its
open streams), reconnects with `Last-Event-ID` set to the last durable seq it saw, as a
browser's EventSource would. When the first `message` event arrives it creates the
trigger file, which tells smoke.sh to restart api replicas. At the end it replays the
run's events over the WebSocket (`GET /api/v1/runs/{id}/ws?after=0`) through the proxy.

Writes a JSON report (--out) that smoke.sh checks: the durable seqs in arrival order,
reconnects, the final status, code results, the WebSocket replay.
"""

import argparse
import base64
import http.client
import json
import os
import socket
import sys
import time
import urllib.parse

START = time.monotonic()


def log(message):
    print(f"   [client {time.monotonic() - START:6.1f}s] {message}", file=sys.stderr, flush=True)


def call(base, method, path, body=None, headers=None, timeout=15):
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def retrying(what, attempt, tries=20):
    """Calls attempt() until it returns a value; the proxy may answer 502 while replicas start."""
    last_error = None
    for _ in range(tries):
        try:
            return attempt()
        except Exception as error:  # noqa: BLE001 - reported below
            last_error = error
            time.sleep(1)
    raise SystemExit(f"{what} failed: {last_error}")


def login(base, email, password):
    def attempt():
        form = urllib.parse.urlencode(
            {"grant_type": "password", "username": email, "password": password}
        )
        status, body = call(
            base,
            "POST",
            "/api/v1/auth/token",
            form,
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        if status != 200:
            raise RuntimeError(f"POST /api/v1/auth/token answered {status}: {body[:300]!r}")
        return json.loads(body)["access_token"]

    return retrying("login", attempt)


def create_run(base, token, task):
    def attempt():
        status, body = call(
            base,
            "POST",
            "/api/v1/runs",
            json.dumps({"task": task, "model": "demo"}),
            {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        if status != 202:
            raise RuntimeError(f"POST /api/v1/runs answered {status}: {body[:300]!r}")
        return json.loads(body)["id"]

    return retrying("creating the run", attempt, tries=5)


class Stream:
    """One run's SSE stream, resumed across connections."""

    def __init__(self, base, token, run_id, trigger):
        self.base = urllib.parse.urlsplit(base)
        self.token = token
        self.run_id = run_id
        self.trigger = trigger
        self.last_seq = 0
        self.seqs = []  # every durable seq, in arrival order (duplicates would show here)
        self.connections = []  # per connection: resumed after, events, how it ended
        self.finished = None
        self.code_results = []
        self.statuses = []
        self.messages = 0
        self.deltas = 0

    def follow(self, deadline):
        while self.finished is None and time.monotonic() < deadline:
            self.connect_once(deadline)
            if self.finished is None:
                time.sleep(0.3)
        return self.finished is not None

    def connect_once(self, deadline):
        record = {"resume_after": self.last_seq, "events": 0, "ended": None}
        self.connections.append(record)
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "text/event-stream"}
        if self.last_seq:
            headers["Last-Event-ID"] = str(self.last_seq)
        conn = http.client.HTTPConnection(self.base.hostname, self.base.port or 80, timeout=40)
        try:
            conn.request("GET", f"/api/v1/runs/{self.run_id}/events/stream", headers=headers)
            response = conn.getresponse()
            if response.status != 200:
                record["ended"] = f"HTTP {response.status}"
                log(f"stream request answered {response.status}; retrying")
                time.sleep(0.7)
                return
            if len(self.connections) > 1:
                log(f"stream reconnected with Last-Event-ID: {self.last_seq}")
            data = []
            while time.monotonic() < deadline:
                line = response.readline()
                if not line:
                    record["ended"] = "closed by the server"
                    break
                line = line.decode("utf-8").rstrip("\r\n")
                if line.startswith("data:"):
                    data.append(line[5:].lstrip(" "))
                elif line == "" and data:
                    self.dispatch(json.loads("\n".join(data)), record)
                    data = []
                    if self.finished is not None:
                        record["ended"] = "finished"
                        return
        except (OSError, http.client.HTTPException) as error:
            record["ended"] = f"{type(error).__name__}: {error}"
        finally:
            conn.close()
        if self.finished is None:
            log(f"stream ended ({record['ended']}) after seq {self.last_seq}, run not finished")

    def dispatch(self, event, record):
        kind = event.get("type")
        if kind == "message_delta":
            self.deltas += 1
            return
        seq = event["seq"]
        self.seqs.append(seq)
        record["events"] += 1
        self.last_seq = max(self.last_seq, seq)
        data = event.get("data") or {}
        if kind == "status":
            self.statuses.append(data.get("status"))
            log(f"seq {seq}: status {data.get('status')}")
        elif kind == "message":
            self.messages += 1
            log(f"seq {seq}: message from {data.get('agent')}")
            if self.messages == 1 and self.trigger:
                with open(self.trigger, "w", encoding="utf-8") as f:
                    f.write(self.run_id)
        elif kind == "code_result":
            self.code_results.append(
                {k: data.get(k) for k in ("exit_code", "timed_out", "duration_ms", "stdout", "stderr")}
            )
            log(f"seq {seq}: code_result exit_code={data.get('exit_code')}")
        elif kind == "finished":
            self.finished = data
            log(f"seq {seq}: finished, status {data.get('status')}")


def websocket_replay(base, token, run_id, timeout=20):
    """Reads the run's events over the WebSocket through the proxy (RFC 6455, by hand)."""
    url = urllib.parse.urlsplit(base)
    sock = socket.create_connection((url.hostname, url.port or 80), timeout=timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /api/v1/runs/{run_id}/ws?after=0 HTTP/1.1\r\n"
        f"Host: {url.hostname}:{url.port or 80}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Authorization: Bearer {token}\r\n\r\n"
    )
    sock.sendall(request.encode())
    reader = sock.makefile("rb")
    status_line = reader.readline().decode().strip()
    while reader.readline() not in (b"\r\n", b""):
        pass
    result = {"handshake": status_line, "seqs": [], "finished": False}
    if " 101 " not in status_line + " ":
        return result

    def read_exact(n):
        data = reader.read(n)
        if data is None or len(data) < n:
            raise EOFError("connection closed")
        return data

    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            head = read_exact(2)
            opcode, length = head[0] & 0x0F, head[1] & 0x7F
            if length == 126:
                length = int.from_bytes(read_exact(2), "big")
            elif length == 127:
                length = int.from_bytes(read_exact(8), "big")
            if head[1] & 0x80:
                read_exact(4)  # servers never mask, but be lenient
            payload = read_exact(length)
            if opcode == 0x8:  # close
                break
            if opcode != 0x1:  # ping/pong/binary: not events
                continue
            event = json.loads(payload)
            if event.get("type") == "message_delta":
                continue
            result["seqs"].append(event["seq"])
            if event.get("type") == "finished":
                result["finished"] = True
                break
    except (OSError, EOFError) as error:
        result["error"] = str(error)
    finally:
        sock.close()
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the proxy, e.g. http://127.0.0.1:8080")
    parser.add_argument("--email", required=True)
    parser.add_argument("--password-file", required=True)
    parser.add_argument("--trigger", help="file to create at the first message event")
    parser.add_argument("--out", required=True, help="where to write the JSON report")
    parser.add_argument("--timeout", type=float, default=240)
    parser.add_argument(
        "--task", default="Compare the first 20 Fibonacci numbers with the first 20 primes"
    )
    args = parser.parse_args()

    with open(args.password_file, encoding="utf-8") as f:
        password = f.read().strip()
    token = login(args.base, args.email, password)
    log(f"logged in as {args.email}")
    run_id = create_run(args.base, token, args.task)
    log(f"created demo run {run_id}")
    stream = Stream(args.base, token, run_id, args.trigger)
    completed = stream.follow(time.monotonic() + args.timeout)
    ws = websocket_replay(args.base, token, run_id) if completed else None
    if ws is not None:
        log(f"WebSocket replay: {ws['handshake']}, {len(ws['seqs'])} durable events")
    report = {
        "run_id": run_id,
        "finished": stream.finished,
        "seqs": stream.seqs,
        "statuses": stream.statuses,
        "messages": stream.messages,
        "deltas": stream.deltas,
        "code_results": stream.code_results,
        "connections": stream.connections,
        "reconnects": len(stream.connections) - 1,
        "websocket": ws,
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
    return 0 if completed else 1


if __name__ == "__main__":
    sys.exit(main())
