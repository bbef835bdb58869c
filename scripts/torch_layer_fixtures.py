#!/usr/bin/python3
"""Golden values from PyTorch for attnkit's attention layers: weights in PyTorch's names,
inputs, masks, outputs, attention weights, and gradients of sum(out * u) for a seeded
random cotangent u with respect to the inputs and every parameter.

Run with Debian's system python3 and python3-torch:  /usr/bin/python3 scripts/torch_layer_fixtures.py
Writes test/fixtures/torch_layers.json. Tests read the committed file, so CI needs no Python.

Masks are written in attnkit's rule (true = may attend / real token); PyTorch's bool masks
mean the opposite, so they are inverted here before PyTorch sees them.
"""
import torch
import torch.nn as nn
from torch_common import t2j, write_fixture

torch.manual_seed(0)
torch.set_num_threads(1)
cases = {}




def randomize(module):
    """Non-trivial values everywhere (PyTorch zero-initialises biases and sets norms to 1/0)."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            is_norm_scale = "norm" in name and name.endswith("weight")
            p.copy_(torch.randn_like(p) * (0.2 if is_norm_scale else 0.3) + (1.0 if is_norm_scale else 0.0))


def record(name, module, inputs, call, options, masks=None):
    """inputs: dict of float tensors (get gradients); call(**inputs) -> (out, weights or None)."""
    module.train()  # dropout is 0 in every case; train mode keeps PyTorch off its inference fast path
    ins = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    out, weights = call(**ins)
    u = torch.randn(out.shape)
    (out * u).sum().backward()
    cases[name] = {
        "options": options,
        "state": {k: t2j(v) for k, v in module.state_dict().items()},
        "inputs": {k: t2j(v) for k, v in inputs.items()},
        "masks": {k: t2j(v) for k, v in (masks or {}).items()},
        "output": t2j(out),
        "weights": t2j(weights) if weights is not None else None,
        "cotangent": t2j(u),
        "grads": {k: t2j(v.grad) for k, v in ins.items()},
        "paramGrads": {k: t2j(p.grad) for k, p in module.named_parameters()},
    }


r = torch.randn

# --- nn.MultiheadAttention(batch_first=True) ---
# self-attention, key padding (attnkit keyMask: true = real token), averaged weights
mha = nn.MultiheadAttention(16, 4, batch_first=True)
randomize(mha)
x = r(2, 5, 16)
key_mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)
record("mha_self_keymask", mha, {"query": x},
       lambda query: mha(query, query, query, key_padding_mask=~key_mask, need_weights=True),
       {"embedDim": 16, "numHeads": 4}, {"keyMask": key_mask})

# cross-attention with kdim/vdim (separate q/k/v projection weights), no bias, bool attention mask, per-head weights
mha = nn.MultiheadAttention(12, 3, bias=False, kdim=8, vdim=10, batch_first=True)
randomize(mha)
attn_mask = torch.rand(4, 6) > 0.3
attn_mask[:, 0] = True  # every query keeps one key (PyTorch gives NaN for fully masked rows)
record("mha_cross_kvdim_boolmask_perhead", mha, {"query": r(2, 4, 12), "key": r(2, 6, 8), "value": r(2, 6, 10)},
       lambda query, key, value: mha(query, key, value, attn_mask=~attn_mask, need_weights=True, average_attn_weights=False),
       {"embedDim": 12, "numHeads": 3, "kDim": 8, "vDim": 10, "bias": False}, {"attnMask": attn_mask})

# additive float attention mask together with key padding
mha = nn.MultiheadAttention(8, 2, batch_first=True)
randomize(mha)
float_mask = r(3, 3)
key_mask = torch.tensor([[1, 1, 0], [1, 1, 1]], dtype=torch.bool)
record("mha_floatmask_keymask", mha, {"query": r(2, 3, 8), "key": r(2, 3, 8), "value": r(2, 3, 8)},
       lambda query, key, value: mha(query, key, value, attn_mask=float_mask, key_padding_mask=~key_mask, need_weights=True),
       {"embedDim": 8, "numHeads": 2}, {"attnMask": float_mask, "keyMask": key_mask})

# causal self-attention (attnkit: causal: true; PyTorch 1.13: an upper-triangular bool mask)
mha = nn.MultiheadAttention(8, 2, batch_first=True)
randomize(mha)
causal = torch.triu(torch.ones(6, 6, dtype=torch.bool), 1)
record("mha_causal", mha, {"query": r(2, 6, 8)},
       lambda query: mha(query, query, query, attn_mask=causal, need_weights=True),
       {"embedDim": 8, "numHeads": 2, "causal": True})

# --- nn.TransformerEncoderLayer / nn.TransformerEncoder (batch_first=True) ---
for norm_first, act in [(False, "relu"), (True, "gelu")]:
    layer = nn.TransformerEncoderLayer(16, 4, dim_feedforward=32, dropout=0.0, activation=act,
                                       batch_first=True, norm_first=norm_first)
    randomize(layer)
    key_mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]], dtype=torch.bool)
    record(f"encoder_layer_{'pre' if norm_first else 'post'}_{act}", layer, {"src": r(2, 5, 16)},
           lambda src: (layer(src, src_key_padding_mask=~key_mask), None),
           {"dModel": 16, "nhead": 4, "dimFeedforward": 32, "activation": act, "normFirst": norm_first},
           {"keyMask": key_mask})

layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True, norm_first=True)
enc = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(8), enable_nested_tensor=False)
randomize(enc)
record("encoder_stack_pre_norm", enc, {"src": r(2, 4, 8)},
       lambda src: (enc(src, mask=causal[:4, :4]), None),
       {"dModel": 8, "nhead": 2, "dimFeedforward": 16, "activation": "relu", "normFirst": True, "numLayers": 2,
        "finalNorm": True, "causal": True})

# --- nn.TransformerDecoderLayer / nn.TransformerDecoder ---
layer = nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True)
randomize(layer)
memory_mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)
record("decoder_layer_post_relu", layer, {"tgt": r(2, 4, 8), "memory": r(2, 5, 8)},
       lambda tgt, memory: (layer(tgt, memory, tgt_mask=causal[:4, :4], memory_key_padding_mask=~memory_mask), None),
       {"dModel": 8, "nhead": 2, "dimFeedforward": 16, "activation": "relu", "normFirst": False},
       {"memoryKeyMask": memory_mask})

layer = nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.0, activation="gelu", batch_first=True, norm_first=True)
dec = nn.TransformerDecoder(layer, 2, norm=nn.LayerNorm(8))
randomize(dec)
record("decoder_stack_pre_gelu", dec, {"tgt": r(2, 3, 8), "memory": r(2, 5, 8)},
       lambda tgt, memory: (dec(tgt, memory, tgt_mask=causal[:3, :3]), None),
       {"dModel": 8, "nhead": 2, "dimFeedforward": 16, "activation": "gelu", "normFirst": True, "numLayers": 2,
        "finalNorm": True})

# --- nn.GRU(batch_first=True): bidirectional, 2 layers; and packed (ragged) sequences ---
gru = nn.GRU(5, 4, num_layers=2, bidirectional=True, batch_first=True)
randomize(gru)
record("gru_bidirectional_2layer", gru, {"x": r(2, 6, 5)}, lambda x: (gru(x)[0], None),
       {"inputSize": 5, "hiddenSize": 4, "numLayers": 2, "bidirectional": True})

gru1 = nn.GRU(5, 4, bidirectional=True, batch_first=True)
randomize(gru1)
lengths = torch.tensor([6, 3])
steps = torch.arange(6)[None, :] < lengths[:, None]


def packed_gru(x):
    p = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, _ = gru1(p)
    out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=6)
    return out, None


record("gru_bidirectional_packed", gru1, {"x": r(2, 6, 5)}, packed_gru,
       {"inputSize": 5, "hiddenSize": 4, "numLayers": 1, "bidirectional": True}, {"mask": steps})

write_fixture("torch_layers.json", {"torch": torch.__version__, "cases": cases})
