"""PyTorch (CPU) as a benchmark peer: runs one case the way bench/worker.ts runs attnkit and prints
one WorkerResult JSON line. Optional: bench/run.ts uses it only when `python3 -c "import torch"`
works (Debian: apt-get install python3-torch). Usage:
    python3 bench/torch_peer.py '<BenchCase json>' <threads> <minSeconds>
"""

import json
import math
import resource
import sys
import time


def fill(n, seed):
    """bench/worker.ts's fill(): the same deterministic inputs in [-1, 1), bit for bit."""
    import numpy as np

    m = np.uint64(0xFFFFFFFF)
    s0 = (seed * 0x9E3779B1) & 0xFFFFFFFF
    s = (np.uint64(s0) + np.arange(1, n + 1, dtype=np.uint64) * np.uint64(0x6D2B79F5)) & m

    def imul(a, b):
        return (a * b) & m

    t = imul(s ^ (s >> np.uint64(15)), np.uint64(1) | s)
    t = (t ^ ((t + imul(t ^ (t >> np.uint64(7)), np.uint64(61) | t)) & m)) & m
    u = (t ^ (t >> np.uint64(14))) & m
    return (u.astype(np.float64) / 2.0**32 * 2 - 1).astype(np.float32)


def max_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_runner(torch, spec):
    kind = spec["kind"]
    if kind == "matmul":
        n = spec["n"]
        a = torch.from_numpy(fill(n * n, 1)).view(n, n)
        b = torch.from_numpy(fill(n * n, 2)).view(n, n)
        box = {}

        def run():
            with torch.no_grad():
                box["out"] = torch.mm(a, b)

        return run, lambda: box["out"]
    if kind == "attention":
        shape = (spec["b"], spec["h"], spec["l"], spec["d"])
        size = math.prod(shape)
        q, k, v = (torch.from_numpy(fill(size, seed)).view(shape) for seed in (1, 2, 3))
        scale = 1 / math.sqrt(spec["d"])
        box = {}

        # torch 1.13 has no fused scaled_dot_product_attention: the composite, as users wrote it
        def attend(q, k, v):
            return torch.softmax(torch.matmul(q, k.transpose(-2, -1)) * scale, dim=-1) @ v

        if not spec.get("backward"):

            def run():
                with torch.no_grad():
                    box["out"] = attend(q, k, v)

            return run, lambda: box["out"]
        q.requires_grad_(True)
        k.requires_grad_(True)
        v.requires_grad_(True)
        dy = torch.from_numpy(fill(size, 4)).view(shape)

        def run_bwd():
            q.grad = k.grad = v.grad = None
            attend(q, k, v).backward(dy)
            box["out"] = q.grad

        return run_bwd, lambda: box["out"]
    if kind == "encoder":
        return encoder_step(torch, spec)
    raise ValueError(f"torch peer: unknown case kind {kind}")


def encoder_step(torch, s):
    """bench/encoder.ts's step: embedding + sinusoidal positions → pre-norm encoder (ReLU,
    dropout 0.1) → final LayerNorm → vocabulary head, cross-entropy at every position, AdamW."""
    import numpy as np

    nn = torch.nn
    b, t, c, h, ff, vocab, layers = (s[key] for key in ("b", "t", "c", "h", "ff", "vocab", "layers"))
    torch.manual_seed(0)
    emb = nn.Embedding(vocab, c)
    layer = nn.TransformerEncoderLayer(c, h, ff, dropout=0.1, activation="relu", batch_first=True, norm_first=True)
    enc = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(c), enable_nested_tensor=False)
    head = nn.Linear(c, vocab)
    pos = torch.arange(t, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, c, 2, dtype=torch.float32) * (-math.log(10000.0) / c))
    pe = torch.zeros(t, c)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)
    params = [*emb.parameters(), *enc.parameters(), *head.parameters()]
    opt = torch.optim.AdamW(params, lr=1e-4)
    n = b * t
    ids = np.zeros(n, dtype=np.int64)
    x = 12345
    for i in range(n):  # bench/encoder.ts's tokens()
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
        ids[i] = x % vocab
    targets = torch.from_numpy((ids * 7 + 3) % vocab)
    ids_t = torch.from_numpy(ids).view(b, t)
    enc.train()
    box = {}

    def run():
        opt.zero_grad()
        hidden = enc(emb(ids_t) + pe)
        loss = torch.nn.functional.cross_entropy(head(hidden).reshape(n, vocab), targets)
        loss.backward()
        opt.step()
        box["out"] = loss.detach().reshape(1)

    return run, lambda: box["out"]


def main():
    case = json.loads(sys.argv[1])
    threads = int(sys.argv[2])
    min_seconds = float(sys.argv[3])
    warm_budget = float(sys.argv[4]) * 1000 if len(sys.argv) > 4 else 0.0
    import torch

    torch.set_num_threads(threads)
    note = f"torch {torch.__version__}, {threads} threads"
    rss_base = max_rss_mb()
    run, output = make_runner(torch, case["spec"])
    t0 = time.perf_counter()
    run()
    warmup_ms = (time.perf_counter() - t0) * 1000
    # more untimed runs for the warm-up budget (not after a minutes-long first run), as bench/worker.ts
    warm, warmup_runs = warmup_ms, 1
    while warm < warm_budget and warmup_ms <= 20_000:
        t0 = time.perf_counter()
        run()
        warm += (time.perf_counter() - t0) * 1000
        warmup_runs += 1
    times = []
    spent = 0.0
    while len(times) < 2 or (spent < min_seconds * 1000 and len(times) < 30):
        if warmup_ms > 20_000 and len(times) >= 1:
            break
        t0 = time.perf_counter()
        run()
        dt = (time.perf_counter() - t0) * 1000
        times.append(dt)
        spent += dt
    out = output().detach().double()
    times.sort()
    print(json.dumps({
        "ok": True,
        "ms": times[len(times) // 2],
        "reps": len(times),
        "warmupMs": warmup_ms,
        "warmupRuns": warmup_runs,
        "rssBaseMB": rss_base,
        "rssPeakMB": max_rss_mb(),
        "checksum": [float(out.sum()), float((out * out).sum())],
        "note": note,
    }))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # the bench reports the failure in its table
        print(json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}"}))
