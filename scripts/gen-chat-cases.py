#!/usr/bin/env python3
"""Writes tests/data/chat_tools/: real chat templates rendered by Python's Jinja2 set up exactly as
transformers' apply_chat_template sets it up, for conversations with system prompts, tools, tool
calls, tool results and documents. tests/test_chat_tools.cpp renders the same cases with
slim::ChatTemplate and compares byte for byte (errors: the message must appear in slim's).

Run from the repository root, with Debian's python3-jinja2 (apt-get install -y python3-jinja2):

    python3 scripts/gen-chat-cases.py [SHARED_DIR]     # SHARED_DIR defaults to ../shared

The templates are read from SHARED_DIR (fixtures/chat/templates/*.jinja and the chat_template of
fixtures/tokenizers/*/tokenizer_config.json) and never copied: each cases file names its
template's path relative to SHARED_DIR. Identical templates share one cases file.
"""
import datetime
import hashlib
import json
import os
import sys

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "chat_tools")

# strftime_now's clock in every case; tests/test_chat_tools.cpp passes the same instant
# (ChatOptions::now, formatted in UTC).
NOW = datetime.datetime(2024, 9, 5, 14, 30, 0, tzinfo=datetime.timezone.utc)


# --- transformers' environment (utils/chat_template_utils.py, _compile_jinja_template) ---------
def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    # transformers replaces Jinja's tojson (which escapes HTML) by json.dumps with these defaults.
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(fmt):
    return NOW.strftime(fmt)


def environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def render(template, bos, eos, conversation, add_generation_prompt, variables):
    # apply_chat_template renders messages, tools and documents (None when not given),
    # add_generation_prompt, the special tokens, then the caller's keyword arguments.
    kwargs = {"bos_token": bos, "eos_token": eos}
    kwargs.update(variables)
    try:
        return {"expected": template.render(messages=conversation["messages"], tools=conversation.get("tools"),
                                            documents=conversation.get("documents"),
                                            add_generation_prompt=add_generation_prompt, **kwargs)}
    except Exception as e:  # raise_exception's TemplateError, or a TypeError / UndefinedError
        return {"error": str(e), "error_type": type(e).__name__}


# --- the conversations (keys deliberately not in sorted order) ----------------------------------
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_current_weather",
        "description": "Get the current weather in a given location, in °C or °F",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "The city and country, e.g. Paris, France"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"],
                         "description": "The temperature unit to use"},
            },
            "required": ["location"],
        },
    },
}
FLIGHTS = {
    "type": "function",
    "function": {
        "name": "search_flights",
        "description": "Search for flights between two airports",
        "parameters": {
            "type": "object",
            "properties": {
                "origin": {"type": "string", "description": "IATA code of the departure airport"},
                "destination": {"type": "string", "description": "IATA code of the arrival airport"},
                "passengers": {
                    "type": "object",
                    "description": "Who is travelling",
                    "properties": {
                        "adults": {"type": "integer", "minimum": 1, "description": "Number of adults"},
                        "children": {"type": "integer", "minimum": 0, "description": "Number of children"},
                    },
                    "required": ["adults"],
                },
                "max_price": {"type": "number", "minimum": 0.5, "description": "Highest fare in euros"},
                "airlines": {"type": "array", "items": {"type": "string"}, "description": "Preferred airlines"},
            },
            "required": ["origin", "destination", "passengers"],
        },
        "return": {"type": "object", "description": "The matching flights, cheapest first"},
    },
}
TOOLS = [WEATHER, FLIGHTS]

SYSTEM = {"role": "system", "content": "You are a helpful travel assistant."}
ASK_WEATHER = {"role": "user", "content": "What's the weather like in Paris right now?"}


def weather_call(call_id, args_as_string):
    args = {"unit": "celsius", "location": "Paris, France"}
    return {"id": call_id, "type": "function",
            "function": {"name": "get_current_weather",
                         "arguments": json.dumps(args, ensure_ascii=False) if args_as_string else args}}


def weather_result(call_id):
    return {"role": "tool", "tool_call_id": call_id, "name": "get_current_weather",
            "content": '{"temperature": 18.5, "condition": "Partly cloudy", "unit": "celsius"}'}


ANSWER = {"role": "assistant", "content": "It is 18.5 °C and partly cloudy in Paris."}

