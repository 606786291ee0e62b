// Makes a running role's main thread busy, from outside and without any hook
// in the product: the role is started with the V8 inspector on a random
// loopback port (msgServerEnv: INSPECT_ENV), and a synchronous loop is
// evaluated on its main thread through the DevTools protocol. Other threads
// of the process (the beacon thread) keep running, as under real overload.
import WebSocket from 'ws';
import { waitUntil, type RoleProcess } from './deployment';

/** Env for a role whose main thread a test will block. */
export const INSPECT_ENV = { NODE_OPTIONS: '--inspect=127.0.0.1:0' };

function inspectorUrl(role: RoleProcess): string | undefined {
  // The latest announcement: a restarted role (restartRole) keeps its output and gets a new port.
  const all = [...role.output.join('').matchAll(/Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[0-9a-f-]+)/g)];
  return all.at(-1)?.[1];
}

/**
 * Keeps the role's event loop busy for `ms` (a synchronous loop on its main
 * thread). Resolves when the loop has ended, with when it started (ms since
 * the epoch, as seen here when the evaluation was sent).
 */
export async function blockEventLoop(role: RoleProcess, ms: number): Promise<{ startedAt: number }> {
  let url: string | undefined;
  await waitUntil(async () => (url = inspectorUrl(role)) !== undefined, 5000, `${role.role}'s inspector address`);
  const ws = new WebSocket(url!);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  try {
    const answered = new Promise<void>((resolve, reject) => {
      ws.on('message', (raw) => {
        const msg = JSON.parse(raw.toString()) as { id?: number; result?: { exceptionDetails?: unknown }; error?: unknown };
        if (msg.id !== 1) return;
        if (msg.error || msg.result?.exceptionDetails) reject(new Error(`evaluation failed: ${JSON.stringify(msg)}`));
        else resolve();
      });
      ws.once('close', () => reject(new Error('inspector closed before answering')));
    });
    const startedAt = Date.now();
    ws.send(JSON.stringify({ id: 1, method: 'Runtime.evaluate', params: { expression: `(() => { const end = Date.now() + ${ms}; while (Date.now() < end); return 0; })()` } }));
    await answered;
    return { startedAt };
  } finally {
    ws.close();
  }
}
