"""tiny-r1 (examples/tiny-r1) through dseek, against the program that trained it.

- dseek renders the held-out questions with the R1 chat template exactly as the
  training data did, and its tokenization (qwen2 pre-tokenizer + BPE from the
  GGUF) of prompts and full replies equals the training tokenizer's (bpe.py,
  rebuilt from the merges stored in the GGUF);
- dseek's logits for a prompt equal the training model's (model.py, a PyTorch
  module, loaded from the shipped GGUF) within float32 rounding;
- heldout.tsv is what data.py generates, and no held-out question occurs in
  the training stream;
- the Python package finds the model (dseek.tiny_r1_path());
- MTP speculative decoding keeps the greedy output and accepts most drafts.

Needs DSEEK_LIBRARY (the built shared library) and PYTHONPATH with
bindings/python, as meson's test() sets them.
"""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "examples" / "tiny-r1"
sys.path.insert(0, str(TINY))
sys.path.insert(0, str(ROOT / "tests" / "reference"))

import bpe  # noqa: E402
import convert_deepseek2  # noqa: E402
import data  # noqa: E402
import gguf_read  # noqa: E402
import train  # noqa: E402
from model import TinyR1  # noqa: E402

import dseek  # noqa: E402

GGUF = TINY / "tiny-r1.gguf"
N_CHECK = 200


@pytest.fixture(scope="module")
def model():
    with dseek.Model(GGUF) as m:
        yield m


@pytest.fixture(scope="module")
def trainer_tokenizer():
    md = gguf_read.GGUFFile(str(GGUF)).metadata
    return bpe.Tokenizer([tuple(m.split(" ")) for m in md["tokenizer.ggml.merges"]])


@pytest.fixture(scope="module")
def heldout():
    return data.heldout(train.N_HELDOUT)


def test_heldout_file_is_the_generated_set(heldout):
    lines = (TINY / "heldout.tsv").read_text().splitlines()
    assert lines == [f"{q}\t{a}" for q, _, a in heldout]


def test_heldout_never_in_training_stream(heldout):
    questions = {q for q, _, _ in heldout}
    stream = data.training_stream(101, questions)
    seen = [next(stream)[0] for _ in range(20000)]
    assert not questions & set(seen)
    # the stream does produce questions of the held-out kinds (the filter is not vacuous)
    assert len({q.split()[0] for q in seen}) > 5


def test_chat_template_renders_like_training(model, heldout):
    for q, _, _ in heldout[:N_CHECK]:
        assert model.chat_prompt([("user", q)]) == train.prompt_text(q)


def test_tokenization_equals_trainer(model, trainer_tokenizer, heldout):
    tok = trainer_tokenizer
    assert model.n_vocab == tok.vocab_size
    for q, lines, ans in heldout[:N_CHECK]:
        prompt = train.prompt_text(q)
        assert model.tokenize(prompt, add_special=True) == tok.encode(prompt), q
        reply = data.reasoning_text(lines) + f"\n</think>\n\n\\boxed{{{ans}}}"
        assert model.tokenize(prompt + reply) == tok.encode(prompt + reply), q
    # the pieces dseek's thinking budget injects
    for text in ["\n</think>\n\n", "</think>\n\n"]:
        assert model.tokenize(text) == tok.encode(text)


def test_logits_equal_training_model(model, trainer_tokenizer, heldout):
    weights, config = convert_deepseek2.load_gguf(str(GGUF))
    torch_model = TinyR1(dict(config, rope_layout="gguf"))
    state = {k: torch.as_tensor(np.asarray(v, dtype=np.float32)) for k, v in weights.items()}
    torch_model.load_state_dict(state)
    torch_model.eval()
    q, lines, ans = heldout[3]
    ids = trainer_tokenizer.encode(train.prompt_text(q) + data.reasoning_text(lines[:4]))
    with torch.no_grad():
        expected, _ = torch_model(torch.tensor([ids]), mtp=False)
    with dseek.Context(model, n_ctx=256, n_threads=1, kv_type="f32") as ctx:
        got = np.asarray(ctx.eval(ids, all_logits=True))
    diff = np.abs(got - expected[0].numpy()).max()
    print(f"max |dseek - torch| = {diff:.2e}")
    assert diff < 1e-4 * max(1.0, float(np.abs(got).max())), diff


