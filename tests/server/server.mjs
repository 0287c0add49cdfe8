// server.mjs — start `dseek serve` for a test: tiny-r1 (no -m) on 127.0.0.1
// at a free port (--port 0; the port is read from the "listening on" line),
// and stop it with SIGTERM, which must end it with status 0.
import { spawn } from 'node:child_process';

export async function startServer(args = []) {
  const exe = process.env.DSEEK;
  if (!exe) throw new Error('DSEEK (the dseek CLI) is not set');
  const child = spawn(exe, ['serve', '--port', '0', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const started = Date.now();
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start:\n' + log)), 20000);
    child.stderr.on('data', (d) => {
      log += d;
      const m = /listening on (http:\/\/[0-9.]+:[0-9]+)/.exec(log);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    exited.then((code) => { clearTimeout(timer); reject(new Error(`server exited (${code}):\n` + log)); });
  });
  const server = {
    base, child, startMs: Date.now() - started,
    log: () => log,
    async stop() {
      child.kill('SIGTERM');
      const code = await exited;
      if (code !== 0) throw new Error(`server exited with ${code}:\n` + log);
    },
  };
  return server;
}

export async function health(base) {
  const r = await fetch(base + '/health');
  return r.json();
}

// Poll /health until every slot is idle again (slot leak check).
export async function waitIdle(base, slots, ms = 10000) {
  const t0 = Date.now();
  for (;;) {
    const h = await health(base);
    if (h.slots_idle === slots && h.queue === 0) return h;
    if (Date.now() - t0 > ms) throw new Error('slots not idle: ' + JSON.stringify(h));
    await new Promise((r) => setTimeout(r, 20));
  }
}
