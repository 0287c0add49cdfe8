// fault.test.mjs — clients that misbehave must not hurt the server: streams
// cut mid-way (the job is cancelled, its slot freed), half bodies, garbage,
// oversized bodies, a full queue (503), and SIGTERM with a stream in flight
// (it ends properly, the server exits 0). After each, normal requests work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitIdle } from './server.mjs';
import { chat, raw } from './client.mjs';

const long = { messages: [{ role: 'user', content: 'What is 123456789*987654321?' }], temperature: 2, seed: 3, max_tokens: 900 };
// A raw completion tiny-r1 never ends by itself: all 900 tokens (a chat
// reply ends within about 200), so a cut stream is cut long before its end.
const endless = { prompt: '1', temperature: 2, seed: 1, max_tokens: 900 };
const complete = (base, body, signal) =>
  fetch(base + '/v1/completions', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), signal });

async function stillServes(base) {
  const r = await chat(base, { messages: [{ role: 'user', content: 'What is 2+2?' }], max_tokens: 8 });
  assert.equal(r.status, 200);
  assert.equal(r.json.usage.completion_tokens > 0, true);
}

test('faults: disconnects, half bodies, garbage, limits', async () => {
  const SLOTS = 2;
  const server = await startServer(['--slots', String(SLOTS), '--max-body', '65536']);
  const base = server.base;
  try {
    // The full reply, then the same request cut after its first chunk: the
    // job is cancelled (its log line says so and counts fewer tokens than
    // the full reply's) and the slot is idle again. Counted in tokens, not
    // milliseconds: tiny-r1 is fast enough that a loaded machine's delays
    // are as long as a whole reply.
    const full = await (await complete(base, endless)).json();
    const fullTokens = full.usage.completion_tokens;
    assert.equal(fullTokens, endless.max_tokens, JSON.stringify(full.usage));
    for (let i = 0; i < 4; i++) {
      const ctrl = new AbortController();
      const r = await complete(base, { ...endless, stream: true }, ctrl.signal);
      const reader = r.body.getReader();
      await reader.read();
      ctrl.abort();
      await waitIdle(base, SLOTS);
      const cut = server.log().split('\n').filter((l) => l.includes('(connection ended early)'));
      assert.equal(cut.length, i + 1, 'the cut stream is logged as ended early:\n' + server.log());
      const out = Number(/ out=([0-9]+) /.exec(cut[i])[1]);
      assert.ok(out < fullTokens, `the cut stream generated ${out} of the full reply's ${fullTokens} tokens`);
    }
    // A plain request whose client leaves while it waits.
    const ctrl = new AbortController();
    const p = fetch(base + '/v1/chat/completions', { method: 'POST', body: JSON.stringify(long), signal: ctrl.signal }).catch(() => null);
    setTimeout(() => ctrl.abort(), 20);
    await p;
    await waitIdle(base, SLOTS);
    await stillServes(base);

    // Half a body, then the client hangs up.
    const json = JSON.stringify({ messages: [{ role: 'user', content: 'What is 1+1?' }] });
    await raw(base, `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${json.length}\r\n\r\n` + json.slice(0, 20));
    // Garbage, a bad request line, a huge header, binary noise.
    const noise = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24));
    for (const bytes of ['hello\r\n\r\n', 'GET / HTTP/9.9\r\n\r\n', 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX: ' + 'a'.repeat(100000) + '\r\n\r\n', noise])
      await raw(base, bytes, { ms: 1000 });
    await stillServes(base);

    // Bodies the parser refuses: each a 400 (or 413) in OpenAI's shape.
    const bad = [
      ['{"messages": [', 400], ['[1, 2]', 400], ['{"messages": "hi"}', 400], ['', 400],
      [Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), 400],   // invalid UTF-8
      ['{"messages": [{"role": "user", "content": "' + 'x'.repeat(70000) + '"}]}', 413],
    ];
    for (const [body, status] of bad) {
      const r = await fetch(base + '/v1/chat/completions', { method: 'POST', body });
      assert.equal(r.status, status);
      const e = await r.json();
      assert.equal(typeof e.error.message, 'string');
      assert.equal(typeof e.error.type, 'string');
    }
    assert.equal((await fetch(base + '/v1/nothing')).status, 404);
    assert.equal((await fetch(base + '/v1/models', { method: 'DELETE' })).status, 405);
    await stillServes(base);
    const h = await waitIdle(base, SLOTS);
    assert.equal(h.status, 'ok');
  } finally {
    await server.stop();
  }
});

test('faults: a full queue answers 503', async () => {
  const server = await startServer(['--slots', '1', '--queue', '1']);
  try {
    const rs = await Promise.all(Array.from({ length: 8 }, () => chat(server.base, long)));
    const statuses = rs.map((r) => r.status);
    assert.ok(statuses.includes(503), statuses.join(' '));
    assert.ok(statuses.filter((s) => s === 200).length >= 2, statuses.join(' '));
    for (const r of rs) {
      if (r.status === 503) assert.equal(r.json.error.code, 'server_overloaded');
      else assert.equal(r.status, 200);
    }
    await waitIdle(server.base, 1);
  } finally {
    await server.stop();
  }
});

test('faults: SIGTERM lets an in-flight stream end properly', async () => {
  const server = await startServer(['--slots', '1']);
  const r = await fetch(server.base + '/v1/chat/completions', { method: 'POST', body: JSON.stringify({ ...long, stream: true }) });
  const reader = r.body.getReader();
  const first = await reader.read();
  assert.ok(!first.done);
  const stopped = server.stop();   // SIGTERM while the stream runs; resolves when it exits 0
  let text = new TextDecoder().decode(first.value);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  assert.ok(text.endsWith('data: [DONE]\n\n'), text.slice(-200));
  assert.match(text, /"finish_reason":"(stop|length)"/);
  await stopped;
});