def test_python_package_finds_tiny_r1():
    assert Path(dseek.tiny_r1_path()).resolve() == GGUF.resolve()


def test_mtp_speculation_keeps_greedy_output(model, heldout):
    """The trained MTP layer drafts for speculative decoding: greedy output
    is unchanged and most drafts are accepted (measured 98-100% on this task)."""
    drafted = accepted = 0
    with dseek.Context(model, n_ctx=512, n_threads=1) as ctx:
        for q, _, ans in heldout[8:20]:
            prompt = train.prompt_text(q)
            plain = ctx.generate(prompt, max_tokens=300, temperature=0)
            spec = ctx.generate(prompt, max_tokens=300, temperature=0, use_mtp=True)
            assert (spec.reasoning, str(spec)) == (plain.reasoning, str(plain)), q
            drafted += spec.n_draft_tokens
            accepted += spec.n_draft_accepted
    print(f"MTP drafts accepted: {accepted} of {drafted}")
    assert drafted > 0 and accepted / drafted > 0.8


def test_confidence_in_results_and_parallel_options(model, heldout):
    """Per-token confidence (DeepConf, arXiv 2508.15260) reaches Python: the
    trace statistics agree with the per-token lists; generate_parallel's
    early_stop stops chains below the warm-up threshold, consensus starts
    fewer chains, and both are the same for 1 and 2 threads."""
    prompt = train.prompt_text(heldout[3][0])
    with dseek.Context(model, n_ctx=4096, n_threads=1) as ctx:
        g = ctx.generate(prompt, max_tokens=300, temperature=0)
        assert g.n_scored_tokens == g.n_generated_tokens == len(g.confidences) == len(g.logprobs) > 10
        assert g.mean_confidence == pytest.approx(float(np.mean(g.confidences)), rel=1e-5)
        assert g.sum_logprob == pytest.approx(float(np.sum(g.logprobs)), rel=1e-4, abs=1e-4)
        assert all(lp <= 0 for lp in g.logprobs)

        hot = dict(max_tokens=300, temperature=1.5, top_p=1.0, early_stop=100, warmup=2, confidence_window=8,
                   seeds=[1000 + i for i in range(8)])   # a case where hot chains wander below the warm-up
        s = ctx.generate_parallel(train.prompt_text("What is 47 * 36?"), 8, **hot)
        assert s.stop_threshold == pytest.approx(max(s[0].lowest_group_confidence, s[1].lowest_group_confidence))
        stopped = [x for x in s if x.stop_reason == "low_confidence"]
        assert stopped, [x.stop_reason for x in s]
        for x in stopped:   # the last full window is below the threshold
            assert np.mean(x.confidences[-8:]) < s.stop_threshold
        assert s.tokens_spent == sum(x.n_generated_tokens for x in s)
        answer, weight, share = s.vote_confidence()
        assert 0 < share <= 1 and weight > 0

        a = ctx.generate_parallel(prompt, 16, max_tokens=300, temperature=0, consensus=0.95, warmup=3)
        assert len(a) == 3 and a.vote_confidence()[2] == 1.0
    with dseek.Context(model, n_ctx=4096, n_threads=2) as ctx2:
        s2 = ctx2.generate_parallel(train.prompt_text("What is 47 * 36?"), 8, **hot)
        assert [(x.content, x.reasoning, x.stop_reason, x.confidences) for x in s2] == \
            [(x.content, x.reasoning, x.stop_reason, x.confidences) for x in s]