CONVERSATIONS = {
    "system_user": {"messages": [SYSTEM, {"role": "user", "content": "Hello! Who are you?"}]},
    "user_only": {"messages": [{"role": "user", "content": "Write a haiku about autumn."}]},
    "multi_turn": {"messages": [
        SYSTEM,
        {"role": "user", "content": "I want to visit Lisbon."},
        {"role": "assistant", "content": "Great choice! When are you planning to go?"},
        {"role": "user", "content": "In  May, for a week.\n"},
    ]},
    "tools_system_user": {"tools": TOOLS, "messages": [SYSTEM, ASK_WEATHER]},
    "tools_user": {"tools": TOOLS, "messages": [ASK_WEATHER]},
    # OpenAI form: content null beside tool_calls, arguments a dict (as transformers documents it).
    "tool_call_dict_args": {"tools": TOOLS, "messages": [
        SYSTEM, ASK_WEATHER,
        {"role": "assistant", "content": None, "tool_calls": [weather_call("Xa7Kq2Lm9", False)]},
        weather_result("Xa7Kq2Lm9"),
    ]},
    # arguments as the JSON string OpenAI clients send, an OpenAI-style id, then the final answer.
    "tool_call_string_args": {"tools": TOOLS, "messages": [
        ASK_WEATHER,
        {"role": "assistant", "content": "", "tool_calls": [weather_call("call_Xa7Kq2Lm9", True)]},
        weather_result("call_Xa7Kq2Lm9"),
        ANSWER,
        {"role": "user", "content": "Thanks! And tomorrow?"},
    ]},
    "parallel_tool_calls": {"tools": TOOLS, "messages": [
        SYSTEM,
        {"role": "user", "content": "Weather in Paris, and flights from CDG to LIS for 2 adults?"},
        {"role": "assistant", "content": "Let me check both.", "tool_calls": [
            weather_call("Xa7Kq2Lm9", False),
            {"id": "Pq3Rt5Vw8", "type": "function",
             "function": {"name": "search_flights",
                          "arguments": {"origin": "CDG", "destination": "LIS", "passengers": {"adults": 2},
                                        "max_price": 250.0}}},
        ]},
        weather_result("Xa7Kq2Lm9"),
        {"role": "tool", "tool_call_id": "Pq3Rt5Vw8", "name": "search_flights",
         "content": '[{"flight": "TP 433", "price": 129.9}]'},
        {"role": "assistant", "content": "Paris is 18.5 °C; TP 433 costs 129.90 €."},
    ]},
    "unicode": {"tools": [WEATHER], "messages": [
        {"role": "system", "content": "Réponds en français, s'il te plaît."},
        {"role": "user", "content": "Quel temps fait-il à Zürich ? 🌦️ \"vite\"\ttab\\back"},
    ]},
    # One flat tool (Command-R+'s schema printer cannot type a nested object).
    "flat_tool_call": {"tools": [WEATHER], "messages": [
        ASK_WEATHER,
        {"role": "assistant", "content": "I will look it up.", "tool_calls": [weather_call("Xa7Kq2Lm9", False)]},
        weather_result("Xa7Kq2Lm9"),
    ]},
    "roles_not_alternating": {"messages": [
        {"role": "user", "content": "First question."},
        {"role": "user", "content": "Second question."},
    ]},
    "documents": {"documents": [
        {"title": "Lisbon travel guide", "text": "Lisbon is hilly; trams 28 and 12 climb to the castle."},
        {"text": "Pastéis de nata cost about 1.50 € each.", "title": "Food prices"},
    ], "messages": [{"role": "user", "content": "What should I eat in Lisbon?"}]},
}

# Cases every template gets: (conversation, add_generation_prompt).
COMMON = [(name, True) for name in CONVERSATIONS if name not in ("documents", "flat_tool_call")] + [
    ("system_user", False), ("multi_turn", False), ("tool_call_dict_args", False), ("parallel_tool_calls", False)]

# Template variables some templates read (name fragment of the first source -> extra cases).
EXTRA = {
    "Llama-3.1": [("tools_user", True, {"tools_in_user_message": False}),
                  ("tools_system_user", True, {"builtin_tools": ["brave_search", "wolfram_alpha"]}),
                  ("system_user", True, {"date_string": "01 Jan 2025"})],
    "Llama-3.2": [("tools_user", True, {"tools_in_user_message": False}),
                  ("system_user", True, {"date_string": "01 Jan 2025"})],
    "command-r7b": [("documents", True, {}), ("documents", True, {"enable_citations": True}),
                    ("tools_user", True, {"enable_citations": True})],
    "command-r-plus": [("flat_tool_call", True, {}), ("flat_tool_call", False, {})],
    "tokenizers/qwen3": [("tool_call_string_args", True, {"enable_thinking": False})],
}


