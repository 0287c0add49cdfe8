// client.mjs — plain HTTP helpers for the load and fault tests (Node's fetch
// and sockets, no SDK): a chat request, plain or streamed, parsed and checked.
import net from 'node:net';

export async function chat(base, body) {
  const t0 = performance.now();
  const r = await fetch(base + '/v1/chat/completions', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  if (!body.stream) return { status: r.status, json: await r.json(), ms: performance.now() - t0 };
  const text = await r.text();
  const events = text.split('\n\n').filter((e) => e.length);
  let reasoning = '', content = '', finish = null, usage = null, framed = true;
  for (const e of events) {
    if (!e.startsWith('data: ')) { framed = false; continue; }
    if (e === 'data: [DONE]') continue;
    const chunk = JSON.parse(e.slice(6));
    if (chunk.usage) usage = chunk.usage;
    for (const ch of chunk.choices ?? []) {
      reasoning += ch.delta.reasoning_content ?? '';
      content += ch.delta.content ?? '';
      if (ch.finish_reason) finish = ch.finish_reason;
    }
  }
  const done = events.length > 0 && events[events.length - 1] === 'data: [DONE]';
  return { status: r.status, reasoning, content, finish, usage, done, framed, ms: performance.now() - t0 };
}

// Send raw bytes on a new connection; resolve with what came back (or '' when
// the server closed it) once it closes or `ms` pass.
export function raw(base, bytes, { ms = 2000, end = true } = {}) {
  const { hostname, port } = new URL(base);
  return new Promise((resolve) => {
    let got = '';
    const s = net.connect(Number(port), hostname, () => { s.write(bytes); if (end) s.end(); });
    const timer = setTimeout(() => { s.destroy(); resolve(got); }, ms);
    s.on('data', (d) => { got += d; });
    s.on('close', () => { clearTimeout(timer); resolve(got); });
    s.on('error', () => {});
  });
}
