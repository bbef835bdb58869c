#!/usr/bin/python3
"""Golden values from PyTorch for attnkit's ops: inputs, outputs and gradients.

Run with Debian's system python3 and python3-torch (pinned: the version is written into the
fixture file):  /usr/bin/python3 scripts/torch_fixtures.py
Writes test/fixtures/torch_ops.json. Tests read the committed file, so CI needs no Python.
Every case computes in float32; gradients are of sum(out * u) for a seeded random cotangent u.
"""
import math

import torch
import torch.nn.functional as F
from torch_common import t2j, write_fixture

torch.manual_seed(0)
torch.set_num_threads(1)
cases = {}




def case(name, fn, inputs, extra=None, params=None):
    """inputs: dict name -> tensor (float ones get gradients); extra: non-differentiable inputs."""
    ins = {k: v.clone().requires_grad_(v.is_floating_point()) for k, v in inputs.items()}
    out = fn(**ins, **(extra or {}))
    u = torch.randn(out.shape)
    (out * u).sum().backward()
    cases[name] = {
        "params": params or {},
        "inputs": {k: t2j(v) for k, v in inputs.items()},
        "extra": {k: t2j(v) for k, v in (extra or {}).items()},
        "output": t2j(out),
        "cotangent": t2j(u),
        "grads": {k: t2j(v.grad) for k, v in ins.items() if v.grad is not None},
    }


r = torch.randn
case("matmul_batched_broadcast", lambda a, b: torch.matmul(a, b), {"a": r(2, 1, 3, 5), "b": r(4, 5, 6)})
case("matmul_vector_matrix", lambda a, b: torch.matmul(a, b), {"a": r(5), "b": r(3, 5, 4)})
case("linear", lambda x, w, b: F.linear(x, w, b), {"x": r(2, 3, 8), "w": r(5, 8), "b": r(5)})
case("softmax_dim1", lambda x: torch.softmax(x, 1), {"x": r(2, 5, 3) * 3})
case("log_softmax_last", lambda x: torch.log_softmax(x, -1), {"x": r(4, 7) * 3})
case("layer_norm", lambda x, w, b: F.layer_norm(x, (6,), w, b, 1e-5), {"x": r(3, 4, 6) * 2 + 1, "w": r(6), "b": r(6)})
case("layer_norm_2d_shape", lambda x, w, b: F.layer_norm(x, (3, 4), w, b, 1e-5), {"x": r(2, 3, 4), "w": r(3, 4), "b": r(3, 4)})
case("gelu_erf", lambda x: F.gelu(x), {"x": r(50) * 3})
case("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), {"x": r(50) * 3})
case("logsumexp", lambda x: torch.logsumexp(x, dim=(0, 2), keepdim=True), {"x": r(3, 4, 5) * 4})
target = torch.tensor([1, 4, 0, -100, 2, 4])
case("cross_entropy_smoothing", lambda x, target: F.cross_entropy(x, target, label_smoothing=0.1),
     {"x": r(6, 5) * 2}, {"target": target}, {"labelSmoothing": 0.1})
case("cross_entropy_weighted_smoothing", lambda x, w, target: F.cross_entropy(x, target, weight=w, label_smoothing=0.2),
     {"x": r(6, 5) * 2}, {"target": target, "w": torch.rand(5) + 0.5}, {"labelSmoothing": 0.2})
case("cross_entropy_nd", lambda x, target: F.cross_entropy(x, target, reduction="none"),
     {"x": r(2, 4, 3)}, {"target": torch.tensor([[0, 3, 1], [2, 2, -100]])}, {"reduction": "none"})
case("bce_with_logits", lambda x, y, pw: F.binary_cross_entropy_with_logits(x, y, pos_weight=pw),
     {"x": r(4, 3) * 5, "y": torch.rand(4, 3)}, {"pw": torch.rand(3) + 0.5})
case("mse", lambda x, y: F.mse_loss(x, y), {"x": r(3, 4), "y": r(3, 4)})
conv_params = {"stride": [2, 1], "padding": [1, 2], "dilation": [1, 2], "groups": 2}
case("conv2d", lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2),
     {"x": r(2, 4, 7, 6), "w": r(6, 2, 3, 3), "b": r(6)}, params=conv_params)
case("conv1d", lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=2, dilation=2, groups=3),
     {"x": r(2, 6, 11), "w": r(9, 2, 3), "b": r(9)}, params={"stride": 2, "padding": 2, "dilation": 2, "groups": 3})
case("max_pool2d", lambda x: F.max_pool2d(x, 3, stride=2, padding=1), {"x": r(2, 3, 7, 8)},
     params={"kernel": 3, "stride": 2, "padding": 1})