def firefunction_variables(conversation):
    # Firefunction v2's model card passes the tools as `functions` (JSON text) and the time as
    # `datetime`; its template reads no `tools`.
    return {"functions": json.dumps(conversation.get("tools") or [], ensure_ascii=False, indent=4),
            "datetime": NOW.strftime("%Y-%m-%d %H:%M:%S")}


def sources(shared):
    """(relative path, template text, bos, eos) of every template."""
    found = []
    tdir = os.path.join(shared, "fixtures", "chat", "templates")
    # The .jinja files carry no tokenizer config: the special tokens of each family.
    tokens = [("DeepSeek-R1-Distill", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
              ("Llama-3", "<|begin_of_text|>", "<|eot_id|>"), ("firefunction", "<|begin_of_text|>", "<|eot_id|>"),
              ("functionary", "<|begin_of_text|>", "<|eot_id|>"), ("Hermes", "<|begin_of_text|>", "<|im_end|>"),
              ("Qwen", "", "<|im_end|>"),
              ("deepseek-r1", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"), ("gemma", "<bos>", "<eos>"),
              ("Phi-3", "<s>", "<|endoftext|>"), ("Mistral", "<s>", "</s>"),
              ("command-r", "<BOS_TOKEN>", "<|END_OF_TURN_TOKEN|>")]
    for name in sorted(os.listdir(tdir)):
        if not name.endswith(".jinja"):
            continue
        bos, eos = next((b, e) for key, b, e in tokens if key in name)
        with open(os.path.join(tdir, name), encoding="utf-8") as f:
            found.append(("fixtures/chat/templates/" + name, f.read(), bos, eos))
    kdir = os.path.join(shared, "fixtures", "tokenizers")
    for name in sorted(os.listdir(kdir)):
        path = os.path.join(kdir, name, "tokenizer_config.json")
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
        source = config.get("chat_template")
        if not isinstance(source, str):
            continue  # gemma2, mistral, stories260K have none (slim falls back to a built-in)

        def token(field):
            v = config.get(field)
            return v.get("content", "") if isinstance(v, dict) else (v or "")
        found.append(("fixtures/tokenizers/" + name, source, token("bos_token"), token("eos_token")))
    return found


def main():
    shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared")
    env = environment()
    groups = {}  # identical (text, bos, eos) share a cases file
    for path, text, bos, eos in sources(shared):
        key = hashlib.sha256((text + "\0" + bos + "\0" + eos).encode()).hexdigest()
        groups.setdefault(key, {"sources": [], "text": text, "bos": bos, "eos": eos})["sources"].append(path)

    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):
        if old.endswith(".json"):
            os.remove(os.path.join(OUT, old))
    with open(os.path.join(OUT, "conversations.json"), "w", encoding="utf-8") as f:
        json.dump({"now_utc": NOW.isoformat(), "conversations": CONVERSATIONS}, f, ensure_ascii=False, indent=1)
        f.write("\n")

    total = 0
    for group in groups.values():
        template = env.from_string(group["text"])
        first = group["sources"][0]
        plan = [(c, agp, {}) for c, agp in COMMON]
        if "documents" in group["text"]:
            plan.append(("documents", True, {}))
        for fragment, extra in EXTRA.items():
            if any(fragment in s for s in group["sources"]):
                plan += [e for e in extra if e not in plan]
        cases = []
        for conversation, agp, variables in plan:
            if "firefunction" in first:
                variables = {**firefunction_variables(CONVERSATIONS[conversation]), **variables}
            case = {"conversation": conversation, "add_generation_prompt": agp}
            if variables:
                case["variables"] = variables
            case.update(render(template, group["bos"], group["eos"], CONVERSATIONS[conversation], agp, variables))
            cases.append(case)
        doc = {"oracle": "Python Jinja2 %s as transformers' apply_chat_template sets it up" % jinja2.__version__,
               "generator": "scripts/gen-chat-cases.py",
               "sources": group["sources"], "bos_token": group["bos"], "eos_token": group["eos"], "cases": cases}
        stem = first.replace("fixtures/chat/templates/", "").replace("fixtures/", "").replace("/", "-")
        stem = stem[:-len(".jinja")] if stem.endswith(".jinja") else stem
        with open(os.path.join(OUT, stem + ".json"), "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False, indent=1)
            f.write("\n")
        total += len(cases)
        errors = sum("error" in c for c in cases)
        print(f"{stem}: {len(cases)} cases ({errors} errors), sources {', '.join(group['sources'])}")
    print(f"{len(groups)} templates, {total} cases in {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    main()
