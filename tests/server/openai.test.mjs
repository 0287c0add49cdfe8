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
let server, client, npmDir, toolServer, toolClient;
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
  if (toolServer) await toolServer.stop();
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
    [{ top_logprobs: 3 }, 400, 'top_logprobs'],
    [{ logprobs: true, top_logprobs: 21 }, 400, 'top_logprobs'],
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

// ---- logprobs -------------------------------------------------------------

test('logprobs: chosen token = top-1 at temperature 0, alternatives sorted, plain and streamed', async () => {
  const body = { model: 'tiny-r1', messages: question, seed: 3, temperature: 0, max_tokens: 24, logprobs: true,
    top_logprobs: 5, reasoning_effort: 'none' };
  const r = await client.chat.completions.create(body);
  const entries = r.choices[0].logprobs.content;
  assert.ok(entries.length > 0 && entries.length <= r.usage.completion_tokens);
  for (const e of entries) {
    assert.ok(e.logprob <= 0, JSON.stringify(e));
    assert.equal(e.top_logprobs.length, 5);
    assert.deepEqual(e.top_logprobs[0].bytes, e.bytes);            // greedy: the chosen token is the most probable
    assert.equal(e.top_logprobs[0].logprob, e.logprob);
    for (let k = 1; k < 5; k++) assert.ok(e.top_logprobs[k].logprob <= e.top_logprobs[k - 1].logprob);
  }
  const stream = await client.chat.completions.create({ ...body, stream: true });
  const streamed = [];
  for await (const chunk of stream)
    for (const ch of chunk.choices) if (ch.logprobs?.content) streamed.push(...ch.logprobs.content);
  assert.deepEqual(streamed.map((e) => e.logprob), entries.slice(0, streamed.length).map((e) => e.logprob));
  assert.ok(streamed.length > 0);
  const none = await client.chat.completions.create({ ...body, top_logprobs: 0 });
  assert.ok(none.choices[0].logprobs.content.every((e) => e.top_logprobs.length === 0));
  const t = await client.completions.create({ model: 'tiny-r1', prompt: 'What is', max_tokens: 4, temperature: 0, logprobs: 2 });
  const lp = t.choices[0].logprobs;
  assert.equal(lp.tokens.length, 4);
  assert.equal(lp.token_logprobs.length, 4);
  assert.ok(lp.token_logprobs.every((x) => x <= 0));
  assert.ok(lp.top_logprobs.every((o) => Object.keys(o).length >= 1 && Object.keys(o).length <= 2));
});

// ---- tool calling (a tiny random model with DeepSeek-R1's template and tool-call tokens) ----

const weather = {
  type: 'function',
  function: {
    name: 'get_weather', description: 'Current weather of a city',
    parameters: { type: 'object', properties: { city: { type: 'string', maxLength: 12 }, days: { type: 'integer', minimum: 1, maximum: 7 } },
      required: ['city', 'days'], additionalProperties: false },
  },
};
const clock = { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: { zone: { enum: ['UTC', 'CET'] } }, required: ['zone'] } } };
const ask = [{ role: 'user', content: 'Weather in Paris for 3 days?' }];

// The schema checks of `weather` and `clock`, written from the schemas above.
function checkArgs(name, args) {
  const a = JSON.parse(args);
  if (name === 'get_weather') {
    assert.deepEqual(Object.keys(a), ['city', 'days']);
    assert.equal(typeof a.city, 'string');
    assert.ok([...a.city].length <= 12);
    assert.ok(Number.isInteger(a.days) && a.days >= 1 && a.days <= 7);
  } else {
    assert.equal(name, 'get_time');
    assert.ok(['UTC', 'CET'].includes(a.zone));
  }
  return a;
}

