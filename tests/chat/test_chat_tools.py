"""dseek's native chat rendering (lib/text/chat.c, chat_r1_0528.c) of tool
calls, tool outputs and ordinary turns against DeepSeek's own Jinja chat
templates (chat_template in tests/data/tokenizers/deepseek_{r1,v3}/
tokenizer_config.json, and DeepSeek-R1-0528-Qwen3-8B's and DeepSeek-V3-0324's
in tests/data/chat_templates/) rendered by Jinja2 (Debian's python3-jinja2) the
way Hugging Face transformers' apply_chat_template does: a sandboxed
environment with trim_blocks and lstrip_blocks, messages as dicts, bos_token.

    python3 test_chat_tools.py DUMP_CHAT TOKENIZER_DATA_DIR CHAT_TEMPLATE_DIR

DUMP_CHAT (tests/chat/dump_chat.c) renders a conversation with dseek."""

import json
import os
import shlex
import subprocess
import sys
import tempfile

from jinja2.sandbox import ImmutableSandboxedEnvironment


def call(name, args, type_="function"):
    return {"type": type_, "function": {"name": name, "arguments": json.dumps(args)}}


WEATHER = call("get_weather", {"city": "Paris", "unit": "celsius"})
TIME = call("get_time", {"zone": "Europe/Paris"})
SYSTEM = {"role": "system", "content": "You are a helpful assistant.\n\n## Tools\n### get_weather"}
ASK = {"role": "user", "content": "What is the weather in Paris, and the time?"}

CASES = {
    "one call, no output yet": ([SYSTEM, ASK, {"role": "assistant", "content": None, "tool_calls": [WEATHER]}], True),
    "two calls then outputs then answer": ([
        SYSTEM, ASK,
        {"role": "assistant", "content": None, "tool_calls": [WEATHER, TIME]},
        {"role": "tool", "content": "{\"temp\": 18}"},
        {"role": "tool", "content": "{\"time\": \"10:00\"}"},
        {"role": "assistant", "content": "It is 18 C at 10:00."},
        {"role": "user", "content": "Thanks!"},
    ], True),
    "output ends the prompt": ([ASK, {"role": "assistant", "content": None, "tool_calls": [WEATHER]},
                                {"role": "tool", "content": "sunny"}], True),
    "calls in two turns": ([
        ASK, {"role": "assistant", "content": None, "tool_calls": [WEATHER]},
        {"role": "tool", "content": "sunny"},
        {"role": "assistant", "content": "<think>done</think>Sunny."},
        {"role": "user", "content": "And the time?"},
        {"role": "assistant", "content": None, "tool_calls": [TIME]},
        {"role": "tool", "content": "10:00"},
    ], False),
    "plain chat with two systems": ([SYSTEM, {"role": "system", "content": "Be brief."}, ASK,
                                     {"role": "assistant", "content": "<think>hm</think>\n\nOK"},
                                     {"role": "user", "content": "Go on"}], True),
    "calls after content, reasoning dropped": ([
        {"role": "system", "content": "Be brief."}, ASK,
        {"role": "assistant", "content": "<think>need both</think>Checking.", "tool_calls": [WEATHER, TIME]},
        {"role": "tool", "content": "sunny"},
        {"role": "tool", "content": "10:00"},
        {"role": "assistant", "content": "<think>a</think>\n\nSunny at 10:00."},
    ], True),
    "user after outputs, then more calls": ([
        ASK, {"role": "assistant", "content": None, "tool_calls": [WEATHER]},
        {"role": "tool", "content": "sunny"},
        {"role": "user", "content": "And the time?"},
        {"role": "assistant", "content": None, "tool_calls": [TIME]},
        {"role": "tool", "content": "10:00"},
        {"role": "assistant", "content": "10:00."},
    ], True),
    "multi-turn, three systems, no generation prompt": ([
        SYSTEM, {"role": "system", "content": "Be brief."}, {"role": "system", "content": "Answer in French."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "<think>greet\n</think>\n\nSalut !"},
        {"role": "user", "content": "17 * 23?"},
        {"role": "assistant", "content": "<think>340 + 51</think><think>sure</think>391"},
        {"role": "user", "content": "Merci"},
    ], False),
    "ends after an answer": ([ASK, {"role": "assistant", "content": "<think>x</think>Paris."}], True),
    "unicode arguments": ([{"role": "user", "content": "東京?"},
                           {"role": "assistant", "content": None,
                            "tool_calls": [{"type": "function", "function": {
                                "name": "search", "arguments": "{\"q\": \"東京 \\\"tower\\\"\\n\"}"}}]}], True),
}


