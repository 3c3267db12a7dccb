#!/usr/bin/env python3
"""slim-server through HTTP, on the work the server issue (#20) compares with llama-server.

Random weights of a config's shape (slim-quantize --config), the tokenizer copied from a folder
beside them at run time, token-id prompts (so tokenizers do not matter), greedy:
  cold      a 1,968-token prompt, 1 token generated (prompt processing through HTTP)
  +10       the same prompt and 10 more tokens (what prompt reuse saves: an editor's keystroke)
  1 stream  64 tokens streamed after a short prompt: decode tokens/s from first to last token
  N streams N such streams at once: all tokens after the last stream's first, over that time

Usage: benchmarks/bench_server.py --config ../shared/configs/Qwen2.5-0.5B.json \
         --tokenizer ../shared/fixtures/tokenizers/qwen2_5 [--weights q4_0] [--threads 2] [--parallel 8] [--kv-type f16]
Python's standard library only; prints a Markdown table and, with --json, one JSON object.
"""
import argparse
import http.client
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time


def post(port, path, body, stream=False):
    """POSTs JSON; returns the parsed answer, or for a stream the arrival time of each token chunk."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    resp = conn.getresponse()
    if resp.status != 200:
        raise RuntimeError(f"{path}: HTTP {resp.status}: {resp.read()[:300]!r}")
    if not stream:
        answer = json.loads(resp.read())
        conn.close()
        return answer
    times = []
    for line in resp:
        line = line.strip()
        if not line.startswith(b"data: ") or line == b"data: [DONE]":
            continue
        chunk = json.loads(line[6:])
        if chunk.get("choices"):
            times.append(time.perf_counter())
    conn.close()
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--tokenizer", required=True, help="folder with tokenizer.json (and tokenizer_config.json)")
    ap.add_argument("--weights", default="q4_0")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--parallel", type=int, default=8)
    ap.add_argument("--kv-type", default="f32", choices=["f32", "f16"], help="what the slots' KV caches hold")
    ap.add_argument("--prompt-tokens", type=int, default=1968)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--build", default="build/examples")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="slim-bench-server-")
    server = None
    try:
        model = os.path.join(work, "model")
        subprocess.run([f"{args.build}/slim-quantize", "--config", args.config, "--weights", args.weights,
                        "--out", model], check=True, stdout=subprocess.DEVNULL)
        for name in ("tokenizer.json", "tokenizer_config.json"):
            src = os.path.join(args.tokenizer, name)
            if os.path.exists(src):
                shutil.copy(src, model)
        context = args.prompt_tokens + 64
        server = subprocess.Popen([f"{args.build}/slim-server", "--model", model, "--port", "0", "--threads",
                                   str(args.threads), "--parallel", str(args.parallel), "--context", str(context),
                                   "--kv-type", args.kv_type],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        port = int(server.stdout.readline().strip().rsplit(":", 1)[1])  # "listening on http://HOST:PORT"
        while True:  # the model loads in the background; /health answers 503 until it is ready
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("GET", "/health")
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                break
            time.sleep(0.2)
        vocab = json.load(open(args.config)).get("vocab_size", 32000)
        rng = random.Random(1)
        ids = lambda n: [rng.randrange(1000, min(vocab, 30000)) for _ in range(n)]
        greedy = {"temperature": 0, "ignore_eos": True}

        prompt = ids(args.prompt_tokens)
        start = time.perf_counter()
        post(port, "/v1/completions", {"prompt": prompt, "max_tokens": 1, **greedy})
        cold = time.perf_counter() - start
        start = time.perf_counter()
        answer = post(port, "/v1/completions", {"prompt": prompt + ids(10), "max_tokens": 1, **greedy})
        plus10 = time.perf_counter() - start
        cached = answer["usage"].get("prompt_tokens_details", {}).get("cached_tokens")

        def stream(out, i):
            out[i] = post(port, "/v1/completions",
                          {"prompt": ids(16), "max_tokens": args.tokens, "stream": True, **greedy}, stream=True)

        one = [None]
        stream(one, 0)
        t = one[0]
        one_rate = (len(t) - 1) / (t[-1] - t[0])

        many = [None] * args.parallel
        threads = [threading.Thread(target=stream, args=(many, i)) for i in range(args.parallel)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        begin = max(t[0] for t in many)
        end = max(t[-1] for t in many)
        after = sum(sum(1 for x in t if x > begin) for t in many)
        many_rate = after / (end - begin)

        shape = os.path.splitext(os.path.basename(args.config))[0]
        rows = [("cold prompt (s)", f"{args.prompt_tokens} tokens", f"{cold:.3f}"),
                ("+10 tokens (s)", f"{cached} cached", f"{plus10:.3f}"),
                ("1 stream (tokens/s)", f"{args.tokens} tokens", f"{one_rate:.1f}"),
                (f"{args.parallel} streams (tokens/s, aggregate)", f"{args.tokens} tokens each", f"{many_rate:.1f}")]
        print(f"| {shape} {args.weights}, {args.threads} threads, --parallel {args.parallel}, KV {args.kv_type} | work | slim-server |")
        print("| --- | --- | ---: |")
        for r in rows:
            print(f"| {r[0]} | {r[1]} | {r[2]} |")
        if args.json:
            print(json.dumps({"shape": shape, "weights": args.weights, "threads": args.threads,
                              "parallel": args.parallel, "kv_type": args.kv_type, "cold_s": cold, "plus10_s": plus10,
                              "cached_tokens": cached, "one_stream_tps": one_rate, "streams_tps": many_rate}))
    finally:
        if server:
            server.terminate()
            server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
