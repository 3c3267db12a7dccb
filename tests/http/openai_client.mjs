// The official `openai` npm client against a slim-server process: chat (whole and streamed),
// completions, models, and an error. Fails (exit 1) when the package is missing: scripts/test.sh
// installs it into BUILD/npm.
// Usage: node openai_client.mjs SLIM_SERVER MODEL_DIR NPM_DIR
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import assert from "node:assert/strict";

const [server, model, npmDir] = process.argv.slice(2);
let OpenAI;
try {
  const mod = createRequire(path.join(path.resolve(npmDir), "package.json"))("openai");
  OpenAI = mod.OpenAI ?? mod.default ?? mod;
} catch (e) {
  console.error(`the openai package is not installed in ${npmDir} (npm install --prefix ${npmDir} openai): ${e.message}`);
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
  const wrongKey = new OpenAI({ baseURL: `${base}/v1`, apiKey: "wrong", maxRetries: 0 });
  await assert.rejects(wrongKey.models.list(), (e) => e.status === 401);
  console.log("openai client: models, chat, chat stream, completions and errors passed");
} catch (e) {
  console.error(e);
  status = 1;
} finally {
  child.kill("SIGTERM");
  process.exit(status);  // without waiting for the client's keep-alive connections to close
}
