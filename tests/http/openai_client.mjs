// The official `openai` npm client against a slim-server process: chat (whole and streamed),
// completions, models, an error, and tool calls (whole and streamed, each call's arguments
// validated by ajv against its tool's parameters). Fails (exit 1) when a package is missing:
// scripts/test.sh installs openai and ajv into BUILD/npm.
// Usage: node openai_client.mjs SLIM_SERVER MODEL_DIR NPM_DIR
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import assert from "node:assert/strict";

const [server, model, npmDir] = process.argv.slice(2);
let OpenAI, Ajv;
try {
  const require = createRequire(path.join(path.resolve(npmDir), "package.json"));
  const mod = require("openai");
  OpenAI = mod.OpenAI ?? mod.default ?? mod;
  const ajv = require("ajv");
  Ajv = ajv.default ?? ajv;
} catch (e) {
  console.error(`the openai or ajv package is not installed in ${npmDir} (npm install --prefix ${npmDir} openai ajv): ${e.message}`);
  process.exit(1);
}

const child = spawn(server, ["--model", model, "--port", "0", "--threads", "1", "--parallel", "2", "--api-key", "k"],
                    { stdio: ["ignore", "pipe", "inherit"] });
const port = await new Promise((resolve, reject) => {
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
    const m = out.match(/listening on http:\/\/[^:]+:(\d+)/);
    if (m) resolve(m[1]);
  });
  child.on("exit", (code) => reject(new Error(`slim-server exited (${code}) before listening`)));
});
const base = `http://127.0.0.1:${port}`;
for (let i = 0; ; ++i) {  // the model loads after the port is bound
  const r = await fetch(`${base}/health`).catch(() => null);
  if (r?.status === 200) break;
  assert.ok(i < 3000, "slim-server never became healthy");
  await new Promise((r) => setTimeout(r, 20));
}

let status = 0;
try {
  const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: "k", maxRetries: 0 });
  const models = await client.models.list();
  assert.equal(models.data[0].id, "stories260K");

  const messages = [{ role: "user", content: "Tell me a story" }];
  const chat = await client.chat.completions.create({ model: "stories260K", messages, max_tokens: 6, temperature: 0 });
  assert.equal(chat.object, "chat.completion");
  assert.equal(chat.choices[0].finish_reason, "length");
  assert.equal(chat.usage.completion_tokens, 6);

  const stream = await client.chat.completions.create({ model: "stories260K", messages, max_tokens: 6, temperature: 0,
                                                       stream: true, stream_options: { include_usage: true } });
  let text = "", usage = null, finish = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    if (chunk.choices.length === 0) continue;
    text += chunk.choices[0].delta.content ?? "";
    finish = chunk.choices[0].finish_reason ?? finish;
  }
  assert.equal(text, chat.choices[0].message.content);  // greedy: streamed as whole
  assert.equal(finish, "length");
  assert.equal(usage.completion_tokens, 6);

  const completion = await client.completions.create({ model: "stories260K", prompt: "Once upon a time", max_tokens: 8,
                                                      temperature: 0 });
  assert.ok(completion.choices[0].text.startsWith(", there was a little girl"), completion.choices[0].text);

  await assert.rejects(client.chat.completions.create({ model: "stories260K", messages, n: 2 }), (e) => {
    assert.equal(e.status, 400);
    assert.equal(e.code, "invalid_value");
    assert.equal(e.param, "n");
    return true;
  });
  // Tool calls: stories260K's template shows no tools, so the generic JSON format; the grammar
  // makes a random story model write valid calls.
  const tools = [
    { type: "function", function: { name: "weather",
      parameters: { type: "object", properties: { city: { type: "string", maxLength: 12 },
                                                  unit: { enum: ["celsius", "fahrenheit"] } },
                    required: ["city", "unit"] } } },
    { type: "function", function: { name: "add", parameters: { type: "object",
      properties: { a: { type: "integer", minimum: 0, maximum: 99 }, b: { type: "integer", maximum: 999 } }, required: ["a", "b"] } } },
  ];
  const ajv = new Ajv({ strict: false });
  const validators = Object.fromEntries(tools.map((t) => [t.function.name, ajv.compile(t.function.parameters)]));
  const checkCall = (call) => {
    assert.equal(call.type, "function");
    assert.ok(call.id);
    const validate = validators[call.function.name];
    assert.ok(validate, `a call of an unknown tool: ${call.function.name}`);
    const args = JSON.parse(call.function.arguments);
    assert.ok(validate(args), `${call.function.arguments}: ${ajv.errorsText(validate.errors)}`);
  };
  let called = 0;
  for (let seed = 0; seed < 4; ++seed) {
    const r = await client.chat.completions.create({ model: "stories260K", messages: [{ role: "user", content: "Weather?" }],
                                                    tools: [tools[seed % 2]], tool_choice: "required", parallel_tool_calls: false, max_tokens: 100,
                                                    temperature: seed ? 1 : 0, seed });
    if (r.choices[0].finish_reason === "length") continue;  // cut off (512 positions of context)
    assert.equal(r.choices[0].finish_reason, "tool_calls");
    assert.ok(r.choices[0].message.tool_calls.length >= 1);
    r.choices[0].message.tool_calls.forEach(checkCall);
    ++called;
  }
  assert.ok(called >= 2, `only ${called} of 4 requests ended in calls`);
  const toolStream = await client.chat.completions.create({ model: "stories260K", messages: [{ role: "user", content: "Add" }],
                                                           tools, tool_choice: { type: "function", function: { name: "add" } },
                                                           max_tokens: 100, temperature: 0, stream: true });
  const streamedCalls = [];
  finish = null;
  for await (const chunk of toolStream) {
    for (const d of chunk.choices[0]?.delta?.tool_calls ?? []) {
      streamedCalls[d.index] ??= { id: d.id, type: d.type, function: { name: "", arguments: "" } };
      streamedCalls[d.index].function.name += d.function?.name ?? "";
      streamedCalls[d.index].function.arguments += d.function?.arguments ?? "";
    }
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  assert.equal(finish, "tool_calls");
  assert.equal(streamedCalls.length, 1);
  assert.equal(streamedCalls[0].function.name, "add");
  streamedCalls.forEach(checkCall);

  const wrongKey = new OpenAI({ baseURL: `${base}/v1`, apiKey: "wrong", maxRetries: 0 });
  await assert.rejects(wrongKey.models.list(), (e) => e.status === 401);
  console.log("openai client: models, chat, chat stream, completions, errors and tool calls passed");
} catch (e) {
  console.error(e);
  status = 1;
} finally {
  child.kill("SIGTERM");
  process.exit(status);  // without waiting for the client's keep-alive connections to close
}