case("max_pool2d_dilated", lambda x: F.max_pool2d(x, (2, 3), stride=(1, 2), dilation=(2, 1)), {"x": r(1, 2, 6, 7)},
     params={"kernel": [2, 3], "stride": [1, 2], "dilation": [2, 1]})
case("avg_pool2d", lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False), {"x": r(2, 2, 7, 6)},
     params={"kernel": 3, "stride": 2, "padding": 1, "countIncludePad": False})
case("adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, (3, 4)), {"x": r(2, 2, 7, 9)}, params={"out": [3, 4]})
case("max_pool1d", lambda x: F.max_pool1d(x, 3, stride=2, padding=1), {"x": r(2, 3, 9)},
     params={"kernel": 3, "stride": 2, "padding": 1})


def relative_bias_attention(q, k, v, table, max_distance, causal):
    """softmax(q·kᵀ/√D + table[h, clamp(j − i, −M, M) + M], hidden future keys −∞)·v (T5 / Shaw, clipped)."""
    T, S = q.shape[-2], k.shape[-2]
    rel = torch.arange(S)[None, :] - torch.arange(T)[:, None]                      # [T, S]: j − i
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]) + table[:, rel.clamp(-max_distance, max_distance) + max_distance]
    if causal:
        scores = scores.masked_fill(torch.ones(T, S, dtype=torch.bool).triu(1), float("-inf"))
    return torch.softmax(scores, -1) @ v


# appended last: its draws come after every case above, which keep their values
case("attention_relative_bias", lambda q, k, v, table: relative_bias_attention(q, k, v, table, 3, False),
     {"q": r(2, 2, 6, 4), "k": r(2, 2, 9, 4), "v": r(2, 2, 9, 5), "table": r(2, 7)}, params={"maxDistance": 3})
case("attention_relative_bias_causal", lambda q, k, v, table: relative_bias_attention(q, k, v, table, 2, True),
     {"q": r(1, 3, 7, 4), "k": r(1, 3, 7, 4), "v": r(1, 3, 7, 4), "table": r(3, 5)}, params={"maxDistance": 2, "causal": True})



# NaN and ±∞ through the row reductions (test/ops/edge.test.ts): no random draws, so the cases above keep
# their values. JSON has no NaN or ±∞: they are written as the strings "NaN", "Infinity", "-Infinity".
def num(x):
    return x if x == x and abs(x) != float("inf") else ("NaN" if x != x else ("Infinity" if x > 0 else "-Infinity"))


def nums(t):
    return [num(float(v)) for v in t.detach().float().flatten().tolist()]


def wide(at, v):
    """37 wide (the special past the kernels' first vectors), finite elsewhere."""
    return [v if j == at else math.sin(j) for j in range(37)]


N, I = float("nan"), float("inf")
ce_rows = [[I, 1, 2], [N, 1, 2], wide(30, N), [-I, 1, 2]]
nonfinite = {
    "rows": [{"row": nums(x), "softmax": nums(torch.softmax(x, -1)), "log_softmax": nums(torch.log_softmax(x, -1)),
              "logsumexp": nums(torch.logsumexp(x, -1))}
             for x in (torch.tensor([row]) for row in [[N, 1, 2], [I, 1], [I, I, 1], [I, -I], [N, -I], [-I, 1], wide(30, N), wide(33, I)])],
    "cross_entropy": [{"row": nums(torch.tensor(row)), "target": t, "label_smoothing": ls,
                       "loss": nums(F.cross_entropy(torch.tensor([row]), torch.tensor([t]), label_smoothing=ls, reduction="none"))}
                      for row in ce_rows for t in (0, 1) for ls in (0.0, 0.1)],
    "layer_norm": [{"row": nums(torch.tensor(row)), "output": nums(F.layer_norm(torch.tensor(row), (3,)))} for row in [[N, 1, 2], [I, 1, 2], [-I, 1, 2]]],
    "amax": [{"row": nums(torch.tensor(row)), "output": nums(torch.amax(torch.tensor(row)))} for row in [[1, N, 2], [1, I, N]]],
    "max": [{"row": nums(torch.tensor(row)), "values": nums(m.values), "indices": m.indices.tolist()}
            for row in [[[1, N, 2]]] for m in [torch.max(torch.tensor(row), 1)]],
}
xg = torch.tensor([[N, 1, 2]], requires_grad=True)
F.cross_entropy(xg, torch.tensor([1])).backward()
nonfinite["cross_entropy_grad"] = {"row": nums(xg), "target": 1, "grad": nums(xg.grad)}

write_fixture("torch_ops.json", {"torch": torch.__version__, "seed": 0, "cases": cases, "nonfinite": nonfinite})