// DeepSeek-R1's Jinja chat template (or, with `jinja`, that template file:
// DeepSeek-R1-0528-Qwen3-8B's, whose BOS is R1's and which cannot read a
// none content, so it gets "") rendered by Jinja2 (the reference of
// test_chat_tools.py).
function jinjaRender(messages, jinja) {
  const script = `
import json, sys
from jinja2.sandbox import ImmutableSandboxedEnvironment
cfg = json.load(open(sys.argv[1], encoding="utf-8"))
src = open(sys.argv[2], encoding="utf-8", newline="").read() if len(sys.argv) > 2 else cfg["chat_template"]
t = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True).from_string(src)
bos = cfg["bos_token"]["content"] if isinstance(cfg["bos_token"], dict) else cfg["bos_token"]
msgs = json.loads(sys.stdin.read())
if len(sys.argv) > 2:
    msgs = [{**m, "content": ""} if m.get("content") is None else m for m in msgs]
sys.stdout.write(t.render(messages=msgs, add_generation_prompt=True, bos_token=bos))`;
  const cfg = new URL('../data/tokenizers/deepseek_r1/tokenizer_config.json', import.meta.url).pathname;
  const args = jinja ? [cfg, new URL('../data/chat_templates/' + jinja, import.meta.url).pathname] : [cfg];
  return execFileSync('/usr/bin/python3', ['-c', script, ...args], { input: JSON.stringify(messages) }).toString();
}

async function toolApi() {
  if (!toolServer) {
    const model = process.env.DSEEK_TOOL_MODEL;
    assert.ok(model, 'DSEEK_TOOL_MODEL (tests/server/make_tool_model.py) is not set');
    toolServer = await startServer(['-m', model, '--slots', '1', '--ctx', '2048']);
    toolClient = new client.constructor({ baseURL: toolServer.base + '/v1', apiKey: 'none', maxRetries: 0 });
  }
  return toolClient;
}

test('tools: a model without tool-call tokens gets a 400 saying so', async () => {
  await assert.rejects(client.chat.completions.create({ model: 'tiny-r1', messages: question, tools: [weather] }), (e) => {
    assert.equal(e.status, 400);
    assert.equal(e.error?.param ?? e.param, 'tools');
    assert.match(e.error?.message ?? e.message, /no tool-call tokens/);
    return true;
  });
});

test('tools: required and named calls follow the schema; the round trip answers', async () => {
  const api = await toolApi();
  const base = { model: 'tiny', messages: ask, seed: 11, temperature: 0.8, max_tokens: 900, reasoning_effort: 'none' };
  for (const tool_choice of ['required', { type: 'function', function: { name: 'get_weather' } }]) {
    const r = await api.chat.completions.create({ ...base, tools: [weather, clock], tool_choice });
    const c = r.choices[0];
    assert.equal(c.finish_reason, 'tool_calls', JSON.stringify(c));
    assert.equal(c.message.tool_calls.length, 1);
    const call = c.message.tool_calls[0];
    assert.match(call.id, /^call_/);
    assert.equal(call.type, 'function');
    if (typeof tool_choice === 'object') assert.equal(call.function.name, 'get_weather');
    checkArgs(call.function.name, call.function.arguments);
  }
  // the same forced call streamed: delta.tool_calls with index, id, type, name, arguments
  const stream = await api.chat.completions.create({ ...base, tools: [weather], tool_choice: 'required', stream: true });
  let sCall = null, finish = null, content = '';
  for await (const chunk of stream)
    for (const ch of chunk.choices) {
      for (const d of ch.delta.tool_calls ?? []) { assert.equal(d.index, 0); sCall = d; }
      content += ch.delta.content ?? '';
      if (ch.finish_reason) finish = ch.finish_reason;
    }
  assert.equal(finish, 'tool_calls');
  assert.equal(content, '');
  assert.match(sCall.id, /^call_/);
  const args = checkArgs(sCall.function.name, sCall.function.arguments);

  // follow-up: the assistant's call and the tool's output go back; tool_choice none
  const assistant = { role: 'assistant', content: null, tool_calls: [{ id: sCall.id, type: 'function', function: { name: sCall.function.name, arguments: sCall.function.arguments } }] };
  const toolMsg = { role: 'tool', tool_call_id: sCall.id, content: JSON.stringify({ city: args.city, sky: 'sunny' }) };
  const messages = [...ask, assistant, toolMsg];
  const r2 = await api.chat.completions.create({ ...base, max_tokens: 16, messages, tools: [weather], tool_choice: 'none' });
  const c2 = r2.choices[0];
  assert.ok(['stop', 'length'].includes(c2.finish_reason));
  assert.equal(c2.message.tool_calls, undefined);
  assert.equal(typeof c2.message.content, 'string');
  // prompt_tokens = the tokens of DeepSeek's own template over the same messages
  const reference = jinjaRender(messages);
  const raw = await api.completions.create({ model: 'tiny', prompt: reference, max_tokens: 1 });
  assert.equal(r2.usage.prompt_tokens, raw.usage.prompt_tokens);
  await waitIdle(toolServer.base, 1);
});

