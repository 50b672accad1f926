// Starts `cadre serve` (the binary in CADRE_BIN, default the debug build) on a fresh data
// directory and a free port, with a known admin and the real bubblewrap sandbox; stops it
// when the test is done. `env` adds settings (e.g. CADRE_SCRIPTED_DELAY_MS to slow the
// demo model so a run can be watched, reloaded and cancelled mid-way).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const ADMIN_EMAIL = 'admin@cadre.test';
export const ADMIN_PASSWORD = 'the e2e admin password';

export interface Server {
  base: string;
  /** Stops the server (SIGTERM: running runs go back to the queue), runs `whileDown`, and
   *  starts it again on the same address and data: a deployment, as a page sees it. */
  restart: (whileDown?: () => Promise<void>) => Promise<void>;
  stop: () => void;
}

interface Launched {
  child: ChildProcess;
  base: string;
}

function launch(dataDir: string, bind: string, env: Record<string, string>): Promise<Launched> {
  const binary = resolve(process.env.CADRE_BIN ?? '../target/debug/cadre');
  const child: ChildProcess = spawn(binary, ['serve'], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      CADRE_DATA_DIR: dataDir,
      CADRE_BIND: bind,
      CADRE_SANDBOX: 'bwrap',
      CADRE_ADMIN_EMAIL: ADMIN_EMAIL,
      CADRE_ADMIN_PASSWORD: ADMIN_PASSWORD,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  return new Promise<Launched>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error('cadre serve did not start within 20 s')), 20_000);
    child.once('exit', (code) => fail(new Error(`cadre serve exited with ${code}`)));
    lines.on('line', (line) => {
      const prefix = 'cadre listening on ';
      if (line.startsWith(prefix)) {
        clearTimeout(timer);
        ok({ child, base: line.slice(prefix.length).trim() });
      }
    });
  });
}

function stopped(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((ok) => {
    child.once('exit', () => ok());
    child.kill('SIGTERM');
  });
}

export async function startServer(env: Record<string, string> = {}): Promise<Server> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cadre-e2e-'));
  let current = await launch(dataDir, '127.0.0.1:0', env);
  const base = current.base;
  return {
    base,
    restart: async (whileDown) => {
      await stopped(current.child);
      await whileDown?.();
      current = await launch(dataDir, new URL(base).host, env);
    },
    stop: () => {
      current.child.kill('SIGTERM');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
