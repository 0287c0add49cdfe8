// openai.test.mjs — `dseek serve` on tiny-r1 through the official `openai`
// npm package (installed here into a temporary folder), with Node's test
// runner. Expected values come from what the request asks (max_tokens, stop,
// a schema, n) and from the API's own invariants (a stream carries the same
// text and usage as the plain reply for the same seed), never from the server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, waitIdle } from './server.mjs';

const SLOTS = 2;
let server, client, npmDir;
const question = [{ role: 'user', content: 'What is 12+7?' }];

before(async () => {
  npmDir = mkdtempSync(join(tmpdir(), 'dseek-openai-'));
  execFileSync('npm', ['install', '--silent', '--no-audit', '--no-fund', '--prefix', npmDir, 'openai'], { stdio: 'inherit' });
  const OpenAI = createRequire(join(npmDir, 'package.json'))('openai');
  const t0 = Date.now();
  server = await startServer(['--slots', String(SLOTS)]);
  client = new (OpenAI.default ?? OpenAI)({ baseURL: server.base + '/v1', apiKey: 'none', maxRetries: 0 });
  const r = await client.chat.completions.create({ model: 'tiny-r1', messages: question, max_tokens: 64 });
  const ms = Date.now() - t0;
  console.log(`first chat completion ${ms} ms after start (server ready after ${server.startMs} ms)`);
  assert.ok(r.choices[0].message.content.length > 0);
  assert.ok(ms < 3000, `first answer took ${ms} ms`);
});

after(async () => {
  if (server) await server.stop();
  if (npmDir) rmSync(npmDir, { recursive: true, force: true });
});

test('models list names the model', async () => {
  const list = await client.models.list();
  assert.equal(list.data.length, 1);
  assert.equal(list.data[0].id, 'tiny-r1');
  assert.equal(list.data[0].object, 'model');
});

test('chat: reasoning_content and content split, usage counts reasoning', async () => {
  const r = await client.chat.completions.create({ model: 'tiny-r1', messages: question, seed: 7, temperature: 0.6 });
  const c = r.choices[0];
  assert.equal(r.object, 'chat.completion');
  assert.equal(c.message.role, 'assistant');
  assert.equal(c.finish_reason, 'stop');
  assert.match(c.message.content, /^\\boxed\{\d+\}$/);          // tiny-r1 answers \boxed{N}
  assert.ok(c.message.reasoning_content.length > 0);
  assert.ok(!c.message.content.includes('</think>') && !c.message.reasoning_content.includes('<think>'));
  const u = r.usage;
  assert.ok(u.completion_tokens_details.reasoning_tokens > 0);
  assert.ok(u.completion_tokens_details.reasoning_tokens < u.completion_tokens);
  assert.equal(u.total_tokens, u.prompt_tokens + u.completion_tokens);
});

test('stream: the same text and usage as the plain reply for one seed', async () => {
  const args = { model: 'tiny-r1', messages: question, seed: 11, temperature: 1.0 };
  const plain = await client.chat.completions.create(args);
  const stream = await client.chat.completions.create({ ...args, stream: true, stream_options: { include_usage: true } });
  let reasoning = '', content = '', finish = null, usage = null, role = null, chunks = 0;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.usage) usage = chunk.usage;
    for (const ch of chunk.choices) {
      chunks++;
      if (ch.delta.role) role = ch.delta.role;
      if (ch.delta.reasoning_content) reasoning += ch.delta.reasoning_content;
      if (ch.delta.content) content += ch.delta.content;
      if (ch.finish_reason) finish = ch.finish_reason;
    }
  }
  assert.equal(role, 'assistant');
  assert.equal(reasoning, plain.choices[0].message.reasoning_content);
  assert.equal(content, plain.choices[0].message.content);
  assert.equal(finish, plain.choices[0].finish_reason);
  assert.deepEqual(usage.completion_tokens, plain.usage.completion_tokens);
  assert.deepEqual(usage.completion_tokens_details, plain.usage.completion_tokens_details);
  assert.ok(chunks > 3, 'the text arrives in pieces');
});

test('max_tokens: exactly that many tokens, finish_reason length', async () => {
  for (const field of ['max_tokens', 'max_completion_tokens']) {
    const r = await client.chat.completions.create({ model: 'tiny-r1', messages: question, [field]: 5 });
    assert.equal(r.choices[0].finish_reason, 'length');
    assert.equal(r.usage.completion_tokens, 5);
  }
});

test('stop strings end the reply before them', async () => {
  const r = await client.chat.completions.create({ model: 'tiny-r1', messages: question, temperature: 0, stop: ['='] });
  const all = (r.choices[0].message.reasoning_content ?? '') + r.choices[0].message.content;
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.ok(all.length > 0 && !all.includes('='), JSON.stringify(all));
  const free = await client.chat.completions.create({ model: 'tiny-r1', messages: question, temperature: 0 });
  assert.ok(free.choices[0].message.reasoning_content.startsWith(all + '='), 'the same text up to the stop string');
});

test('seed and temperature 0 are reproducible', async () => {
  const a = await client.chat.completions.create({ model: 'tiny-r1', messages: question, seed: 5, temperature: 1.5, top_p: 0.9 });
  const b = await client.chat.completions.create({ model: 'tiny-r1', messages: question, seed: 5, temperature: 1.5, top_p: 0.9 });
  assert.deepEqual(a.choices[0].message, b.choices[0].message);
});

