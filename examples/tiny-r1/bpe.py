"""tiny-r1 tokenizer: byte-level BPE (GGUF model "gpt2") trained on the task's text.

Pre-tokenizer: Qwen2's split regex (GGUF tokenizer.ggml.pre = "qwen2", which
dseek implements in lib/text/pretok.c and which splits numbers into single
digits, good for arithmetic):

    (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*
    |\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+

Debian's Python has no `regex` module (no \\p{..}); the task's text is ASCII,
where \\p{L} = [A-Za-z] and \\p{N} = [0-9], so the same regex is written with
those classes (encode() refuses non-ASCII text). Added tokens (R1's special
tokens) are split off first, as every byte-level BPE tokenizer does.

BPE (GPT-2): every piece becomes its bytes in GPT-2's printable byte alphabet;
the merge of highest priority (lowest rank) present in the piece is applied
everywhere in it, until none applies. Training adds, as the next merge, the
most frequent adjacent pair over the training pieces (ties: the
lexicographically smallest pair), Sennrich et al. 2016.
"""

import collections
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "reference"))
from tiny_tokenizer import TOKEN_CONTROL, TOKEN_NORMAL, TOKEN_USER_DEFINED, bytes_to_unicode  # noqa: E402

BOS, EOS = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"
USER, ASSISTANT, THINK, END_THINK = "<｜User｜>", "<｜Assistant｜>", "<think>", "</think>"
# (content, special): BOS/EOS are control tokens, the others user-defined
# (non-special) as in DeepSeek-R1's tokenizer.json
ADDED = [(BOS, True), (EOS, True), (USER, False), (ASSISTANT, False), (THINK, False), (END_THINK, False)]

QWEN2_ASCII = re.compile(
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\nA-Za-z0-9]?[A-Za-z]+|[0-9]| ?[^\sA-Za-z0-9]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+")
ADDED_SPLIT = re.compile("(" + "|".join(re.escape(c) for c, _ in ADDED) + ")")
BYTE_CHAR = bytes_to_unicode()


def pre_split(text):
    """Qwen2 pre-tokenizer pieces of ASCII text (no added tokens in it)."""
    if not text.isascii():
        raise ValueError("the tiny-r1 pre-tokenizer handles ASCII text only")
    return QWEN2_ASCII.findall(text)


def to_symbols(piece):
    return tuple(BYTE_CHAR[b] for b in piece.encode("utf-8"))


def merge_pair(symbols, pair, joined):
    out, i = [], 0
    while i < len(symbols):
        if i + 1 < len(symbols) and symbols[i] == pair[0] and symbols[i + 1] == pair[1]:
            out.append(joined)
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return tuple(out)


def train(texts, n_merges, min_count=2):
    """Merges learnt from the pieces of `texts` (list of (left, right))."""
    words = collections.Counter()
    for t in texts:
        for part in ADDED_SPLIT.split(t):
            if part and part not in dict(ADDED):
                words.update(to_symbols(p) for p in pre_split(part))
    words = dict(words)
    merges = []
    for _ in range(n_merges):
        pairs = collections.Counter()
        for w, c in words.items():
            for i in range(len(w) - 1):
                pairs[w[i], w[i + 1]] += c
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        if pairs[best] < min_count:
            break
        merges.append(best)
        joined = best[0] + best[1]
        words = {merge_pair(w, best, joined): c for w, c in words.items()}
    return merges


class Tokenizer:
    def __init__(self, merges):
        self.merges = [tuple(m) for m in merges]
        self.tokens = [BYTE_CHAR[b] for b in range(256)] + [a + b for a, b in self.merges]
        if len(set(self.tokens)) != len(self.tokens):
            raise ValueError("merges produce a duplicate token")
        self.n_base = len(self.tokens)
        self.tokens += [c for c, _ in ADDED]
        self.types = [TOKEN_NORMAL] * self.n_base + [TOKEN_CONTROL if s else TOKEN_USER_DEFINED for _, s in ADDED]
        self.id = {t: i for i, t in enumerate(self.tokens)}
        self.rank = {m: i for i, m in enumerate(self.merges)}
        self.cache = {}
        self.bos, self.eos = self.id[BOS], self.id[EOS]
        self.end_think = self.id[END_THINK]

    @property
    def vocab_size(self):
        return len(self.tokens)

    def bpe(self, piece):
        if piece in self.cache:
            return self.cache[piece]
        sym = to_symbols(piece)
        while len(sym) > 1:
            ranked = [(self.rank.get((sym[i], sym[i + 1]), 1 << 30), i) for i in range(len(sym) - 1)]
            r, _ = min(ranked)
            if r == 1 << 30:
                break
            pair = self.merges[r]
            sym = merge_pair(sym, pair, pair[0] + pair[1])
        ids = [self.id[s] for s in sym]
        self.cache[piece] = ids
        return ids

    def encode(self, text, add_bos=False):
        """Token ids of text; added tokens written in it are matched first."""
        ids = [self.bos] if add_bos else []
        for part in ADDED_SPLIT.split(text):
            if not part:
                continue
            if part in self.id and part in dict(ADDED):
                ids.append(self.id[part])
            else:
                for p in pre_split(part):
                    ids += self.bpe(p)
        return ids

    def decode(self, ids):
        inv = {c: b for b, c in BYTE_CHAR.items()}
        out = bytearray()
        for i in ids:
            t = self.tokens[i]
            out += t.encode("utf-8") if i >= self.n_base else bytes(inv[c] for c in t)
        return out.decode("utf-8", errors="replace")

    def gguf_metadata(self, writer, chat_template):
        import gguf_write as g
        writer.add_string("tokenizer.ggml.model", "gpt2")
        writer.add_string("tokenizer.ggml.pre", "qwen2")
        writer.add_array("tokenizer.ggml.tokens", g.STRING, self.tokens)
        writer.add_array("tokenizer.ggml.token_type", g.I32, self.types)
        writer.add_array("tokenizer.ggml.merges", g.STRING, [f"{a} {b}" for a, b in self.merges])
        writer.add_u32("tokenizer.ggml.bos_token_id", self.bos)
        writer.add_u32("tokenizer.ggml.eos_token_id", self.eos)
        # R1's files say True; tiny-r1 says False: it only ever sees chat turns,
        # whose rendered text starts with the BOS token's text already (a
        # tokenizer adding another would give the model a double BOS)
        writer.add_bool("tokenizer.ggml.add_bos_token", False)
        writer.add_bool("tokenizer.ggml.add_eos_token", False)
        writer.add_string("tokenizer.chat_template", chat_template)
