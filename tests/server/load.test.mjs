// load.test.mjs — 16 concurrent clients x 20 requests on loopback against
// `dseek serve --slots 4` on tiny-r1. Greedy (temperature 0) replies do not
// depend on which slot or cache state served them, so every reply, plain or
// streamed, must equal the reference reply of its question taken one at a
// time before the load; afterwards /health must show every slot idle.
// Prints p50/p99 latency and tokens/s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitIdle } from './server.mjs';
import { chat } from './client.mjs';

const SLOTS = 4, CLIENTS = 16, REQUESTS = 20, MAX_TOKENS = 24;
const questions = ['What is 3+4?', 'What is 12+30?', 'What is 7*6?', 'What is 25+17?', 'What is 9-5?'];

test('load: every reply complete and correct, no slot leak', async () => {
  const server = await startServer(['--slots', String(SLOTS), '--queue', '64']);
  try {
    const body = (q, stream) => ({ messages: [{ role: 'user', content: q }], temperature: 0, max_tokens: MAX_TOKENS, stream,
      stream_options: stream ? { include_usage: true } : undefined });
    const reference = [];
    for (const q of questions) {
      const r = await chat(server.base, body(q, false));
      assert.equal(r.status, 200);
      reference.push(r.json);
    }
    const latencies = [];
    let tokens = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: CLIENTS }, async (_, c) => {
      for (let i = 0; i < REQUESTS; i++) {
        const k = (c + i) % questions.length, stream = (c + i) % 2 === 1;
        const r = await chat(server.base, body(questions[k], stream));
        const want = reference[k];
        assert.equal(r.status, 200, `client ${c} request ${i}`);
        if (stream) {
          assert.ok(r.done && r.framed, 'stream ends with [DONE]');
          assert.equal(r.reasoning, want.choices[0].message.reasoning_content ?? '');
          assert.equal(r.content, want.choices[0].message.content);
          assert.equal(r.finish, want.choices[0].finish_reason);
          assert.equal(r.usage.completion_tokens, want.usage.completion_tokens);
          tokens += r.usage.completion_tokens;
        } else {
          assert.deepEqual(r.json.choices, want.choices);
          assert.equal(r.json.usage.completion_tokens, want.usage.completion_tokens);
          tokens += r.json.usage.completion_tokens;
        }
        latencies.push(r.ms);
      }
    }));
    const seconds = (performance.now() - t0) / 1000;
    latencies.sort((a, b) => a - b);
    const at = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
    console.log(`load: ${latencies.length} requests (${CLIENTS} clients x ${REQUESTS}) in ${seconds.toFixed(2)} s, ` +
      `p50 ${at(0.5).toFixed(0)} ms, p99 ${at(0.99).toFixed(0)} ms, ${(tokens / seconds).toFixed(0)} tokens/s, ${SLOTS} slots`);
    assert.equal(latencies.length, CLIENTS * REQUESTS);
    const h = await waitIdle(server.base, SLOTS);
    assert.equal(h.slots_total, SLOTS);
  } finally {
    await server.stop();
  }
});
