#!/usr/bin/python3
"""Train tiny-r1 (supervised, with the MTP loss) and export it to GGUF.

    /usr/bin/python3 examples/tiny-r1/train.py [--steps N] [--out DIR]

Deterministic: fixed seeds, torch.set_num_threads(--threads, default 2),
data generated in a fixed order (the shipped model: --threads 1, see README). Writes DIR/tiny-r1.gguf (f32: 11 MB, and dseek runs f32 the
fastest at this size),
DIR/heldout.tsv (question TAB answer, the problems never trained on),
checkpoints DIR/work/ckpt.pt every --ckpt-every steps (--resume continues one)
and a log of losses.

Each training example is one chat turn rendered with DeepSeek-R1's template,
"<｜begin▁of▁sentence｜><｜User｜>{question}<｜Assistant｜><think>\\n", followed by
one of three replies:
  full (80%):      working "\\n</think>\\n\\n\\boxed{N}" EOS
  truncated (12%): the first k working tokens, "\\n</think>\\n\\n\\boxed{N}" EOS
  no thinking (8%): "</think>\\n\\n\\boxed{N}" EOS
The truncated and no-thinking replies are what dseek's thinking budget
produces (max_thinking_tokens injects "\\n</think>\\n\\n", or "</think>\\n\\n" at
budget 0): the model learns to answer from an unfinished working, and the
injected tokens carry no loss, so it never learns to close its thinking early.
Only reply tokens carry loss (main: next token; MTP: the token after it).
"""

import argparse
import math
import os
import random
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bpe  # noqa: E402
import data  # noqa: E402
import export  # noqa: E402
from model import CONFIG, TinyR1  # noqa: E402

N_HELDOUT = 500
MTP_LAMBDA = 0.3          # DeepSeek-V3 paper: 0.3 for the first 10T tokens
BIAS_GAMMA = 0.002        # bias update speed of the auxiliary-loss-free balancing
MAX_LEN = 256


def prompt_text(question):
    return f"{bpe.BOS}{bpe.USER}{question}{bpe.ASSISTANT}{bpe.THINK}\n"


def encode_example(tok, q, lines, ans, rng):
    """(token ids, loss mask) of one rendered turn with a full, truncated or
    empty working (see the module comment)."""
    prompt = tok.encode(prompt_text(q))
    work = tok.encode(data.reasoning_text(lines) + "\n")
    answer = tok.encode(f"\\boxed{{{ans}}}") + [tok.eos]
    close_nl = tok.encode("\n\n")
    r = rng.random()
    if r < 0.80:
        reply = work + [tok.end_think] + close_nl + answer
        mask = [1] * len(reply)
    elif r < 0.92:
        k = rng.randint(1, len(work) - 1)
        injected = tok.encode("\n") + [tok.end_think] + close_nl
        reply = work[:k] + injected + answer
        mask = [1] * k + [0] * len(injected) + [1] * len(answer)
    else:
        injected = [tok.end_think] + close_nl
        reply = injected + answer
        mask = [0] * len(injected) + [1] * len(answer)
    return prompt + reply, [0] * len(prompt) + mask


def make_batch(tok, examples, rng):
    seqs = [encode_example(tok, *ex, rng) for ex in examples]
    T = min(MAX_LEN, max(len(s) for s, _ in seqs))
    ids = torch.full((len(seqs), T), tok.eos, dtype=torch.long)
    mask = torch.zeros((len(seqs), T), dtype=torch.bool)
    for i, (s, m) in enumerate(seqs):
        s, m = s[:T], m[:T]
        ids[i, :len(s)] = torch.tensor(s)
        mask[i, :len(m)] = torch.tensor(m, dtype=torch.bool)
    return ids, mask


def batch_stream(stream, batch, rng, pool=8):
    """Batches of similar length (less padding): draw pool x batch problems,
    sort them by the length of their text, cut, and shuffle the batches."""
    while True:
        group = [next(stream) for _ in range(batch * pool)]
        group.sort(key=lambda ex: len(ex[0]) + sum(len(line) + 1 for line in ex[1]))
        batches = [group[i * batch:(i + 1) * batch] for i in range(pool)]
        rng.shuffle(batches)
        yield from batches


def use_openblas():
    """Debian's torch calls the BLAS behind libblas.so.3, the slow reference
    one unless OpenBLAS is installed; if an OpenBLAS copy is found
    (TINY_R1_BLAS_DIR, or Debian's libopenblas0-pthread directory), re-run
    this program with it first on the library path (about 15x faster matmuls)."""
    for d in (os.environ.get("TINY_R1_BLAS_DIR"), "/usr/lib/x86_64-linux-gnu/openblas-pthread"):
        if d and (Path(d) / "libblas.so.3").exists():
            if d not in os.environ.get("LD_LIBRARY_PATH", "").split(":"):
                env = dict(os.environ, LD_LIBRARY_PATH=d + ":" + os.environ.get("LD_LIBRARY_PATH", ""))
                env.setdefault("OPENBLAS_NUM_THREADS", "1")
                os.execve(sys.executable, [sys.executable] + sys.argv, env)
            return


