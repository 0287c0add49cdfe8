"""The int8 activation scheme of quantized matrix products, as a second
expectation for the quantized tiny models.

llama.cpp-style CPU kernels do not multiply a quantized weight row with float
activations: they first round each activation row to 8-bit integers per block
of 32 values (ggml's block_q8_0 layout in ggml-common.h; dseek's README,
"Testing", and lib/kernels/vec.h document the same scheme for dseek above its
reference level), and then form exact integer dot products per block. For a
row x of K values (K % 32 == 0), block b = values 32 b .. 32 b + 31:

    d_b = max_j |x_j| / 127                  (d_b = 0: every q_j = 0)
    q_j = round_half_even(x_j / d_b)         (|q_j| <= 127, so int8)
    x~_j = d_b q_j                           the value the product sees

and  y_r = sum_j W_rj x~_j  with W the weight dequantized. This module
computes exactly that in float64: W as decoded from the file (quants.py),
x~ from the formula, the sum in float64. What a C implementation adds on top
is f32 arithmetic: d_b and 1 / d_b in f32, the block sums scaled and added in
f32, and an activation x that already differs from the float64 one by f32
rounding. The last can move x_j / d_b across a half-integer and change one
q_j by one step: the product then moves by d_b |W_rj|, a discrete event of
small probability per value (see TIE below; an exact half, which
round-half-even settles here, is such a near tie too, since the C
implementation's f32 x * (1 / d_b) need not be exactly half).

Which products round (the weight types with int8 kernels: Q8_0, Q4_0, Q5_0,
the K-quants and the IQ types; Q5_0's 5-bit values u - 16 times int8 q are
exact integers per block just as Q4_0's, so it takes the same rounded x~ at
every level above the reference; a type decoded to f32 first keeps float
activations, and so do F32/F16/BF16):
    every 2-D weight of those types stored in the GGUF and multiplied as stored;
    deepseek2's split attn_k_b / attn_v_b multiply q_nope and the attention's
    latent output (the absorbed MLA form, deepseek2.mla_absorbed), so those
    vectors are rounded; a fused attn_kv_b has to be split per head for the
    absorbed form, which decodes it to f32 at load: no rounding;
    embedding lookups only read a row: no rounding;
    the attention itself (q.k, p.v over the f32 cache) has no weight: none.
"""

import torch

import gguf_read

BLOCK = 32

# weight types whose products round their activations (ggml type ids,
# ggml.h: Q4_0 2, Q5_0 6, Q8_0 8, Q4_K 12, Q5_K 13, Q6_K 14, IQ2_XXS 16,
# IQ2_XS 17, IQ3_XXS 18, IQ1_S 19, IQ4_NL 20, IQ3_S 21, IQ2_S 22, IQ4_XS 23,
# IQ1_M 29)
INT8_TYPES = {2, 6, 8, 12, 13, 14}
IQ_TYPES = {16, 17, 18, 19, 20, 21, 22, 23, 29}


# Near ties: a C implementation's f32 activation can land on the other side
# of a rounding boundary where the exact x / d lies within TIE of a
# half-integer: |x / d| <= 127, so an x (or max |x|) off by 8e-7 relative,
# a few f32 roundings through the layers, moves x / d by up to 1e-4. A value
# lies that close with chance 2 TIE (x / d's fraction is about uniform): a
# few values per tiny-model run. One such flip moves the logits far beyond
# the 1e-4 rule, so the expectation comes with alternatives, one per near
# tie, each with that one q rounded the other way
# (make_tiny.write_int8_expected). Module state, set by the caller: ties
# collects (distance, row length K, column, x value) of every rounded value
# within TIE; flip = (K, column, x value), or a list of such, rounds that
# value (each of them) the other way wherever it is rounded. Two flips at
# once happen too: a kernel whose f32 sums run in another order (an
# interleaved weight layout, say) moves every later activation by a few
# ulps, enough to cross the closest two ties of a run, so the closest ties
# also come in pairs (make_tiny.write_int8_expected). A value is named by its column and value, not by
# its index in the rounded tensor: one activation row reaches products as
# tensors of different shapes (deepseek2's shared experts and router take
# all n_tokens rows, each routed expert only the one row hn[t:t+1]), and an
# implementation that rounds the row once hands every one of those products
# the same q, so the alternative must flip it in all of them.
TIE = 1e-4
ties = None
flip = None


def round_rows(x):
    """x [..., K] -> x~ (same shape, float64 math): each block of 32 values
    along the last dimension replaced by d_b * round_half_even(x / d_b),
    d_b = max |x| / 127 over the block (torch.round rounds half to even)."""
    K = x.shape[-1]
    if K % BLOCK:
        raise ValueError(f"row of {K} values is no multiple of {BLOCK}")
    xb = x.to(torch.float64).reshape(*x.shape[:-1], K // BLOCK, BLOCK)
    d = xb.abs().amax(dim=-1, keepdim=True) / 127.0
    r = torch.where(d > 0, xb / torch.where(d > 0, d, 1.0), torch.zeros_like(xb))
    q = torch.round(r)
    if ties is not None or flip is not None:
        rf, qf, xf = r.reshape(-1), q.reshape(-1), x.reshape(-1)
        if ties is not None:
            dist = ((rf - torch.floor(rf)) - 0.5).abs()
            for i in torch.nonzero(dist < TIE).flatten().tolist():
                ties.append((float(dist[i]), K, i % K, float(xf[i])))
        for fK, fcol, fx in [] if flip is None else flip if isinstance(flip, list) else [flip]:
            if fK != K:
                continue
            col = xf.reshape(-1, K)[:, fcol]
            for row in torch.nonzero(col == fx).flatten().tolist():
                i = row * K + fcol
                qf[i] = torch.floor(rf[i]) if qf[i] > rf[i] else torch.ceil(rf[i])
    return (q * d).reshape(x.shape).to(x.dtype)


def rounded_weights(path, iq=True):
    """The HF-style weight names (convert.load_gguf's) whose products round
    their activations in this GGUF, plus 'model.layers.N.self_attn.k_b' /
    '.v_b' for split attn_k_b / attn_v_b. iq=False: IQ weights keep float
    activations (levels without IQ kernels decode the rows to f32)."""
    import convert
    import convert_deepseek2

    f = gguf_read.GGUFFile(path)
    types = INT8_TYPES | (IQ_TYPES if iq else set())
    deepseek = f.metadata["general.architecture"] == "deepseek2"
    names = set()
    for gname, t in f.tensors.items():
        if t["type"] not in types or len(t["ne"]) < 2:
            continue
        if gname == "token_embd.weight":
            continue                                    # a lookup, not a product
        if not deepseek:
            names.add(convert.gguf_to_hf_name(gname))
            continue
        hit = [hf for hf, gg in convert_deepseek2.GLOBAL_NAMES if gg == gname]
        if hit:
            names.add(hit[0])
            continue
        n, rest = gname[len("blk."):].split(".", 1)
        p = f"model.layers.{n}."
        exp = [hf for hf, gg in convert_deepseek2.EXPERT_NAMES if gg == rest]
        if exp:
            names.update(p + f"mlp.experts.{e}.{exp[0]}.weight" for e in range(t["ne"][2]))
        elif rest in ("attn_k_b.weight", "attn_v_b.weight"):
            names.add(p + "self_attn." + rest[5:8])     # k_b / v_b
        elif rest != "attn_kv_b.weight":                # fused: decoded to f32 (above)
            names.add(p + {gg: hf for hf, gg in convert_deepseek2.LAYER_NAMES + convert_deepseek2.NEXTN_NAMES}[rest])
    return names