def token_text(t):
    return t["content"] if isinstance(t, dict) else (t or "")


def encode(messages, gen):
    fields = ["1" if gen else "0"]
    for m in messages:
        calls = m.get("tool_calls") or []
        fields += [m["role"], "0" if m["content"] is None else "1", m["content"] or "", str(len(calls))]
        for c in calls:
            fields += [c["type"], c["function"]["name"], c["function"]["arguments"]]
    return b"".join(f.encode() + b"\0" for f in fields)


def templates(data, chat_templates):
    """(name, template source, BOS text, whether the template reads a none content)"""
    for model in ("deepseek_r1", "deepseek_v3"):
        with open(os.path.join(data, model, "tokenizer_config.json"), encoding="utf-8") as f:
            config = json.load(f)
        yield model, config["chat_template"], token_text(config.get("bos_token")), True
    # R1-0528-Qwen3-8B shares R1-0528's tokenizer configuration (its model
    # card), so its BOS text is R1's. Its template tests '</think>' in the
    # content of every assistant message, which fails on a none content: the
    # Jinja side gets "" there (what clients mean), dseek gets none.
    with open(os.path.join(chat_templates, "deepseek-r1-0528-qwen3-8b.jinja"), encoding="utf-8", newline="") as f:
        yield "deepseek_r1_0528_qwen3_8b", f.read(), "<\uff5cbegin\u2581of\u2581sentence\uff5c>", False
    # DeepSeek-V3-0324's template reads message['content'] itself, so a none
    # content (an assistant message that only calls tools) goes to Jinja as
    # none. Its BOS text is V3's.
    with open(os.path.join(chat_templates, "deepseek-v3-0324.jinja"), encoding="utf-8", newline="") as f:
        yield "deepseek_v3_0324", f.read(), "<\uff5cbegin\u2581of\u2581sentence\uff5c>", True


def main():
    dump, data, chat_templates = sys.argv[1], sys.argv[2], sys.argv[3]
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    failed = checked = 0
    for model, source, bos, reads_none in templates(data, chat_templates):
        template = env.from_string(source)
        with tempfile.NamedTemporaryFile("w", suffix=".jinja", encoding="utf-8", newline="", delete=False) as tf:
            tf.write(source)
        with tempfile.NamedTemporaryFile("wb", suffix=".bos", delete=False) as bf:
            bf.write(bos.encode())   # a file: Windows passes arguments through the ANSI code page
        try:
            for name, (messages, gen) in CASES.items():
                jinja_msgs = messages if reads_none else [
                    {**m, "content": ""} if m["content"] is None else m for m in messages]
                want = template.render(messages=jinja_msgs, add_generation_prompt=gen, bos_token=bos)
                got = subprocess.run([*shlex.split(os.environ.get("MESON_EXE_WRAPPER", "")), dump, tf.name, bf.name],   # cross builds: the emulator
                                     input=encode(messages, gen),
                                     capture_output=True, check=False)
                checked += 1
                if got.returncode != 0 or got.stdout.decode() != want:
                    failed += 1
                    print(f"FAIL {model} / {name}: rc {got.returncode} {got.stderr.decode()}\n"
                          f"  jinja: {want!r}\n  dseek: {got.stdout.decode()!r}")
        finally:
            os.unlink(tf.name)
            os.unlink(bf.name)
    print(f"{checked - failed}/{checked} conversations render as DeepSeek's Jinja templates do")
    sys.exit(1 if failed else 0)


main()
