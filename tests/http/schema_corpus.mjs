// Every output of constrained generation over the schema corpus parses and validates with ajv
// (an independent JSON Schema validator, draft 2020-12, with ajv-formats for date, time,
// date-time and uuid). schema_corpus_generate runs the generations (stories260K and random models
// with the Qwen2.5 and Llama 3 tokenizers, greedy and sampled seeds); outputs cut off by
// max_tokens are counted, not validated, and must stay a minority.
// Usage: node schema_corpus.mjs GENERATOR CORPUS NPM_DIR
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import path from "node:path";

const [generator, corpusFile, npmDir] = process.argv.slice(2);
let Ajv2020, addFormats;
try {
  const require = createRequire(path.join(path.resolve(npmDir), "package.json"));
  const a = require("ajv/dist/2020");
  Ajv2020 = a.default ?? a;
  const f = require("ajv-formats");
  addFormats = f.default ?? f;
} catch (e) {
  console.error(`ajv and ajv-formats are not installed in ${npmDir} (npm install --prefix ${npmDir} ajv ajv-formats): ${e.message}`);
  process.exit(1);
}
const corpus = JSON.parse(readFileSync(corpusFile, "utf8"));
if (corpus.length < 30) throw new Error(`the corpus has ${corpus.length} schemas, fewer than 30`);
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
const validators = corpus.map((c) => ajv.compile(c.schema));

const seeds = process.env.SLIM_CORPUS_SEEDS ?? "8 4";  // stories260K's, then the large vocabularies'
const out = execFileSync(generator, [corpusFile, ...seeds.split(" ")], { encoding: "utf8", maxBuffer: 1 << 28 });
const lines = out.split("\n").filter((l) => l);
const stats = {};
const failures = [];
for (const line of lines) {
  const r = JSON.parse(line);
  const s = (stats[r.model] ??= { validated: 0, cut: 0 });
  if (r.stop === "max_tokens") {
    ++s.cut;
    continue;
  }
  let doc;
  try {
    doc = JSON.parse(r.text);
  } catch (e) {
    failures.push(`${r.model} schema ${r.schema} (${corpus[r.schema].name}) seed ${r.seed}: not JSON: ${r.text}`);
    continue;
  }
  if (!validators[r.schema](doc)) {
    failures.push(`${r.model} schema ${r.schema} (${corpus[r.schema].name}) seed ${r.seed}: ${r.text}: ` +
                  ajv.errorsText(validators[r.schema].errors));
  }
  ++s.validated;
}
for (const [model, s] of Object.entries(stats)) {
  console.log(`${model}: ${s.validated} outputs valid, ${s.cut} cut off by max_tokens`);
  if (s.cut > s.validated) failures.push(`${model}: most outputs (${s.cut}) were cut off`);
}
if (Object.keys(stats).length !== 3) failures.push(`outputs of ${Object.keys(stats).length} models, not 3`);
if (failures.length) {
  console.error(failures.join("\n"));
  process.exit(1);
}
console.log(`schema corpus: ${corpus.length} schemas, ${lines.length} generations, every finished output valid (ajv)`);