def losses(model, ids, mask):
    """(main CE over reply tokens, MTP CE over reply tokens two ahead, moe valid masks)."""
    logits, mtp_logits = model(ids)
    tgt, m1 = ids[:, 1:], mask[:, 1:]
    main = F.cross_entropy(logits[:, :-1][m1], tgt[m1])
    tgt2, m2 = ids[:, 2:], mask[:, 2:]
    mtp = F.cross_entropy(mtp_logits[:, :-1][m2], tgt2[m2])
    return main, mtp


def update_bias(model, valid_main, valid_mtp):
    """Auxiliary-loss-free balancing: b_e += gamma * sign(mean load - load_e)
    over the real (non-padding) tokens of the batch."""
    layers = model.moe_layers()
    for i, moe in enumerate(layers):
        valid = valid_mtp if i == len(layers) - 1 else valid_main
        idx = moe.last_idx[valid.reshape(-1)]
        load = torch.bincount(idx.reshape(-1), minlength=moe.gate.e_score_correction_bias.numel()).float()
        moe.gate.e_score_correction_bias += BIAS_GAMMA * torch.sign(load.mean() - load)


def lr_at(step, steps, peak, warmup):
    if step < warmup:
        return peak * (step + 1) / warmup
    t = (step - warmup) / max(1, steps - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=1100)
    ap.add_argument("--batch", type=int, default=48)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--warmup", type=int, default=60)
    ap.add_argument("--out", default=str(HERE))
    ap.add_argument("--ckpt-every", type=int, default=200)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--threads", type=int, default=2,
                    help="torch threads (1 is faster on a machine shared with other jobs)")
    ap.add_argument("--export-only", action="store_true", help="export the checkpoint and stop")
    args = ap.parse_args()

    use_openblas()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    out = Path(args.out)
    work = out / "work"
    work.mkdir(parents=True, exist_ok=True)
    log = open(work / "train.log", "a")

    def say(msg):
        print(msg, flush=True)
        log.write(msg + "\n")
        log.flush()

    held = data.heldout(N_HELDOUT)
    exclude = {q for q, _, _ in held}
    with open(out / "heldout.tsv", "w") as f:
        for q, _, ans in held:
            f.write(f"{q}\t{ans}\n")

    # the tokenizer, learnt on rendered training turns
    stream = data.training_stream(101, exclude)
    texts = []
    for _ in range(4000):
        q, lines, ans = next(stream)
        texts.append(prompt_text(q) + data.reasoning_text(lines) + f"\n</think>\n\n\\boxed{{{ans}}}{bpe.EOS}")
    tok = bpe.Tokenizer(bpe.train(texts, 300))
    config = dict(CONFIG, vocab_size=tok.vocab_size)

    model = TinyR1(config)
    n_params = sum(p.numel() for p in model.parameters())
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    step = 0
    ckpt = work / "ckpt.pt"
    if args.resume or args.export_only:
        state = torch.load(ckpt)
        if state["merges"] != [list(m) for m in tok.merges]:
            raise SystemExit("checkpoint tokenizer differs from this program's")
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step = state["step"]
        say(f"resumed at step {step}")

    def save_and_export(tag):
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                    "merges": [list(m) for m in tok.merges]}, ckpt)
        w = model.hf_weights()
        export.write_gguf(out / "tiny-r1.gguf", w, config, tok, "f32")
        say(f"{tag}: step {step}, exported {out / 'tiny-r1.gguf'} "
            f"({os.path.getsize(out / 'tiny-r1.gguf')} bytes)")

    if args.export_only:
        save_and_export("export")
        return

    say(f"tiny-r1: {n_params} parameters, vocab {tok.vocab_size} ({len(tok.merges)} merges), "
        f"{args.steps} steps x {args.batch}")
    # held-out validation batch (full workings only)
    vrng = random.Random(5)
    val_ids, val_mask = make_batch(tok, held[:96], vrng)

    # the training stream, replayed to the current step on resume
    rng = random.Random(11)
    batches = batch_stream(stream, args.batch, random.Random(12))
    for _ in range(step):
        batch = next(batches)
        make_batch(tok, batch, rng)
    t0 = time.time()
    n_tok = 0
    model.train()
    while step < args.steps:
        ids, mask = make_batch(tok, next(batches), rng)
        for gr in opt.param_groups:
            gr["lr"] = lr_at(step, args.steps, args.lr, args.warmup)
        main_loss, mtp_loss = losses(model, ids, mask)
        loss = main_loss + MTP_LAMBDA * mtp_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        # real tokens: all but the padding (EOS after the turn's own EOS)
        valid = torch.ones_like(ids, dtype=torch.bool)
        valid[:, 1:] &= ~((ids[:, 1:] == tok.eos) & (ids[:, :-1] == tok.eos))
        with torch.no_grad():
            update_bias(model, valid, valid[:, :-1])
        step += 1
        n_tok += ids.numel()
        if step % 25 == 0 or step == 1:
            dt = time.time() - t0
            say(f"step {step} loss {main_loss.item():.4f} mtp {mtp_loss.item():.4f} "
                f"lr {opt.param_groups[0]['lr']:.2e} {n_tok / dt:.0f} tok/s {dt:.0f}s")
        if step % args.ckpt_every == 0 or step == args.steps:
            model.eval()
            with torch.no_grad():
                vm, vt = losses(model, val_ids, val_mask)
            model.train()
            say(f"held-out loss {vm.item():.4f} mtp {vt.item():.4f}")
            save_and_export("checkpoint")
    say(f"done: {step} steps in {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
