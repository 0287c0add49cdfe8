"""dseek's "default" and "gpt-2" pre-tokenizers against the regexes llama.cpp
applies for those GGUF names (src/llama-vocab.cpp, llm_tokenizer_bpe: the
regex list per pre-tokenizer type), run with the `regex` module (Debian's
python3-regex), in llama.cpp's way: each regex splits every piece of the one
before, matches and the gaps between them both becoming pieces.

    python3 test_pretok_llamacpp.py DUMP_PRETOK TOKENIZER_DATA_DIR

DUMP_PRETOK prints dseek's pieces (tests/text/dump_pretok.c). The texts are
every input of the tokenizer fixtures plus seeded random strings over a pool
of the characters these regexes treat differently."""

import json
import os
import random
import shlex
import subprocess
import sys

import regex

# \s and \S as llama.cpp's whitespace flag (Unicode White_Space), which the
# `regex` module's \s is not quite (it adds U+001C..U+001F)
WS = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
GPT2 = (r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"
        .replace(r"[^\s", "[^" + WS).replace(r"\s+(?!\S)", "[" + WS + "]+(?![^" + WS + "])"))
REGEXES = {
    "gpt-2": [GPT2],
    "default": [r"[\p{P}\$\+<=>\^~\|]+", GPT2, r"\p{N}+", r"[0-9][0-9][0-9]"],
}


def split(pieces, pattern):
    out = []
    for p in pieces:
        pos = 0
        for m in pattern.finditer(p):
            if m.start() > pos:
                out.append(p[pos:m.start()])
            if m.end() > m.start():
                out.append(m.group())
            pos = m.end()
        if pos < len(p):
            out.append(p[pos:])
    return out


def reference(text, patterns):
    pieces = [text] if text else []
    for p in patterns:
        pieces = split(pieces, p)
    return pieces


def texts(data_dir):
    out = []
    for sub in ("deepseek_v3", "deepseek_r1_distill_qwen"):
        with open(os.path.join(data_dir, sub, "cases.jsonl"), encoding="utf-8") as f:
            out += [json.loads(line)["text"] for line in f if line.strip()]
    with open(os.path.join(data_dir, "llamacpp", "ggml-vocab-deepseek-llm.gguf.inp"), encoding="utf-8") as f:
        out += f.read().split("\n__ggml_vocab_test__\n")[:-1]
    pool = list("aZ's'S'T're'RE've'm'll'd 0123456789 \t\n\r  .,;:!?-_()[]{}\"'`$+<=>^~|#%&*/@\\") + [
        "\u00a0", "\u0085", "\u3000", "\u2003", "\u0663", "\u00b2", "\u2167", "\u00e9", "e\u0301", "\u4e2d", "\u3042",
        "\uac00", "\u0915\u093f", "\u00ab", "\u00bb", "\u2014", "\u2026", "\u00a7", "\u20ac", "\u00a9", "\U0001f600",
        "\u00bd", "\uff01", "\uff11"]
    rng = random.Random(2025)
    for _ in range(3000):
        out.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 24))))
    return out


def main():
    dump, data_dir = sys.argv[1], sys.argv[2]
    all_texts = texts(data_dir)
    failures = 0
    for name, regs in REGEXES.items():
        patterns = [regex.compile(r) for r in regs]
        stdin = "".join(t.encode("utf-8").hex() + "\n" for t in all_texts)
        wrapper = shlex.split(os.environ.get("MESON_EXE_WRAPPER", ""))   # cross builds: the emulator
        got = subprocess.run([*wrapper, dump, name], input=stdin, capture_output=True, text=True, check=True).stdout
        lines = got.split("\n")[:len(all_texts)]
        bad = 0
        for text, line in zip(all_texts, lines):
            ours = [bytes.fromhex(h).decode("utf-8") for h in line.split(" ")] if line else []
            want = reference(text, patterns)
            if ours != want:
                bad += 1
                if bad <= 5:
                    print(f"{name}: {text!r}\n  dseek     {ours!r}\n  llama.cpp {want!r}")
        print(f"{name}: {len(all_texts) - bad}/{len(all_texts)} texts split as llama.cpp's regexes")
        failures += bad
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