test('response_format json_schema: the answer is JSON of that schema, after the reasoning', async () => {
  const schema = { type: 'object', properties: { answer: { type: 'integer' } }, required: ['answer'], additionalProperties: false };
  const r = await client.chat.completions.create({
    model: 'tiny-r1', messages: question, seed: 1,
    response_format: { type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } },
  });
  assert.equal(r.choices[0].finish_reason, 'stop', 'the answer closed before the token limit');
  const v = JSON.parse(r.choices[0].message.content);
  assert.deepEqual(Object.keys(v), ['answer']);
  assert.ok(Number.isInteger(v.answer));
  assert.ok(r.choices[0].message.reasoning_content.length > 0, 'the reasoning is not constrained');
  // A seed, as above: json_object allows any object, and an unseeded sample
  // may open a string the tiny model never closes before max_tokens.
  const o = await client.chat.completions.create({ model: 'tiny-r1', messages: question, seed: 3, response_format: { type: 'json_object' } });
  assert.equal(o.choices[0].finish_reason, 'stop', 'the object closed before the token limit');
  const parsed = JSON.parse(o.choices[0].message.content);
  assert.equal(typeof parsed, 'object');
  assert.ok(parsed !== null && !Array.isArray(parsed));
});

test('n: 3 choices decoded together, usage sums them', async () => {
  const r = await client.chat.completions.create({ model: 'tiny-r1', messages: question, n: 3, seed: 2, temperature: 1.0 });
  assert.deepEqual(r.choices.map((c) => c.index), [0, 1, 2]);
  let total = 0;
  for (const c of r.choices) {
    assert.match(c.message.content, /\\boxed\{/);
    assert.ok(c.finish_reason === 'stop' || c.finish_reason === 'length');
  }
  // Sample i of n uses seed + i: sample 0 is the n = 1 reply of that seed.
  const one = await client.chat.completions.create({ model: 'tiny-r1', messages: question, seed: 2, temperature: 1.0 });
  assert.deepEqual(r.choices[0].message, one.choices[0].message);
  total = one.usage.completion_tokens;
  assert.ok(r.usage.completion_tokens > total);
});

test('thinking control: a zero budget answers without reasoning', async () => {
  for (const extra of [{ thinking_token_budget: 0 }, { thinking_budget: 0 }, { reasoning_effort: 'none' }]) {
    const r = await client.chat.completions.create({ model: 'tiny-r1', messages: question, seed: 4, ...extra });
    assert.equal(r.usage.completion_tokens_details.reasoning_tokens, 0, JSON.stringify(extra));
    assert.ok(!r.choices[0].message.reasoning_content);
    assert.match(r.choices[0].message.content, /\\boxed\{/);
  }
  const low = await client.chat.completions.create({ model: 'tiny-r1', messages: question, seed: 4, thinking_token_budget: 3 });
  assert.ok(low.usage.completion_tokens_details.reasoning_tokens >= 3);
});

test('a conversation turn reuses its slot\'s prompt cache', async () => {
  const first = await client.chat.completions.create({ model: 'tiny-r1', messages: [{ role: 'user', content: 'What is 31+45?' }], temperature: 0 });
  const turn2 = [{ role: 'user', content: 'What is 31+45?' },
    { role: 'assistant', content: first.choices[0].message.content, reasoning_content: first.choices[0].message.reasoning_content },
    { role: 'user', content: 'What is 8+9?' }];
  const second = await client.chat.completions.create({ model: 'tiny-r1', messages: turn2, temperature: 0 });
  // The history is reused up to the first turn's <｜Assistant｜>: its "<think>\n"
  // (two tokens) opens a generation and is not part of a rendered past turn.
  assert.equal(second.usage.prompt_tokens_details.cached_tokens, first.usage.prompt_tokens - 2,
    JSON.stringify(second.usage));
});

test('text completions', async () => {
  const r = await client.completions.create({ model: 'tiny-r1', prompt: 'What is', max_tokens: 4, temperature: 0 });
  assert.equal(r.object, 'text_completion');
  assert.equal(r.choices[0].finish_reason, 'length');
  assert.equal(r.usage.completion_tokens, 4);
  assert.ok(r.choices[0].text.length > 0);
});

test('errors have OpenAI\'s shape and status, naming the field', async () => {
  const cases = [
    [{ temperature: 5 }, 400, 'temperature'],
    [{ top_p: 0 }, 400, 'top_p'],
    [{ max_tokens: 0 }, 400, 'max_tokens'],
    [{ n: 99 }, 400, 'n'],
    [{ tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }] }, 400, 'tools'],
    [{ logprobs: true }, 400, 'logprobs'],
    [{ response_format: { type: 'xml' } }, 400, 'response_format'],
    [{ response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'string', format: 'email' } } } }, 400, 'response_format'],
    [{ messages: [] }, 400, 'messages'],
    [{ messages: [{ role: 'wizard', content: 'hi' }] }, 400, 'messages'],
  ];
  for (const [extra, status, param] of cases) {
    await assert.rejects(client.chat.completions.create({ model: 'tiny-r1', messages: question, ...extra }), (e) => {
      assert.equal(e.status, status, JSON.stringify(extra));
      assert.equal(e.error?.param ?? e.param, param, JSON.stringify(extra));
      assert.equal(e.error?.type ?? e.type, 'invalid_request_error');
      assert.ok((e.error?.message ?? e.message).length > 0);
      return true;
    });
  }
  const long = 'What is 1+1? '.repeat(200);
  await assert.rejects(client.chat.completions.create({ model: 'tiny-r1', messages: [{ role: 'user', content: long }] }),
    (e) => e.status === 400 && (e.error?.code ?? e.code) === 'context_length_exceeded');
  await waitIdle(server.base, SLOTS);
});