// R1-0528's template: the user turn opens the assistant turn and the call
// message keeps its content before the block; the server's prompt must be
// the template's over the same messages.
test('tools: R1-0528 template: a forced call, then the round trip renders as its Jinja template', async () => {
  const model = process.env.DSEEK_TOOL_MODEL_R1_0528;
  assert.ok(model, 'DSEEK_TOOL_MODEL_R1_0528 (tests/server/make_tool_model.py) is not set');
  const srv = await startServer(['-m', model, '--slots', '1', '--ctx', '2048']);
  try {
    const api = new client.constructor({ baseURL: srv.base + '/v1', apiKey: 'none', maxRetries: 0 });
    const base = { model: 'tiny', messages: ask, seed: 3, temperature: 0.8, max_tokens: 900, reasoning_effort: 'none' };
    const r = await api.chat.completions.create({ ...base, tools: [weather, clock], tool_choice: 'required' });
    const c = r.choices[0];
    assert.equal(c.finish_reason, 'tool_calls', JSON.stringify(c));
    const call = c.message.tool_calls[0];
    checkArgs(call.function.name, call.function.arguments);
    const system = { role: 'system', content: 'Be brief.' };
    const messages = [system, { role: 'system', content: 'Use the tools.' }, ...ask,
      { role: 'assistant', content: 'Looking.', tool_calls: [call] },
      { role: 'tool', tool_call_id: call.id, content: '{"sky": "sunny"}' },
      { role: 'assistant', content: '<think>done</think>Sunny.' }, { role: 'user', content: 'Thanks' }];
    const r2 = await api.chat.completions.create({ ...base, max_tokens: 8, messages, tools: [weather], tool_choice: 'none' });
    const raw = await api.completions.create({ model: 'tiny', prompt: jinjaRender(messages, 'deepseek-r1-0528-qwen3-8b.jinja'), max_tokens: 1 });
    assert.equal(r2.usage.prompt_tokens, raw.usage.prompt_tokens);
    await waitIdle(srv.base, 1);
  } finally {
    await srv.stop();
  }
});

test('tools: tool_choice none never calls, auto parses a block if one comes', async () => {
  const api = await toolApi();
  const r = await api.chat.completions.create({ model: 'tiny', messages: ask, tools: [weather], tool_choice: 'none', seed: 5, max_tokens: 32, reasoning_effort: 'none' });
  assert.notEqual(r.choices[0].finish_reason, 'tool_calls');
  assert.equal(r.choices[0].message.tool_calls, undefined);
  const a = await api.chat.completions.create({ model: 'tiny', messages: ask, tools: [weather], seed: 5, max_tokens: 32, reasoning_effort: 'none' });
  const c = a.choices[0];
  if (c.message.tool_calls) assert.equal(c.finish_reason, 'tool_calls');
  else assert.notEqual(c.finish_reason, 'tool_calls');
});
