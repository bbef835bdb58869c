/** train.py of an exported PyTorch project: DDP training over `attnkit encode`'s shards, as attnkit's Trainer trains. */
export const TRAIN_PY = String.raw`"""Trains the exported attnkit model with PyTorch, on one process or many (DistributedDataParallel).

    python3 train.py --data train.safetensors
    torchrun --nproc_per_node 4 train.py --data 'train-*.safetensors' --valid valid.safetensors --out ckpt

Everything the attnkit run chose is in train_config.json (optimiser, learning rate and schedule,
weight decay and the parameters exempt from it, gradient clipping and accumulation, loss per
target with class weights and label smoothing, epochs, batch size, seed); flags override a few.
The batches are the same global batches whatever the number of processes: each epoch shuffles
every row of --data (the shards in name order, one index space) with the seed, cuts batches of
--batch-size, and rank r takes rows r, r + W, … of each batch (DistributedSampler's split). Each
rank's loss is its rows' share of the global batch's loss, so the averaged DDP gradient is the
gradient of the whole batch: N processes give the weights 1 process gives (up to float rounding).
Rank 0 prints one JSON line per epoch and writes <out>/last.safetensors every epoch and
<out>/model.safetensors (the best epoch by validation loss, else the last), atomically. With
"ema" in train_config.json the weights' moving average is what validation sees and what
model.safetensors holds; last.safetensors holds the weights as trained.
Backend: nccl when CUDA is available, else gloo.
"""
import argparse
import glob
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from model import Model, TARGETS  # noqa: E402
from safetensors_io import load_file, open_arrays, save_file  # noqa: E402


class EncodedRows:
    """The rows of one or more encoded files as one index space (memory-mapped: ranks read only their rows)."""

    def __init__(self, patterns):
        paths = []
        for p in patterns:
            found = sorted(glob.glob(p))
            if not found:
                raise SystemExit(f"train.py: no file matches {p!r}")
            paths += found
        self.paths, self.parts, self.starts, n = paths, [], [], 0
        for p in paths:
            arrays, _ = open_arrays(p)
            rows = {len(a) for a in arrays.values()}
            if len(rows) != 1:
                raise SystemExit(f"train.py: {p}: tensors with different row counts {sorted(rows)}")
            self.parts.append(arrays)
            self.starts.append(n)
            n += rows.pop()
        self.size = n
        names = [set(a) for a in self.parts]
        if any(s != names[0] for s in names):
            raise SystemExit(f"train.py: the files {paths} hold different tensors")
        self.names = sorted(names[0])

    def batch(self, rows, device):
        """Rows (global indices) as {name: tensor}; bool masks stay bool, ids int32."""
        rows = np.asarray(rows, dtype=np.int64)
        which = np.searchsorted(np.asarray(self.starts), rows, side="right") - 1
        out = {}
        for name in self.names:
            pieces = [np.asarray(self.parts[w][name][rows[which == w] - self.starts[w]]) for w in np.unique(which)]
            # put rows back in the asked order
            order = np.concatenate([np.nonzero(which == w)[0] for w in np.unique(which)])
            joined = np.concatenate(pieces)[np.argsort(order, kind="stable")]
            out[name] = torch.from_numpy(np.ascontiguousarray(joined)).to(device)
        return out


def lr_factor(schedule, step, total, steps_per_epoch, plateau):
    """attnkit's schedules (src/train/schedules.ts), as a factor on the base lr at optimiser step 'step'."""
    kind = schedule["type"]
    if kind == "step":
        return schedule.get("gamma", 0.1) ** math.floor(step / steps_per_epoch / schedule["everyEpochs"])
    if kind == "plateau":
        return plateau["factor"]
    warm = math.floor(schedule.get("warmup", 0 if kind == "constant" else 0.05) * total + 0.5)   # Math.round: halves up
    if step < warm:
        return (step + 1) / warm
    if kind == "constant":
        return 1.0
    t = min(1.0, (step - warm) / max(1, total - warm))
    low = schedule.get("minFactor", 0)
    return low + (1 - low) * (0.5 * (1 + math.cos(math.pi * t)) if kind == "cosine" else 1 - t)


def loss_terms(cfg, outputs, batch):
    """Per target: (weight, per-row loss numerators [B], per-row denominators [B]) — the loss is Σ num / Σ den."""
    terms = []
    for t in cfg["targets"]:
        y, target = outputs[t["name"]], batch["targets." + t["name"]]
        if t["task"] == "binary":
            target = target.float()
            num = F.binary_cross_entropy_with_logits(y, target, reduction="none")
            if t.get("classWeights"):
                w0, w1 = t["classWeights"]
                num = num * (w0 + (w1 - w0) * target)
            den = torch.ones_like(num)
        elif t["task"] == "multiclass":
            target = target.long()
            w = torch.tensor(t["classWeights"], dtype=y.dtype, device=y.device) if t.get("classWeights") else None
            num = F.cross_entropy(y, target, weight=w, label_smoothing=cfg.get("labelSmoothing", 0.0), reduction="none")
            den = w[target] if w is not None else torch.ones_like(num)
        else:
            target = target.float()
            loss = t.get("loss", "mse")
            num = F.l1_loss(y, target, reduction="none") if loss == "mae" else F.huber_loss(y, target, reduction="none") if loss == "huber" else F.mse_loss(y, target, reduction="none")
            den = torch.ones_like(num)
        terms.append((t["weight"], num, den))
    return terms


def training_terms(cfg, net, model, batch):
    """The training loss's terms of one forward: loss_terms of the outputs, or for a model of
    independent members (model.MEMBERS) the mean of the members' terms, as attnkit's modelLoss (a
    target's denominators do not depend on the member, so the mean of the members' Σ num / Σ den is
    Σ mean(num) / Σ den)."""
    if getattr(model, "MEMBERS", 1) == 1:
        return loss_terms(cfg, net(batch), batch)
    each = [loss_terms(cfg, o, batch) for o in net(batch, members=True)]
    return [(w, sum(e[i][1] for e in each) / len(each), den) for i, (w, _, den) in enumerate(each[0])]


def all_sum(x, world):
    if world > 1:
        dist.all_reduce(x)
    return x


def class_scores(pred, truth, k):
    """Per class (precision, recall, F1, support, predicted), one against the rest; 0 where undefined (attnkit's classScores)."""
    out = []
    for c in range(k):
        tp = int(((pred == c) & (truth == c)).sum())
        fp, fn = int(((pred == c) & (truth != c)).sum()), int(((pred != c) & (truth == c)).sum())
        p, r = (tp / (tp + fp) if tp + fp else 0.0), (tp / (tp + fn) if tp + fn else 0.0)
        out.append((p, r, 2 * p * r / (p + r) if p + r else 0.0, tp + fn, tp + fp))
    return out


def macro(pred, truth, scores):
    """Macro precision, recall, F1 over the classes present or predicted (attnkit's macroF1)."""
    used = [s for s in scores if s[3] > 0 or s[4] > 0]
    return tuple(sum(s[i] for s in used) / len(used) for i in range(3))


def roc_auc(scores, labels):
    """ROC AUC by the rank sum, ties sharing their mean rank (attnkit's rocAuc); None (attnkit's NaN, JSON null) with one class."""
    _, inverse, counts = torch.unique(scores, return_inverse=True, return_counts=True)
    end = counts.cumsum(0).double()
    rank = (end - (counts.double() - 1) / 2)[inverse]                   # 1-based mean rank of each tie group
    pos = int(labels.sum()); neg = len(labels) - pos
    if pos == 0 or neg == 0:
        return None
    return (rank[labels == 1].sum().item() - pos * (pos + 1) / 2) / (pos * neg)


def evaluate(model, data, cfg, device, batch_size=256):
    """Mean loss and attnkit's metrics (src/train/evaluate.ts) over every row of data (on this process)."""
    model.eval()
    sums, dens, preds, truths = None, None, {t["name"]: [] for t in cfg["targets"]}, {t["name"]: [] for t in cfg["targets"]}
    total_loss = 0.0
    with torch.no_grad():
        for i in range(0, data.size, batch_size):
            b = data.batch(list(range(i, min(data.size, i + batch_size))), device)
            out = model(b)
            n = len(next(iter(b.values())))
            total_loss += sum(w * (num.sum() / den.sum()).item() for w, num, den in loss_terms(cfg, out, b)) * n
            for t in cfg["targets"]:
                preds[t["name"]].append(out[t["name"]].float().cpu())
                truths[t["name"]].append(b["targets." + t["name"]].cpu())
    metrics = {}
    for t in cfg["targets"]:
        y, truth = torch.cat(preds[t["name"]]), torch.cat(truths[t["name"]])
        if t["task"] == "binary":
            p = torch.sigmoid(y.double()).float()                        # as attnkit: float64 sigmoid, kept in float32
            labels, truth = (p >= 0.5).long(), truth.long()
            pos = class_scores(labels, truth, 2)
            metrics[t["name"]] = {"accuracy": (labels == truth).double().mean().item(), "precision": pos[1][0], "recall": pos[1][1],
                                  "f1": pos[1][2], "macroF1": macro(labels, truth, pos)[2], "auc": roc_auc(p, truth)}
        elif t["task"] == "multiclass":
            labels, truth = y.argmax(-1), truth.long()
            m = macro(labels, truth, class_scores(labels, truth, t["outputs"]))
            metrics[t["name"]] = {"accuracy": (labels == truth).double().mean().item(), "macroPrecision": m[0], "macroRecall": m[1], "macroF1": m[2]}
        else:
            pred, true = y.double() * t["std"] + t["mean"], truth.double() * t["std"] + t["mean"]
            tot = (true - true.mean()).pow(2).sum().item()
            metrics[t["name"]] = {"mae": (pred - true).abs().mean().item(), "rmse": (pred - true).pow(2).mean().sqrt().item(),
                                  "r2": None if tot == 0 else 1 - (pred - true).pow(2).sum().item() / tot}
    model.train()
    return total_loss / data.size, metrics


def fit_lbfgs(model, data, cfg, device, rank, world):
    """attnkit's optimizer 'lbfgs' (src/train/lbfgs.ts): one full-batch fit to the optimum of the mean loss
    + (weightDecay / 2)·‖w‖² over every parameter but noDecay's (the biases), by torch.optim.LBFGS with a
    strong-Wolfe line search, stopping when the largest gradient entry is at most gradTol or after maxIter
    iterations. Rank r holds rows r, r + W, …: each evaluation sums its rows' losses, all-reduces the
    gradients (as DDP does) and divides by the global count, so every rank sees the whole objective and
    takes the same steps. Returns (mean loss without the L2 term, iterations, largest gradient entry)."""
    s, l2, no_decay = cfg["lbfgs"], cfg["weightDecay"], set(cfg["noDecay"])
    named = list(model.named_parameters())
    model.eval()                                                         # no dropout: the objective is deterministic
    mine = list(range(rank, data.size, world))
    weight = 1.0 if mine else 0.0                                        # a rank without rows joins the collectives with 0
    batch = data.batch(mine or [0], device)
    opt = torch.optim.LBFGS([p for _, p in named], lr=1, max_iter=s["maxIter"], max_eval=25 * s["maxIter"],
                            tolerance_grad=s["gradTol"], tolerance_change=1e-12, history_size=s["history"],
                            line_search_fn="strong_wolfe")

    def mean_loss():
        terms = training_terms(cfg, model, model, batch)
        dens = all_sum(torch.tensor([weight * float(den.sum()) for _, _, den in terms], dtype=torch.float64), world)
        return weight * sum(w * num.sum() / dens[i].item() for i, (w, num, _) in enumerate(terms))

    def closure():
        for _, p in named:
            p.grad = torch.zeros_like(p)
        loss = mean_loss()
        loss.backward()
        value = all_sum(torch.tensor([float(loss)], dtype=torch.float64), world).item()
        if world > 1:
            flat = torch.cat([p.grad.reshape(-1) for _, p in named])
            dist.all_reduce(flat)
            o = 0
            for _, p in named:
                p.grad.copy_(flat[o:o + p.numel()].view_as(p))
                o += p.numel()
        with torch.no_grad():
            for n, p in named:
                if n not in no_decay:
                    p.grad.add_(p, alpha=l2)
                    value += 0.5 * l2 * float(p.double().pow(2).sum())
        return torch.tensor(value, dtype=torch.float64)

    opt.step(closure)
    closure()
    grad_max = max(float(p.grad.abs().max()) for _, p in named)
    with torch.no_grad():
        loss = all_sum(torch.tensor([float(mean_loss())], dtype=torch.float64), world).item()
    for _, p in named:
        p.grad = None
    model.train()
    return loss, opt.state[named[0][1]]["n_iter"], grad_max


def main():
    with open(os.path.join(HERE, "train_config.json")) as f:
        cfg = json.load(f)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", nargs="+", required=True, help="encoded training file(s) or glob patterns (attnkit encode)")
    ap.add_argument("--valid", nargs="+", help="encoded validation file(s): best epoch, plateau schedule, patience")
    ap.add_argument("--test", nargs="+", help="encoded test file(s): metrics after training (rank 0)")
    ap.add_argument("--out", default="checkpoints", help="folder for model.safetensors and last.safetensors")
    ap.add_argument("--init", default=os.path.join(HERE, "model.safetensors"), help="initial weights (default: the run's)")
    ap.add_argument("--epochs", type=int, default=cfg["epochs"])
    ap.add_argument("--batch-size", type=int, default=cfg["batchSize"], help="global batch size (all processes together)")
    ap.add_argument("--lr", type=float, default=cfg["lr"])
    ap.add_argument("--seed", type=int, default=cfg["seed"])
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many optimiser steps (0: no limit)")
    ap.add_argument("--deterministic", action="store_true", help="torch.use_deterministic_algorithms(True)")
    args = ap.parse_args()

    distributed = "RANK" in os.environ
    if distributed:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    local = int(os.environ.get("LOCAL_RANK", 0))
    device = torch.device(f"cuda:{local}" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if args.deterministic:
        torch.use_deterministic_algorithms(True)
    torch.manual_seed(args.seed + rank)                                  # dropout: its own stream per rank

    model = Model()
    state, _ = load_file(args.init)
    model.load_state_dict(state, strict=True)
    model.to(device).train()
    net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[local] if device.type == "cuda" else None) if distributed else model

    no_decay = set(cfg["noDecay"])
    named = list(model.named_parameters())
    groups = [{"params": [p for n, p in named if n not in no_decay]},
              {"params": [p for n, p in named if n in no_decay], "weight_decay": 0.0}]
    groups = [g for g in groups if g["params"]]
    o = cfg["optimizer"]
    if o == "sgd":
        opt = torch.optim.SGD(groups, lr=args.lr, momentum=cfg["momentum"], nesterov=cfg["nesterov"], weight_decay=cfg["weightDecay"])
    elif o == "adam":
        opt = torch.optim.Adam(groups, lr=args.lr, weight_decay=cfg["weightDecay"])
    elif o == "lbfgs":
        opt = None                                                       # fit_lbfgs makes its own
    else:
        opt = torch.optim.AdamW(groups, lr=args.lr, weight_decay=cfg["weightDecay"])

    data = EncodedRows(args.data)
    valid = EncodedRows(args.valid) if args.valid else None
    B, accumulate = args.batch_size, cfg["accumulate"]
    steps_per_epoch = math.ceil(math.ceil(data.size / B) / accumulate)
    total = steps_per_epoch * args.epochs
    plateau = {"factor": 1.0, "best": float("inf"), "bad": 0}
    best, best_epoch, step = None, 0, 0
    # ema: a moving average of the weights, which validation, model.safetensors and the test use (as the Trainer's)
    ema_decay = cfg.get("ema") or 0.0
    ema = [p.detach().clone() for p in model.parameters()] if ema_decay > 0 else None

    def swap_ema():
        """Exchanges the weights and their moving average (twice: back as they were)."""
        if ema is not None:
            with torch.no_grad():
                for a, p in zip(ema, model.parameters()):
                    t = p.detach().clone()
                    p.copy_(a)
                    a.copy_(t)
    os.makedirs(args.out, exist_ok=True)
    if rank == 0:
        print(json.dumps({"processes": world, "backend": dist.get_backend() if distributed else None, "rows": data.size, "batch_size": B, "steps_per_epoch": steps_per_epoch}), flush=True)

    if valid is not None:
        before = evaluate(model, valid, cfg, device)[0]
        if rank == 0:
            print(json.dumps({"epoch": 0, "validLoss": before}), flush=True)
    if o == "lbfgs" and args.epochs > 0:
        t0 = time.time()
        train_loss, iterations, grad_max = fit_lbfgs(model, data, cfg, device, rank, world)
        valid_loss = evaluate(model, valid, cfg, device)[0] if valid else None
        best, best_epoch = valid_loss, 1
        if rank == 0:
            weights = {k: v for k, v in model.state_dict().items()}
            meta = {"epoch": "1", "validLoss": "" if valid_loss is None else repr(valid_loss), "format": "pt"}
            save_file(weights, os.path.join(args.out, "last.safetensors"), meta)
            save_file(weights, os.path.join(args.out, "model.safetensors"), meta)
            print(json.dumps({"epoch": 1, "trainLoss": train_loss, "validLoss": valid_loss, "iterations": iterations, "gradMax": grad_max, "converged": grad_max <= cfg["lbfgs"]["gradTol"], "seconds": round(time.time() - t0, 3), "best": True}), flush=True)
    for epoch in range(1, 0 if o == "lbfgs" else args.epochs + 1):
        t0 = time.time()
        g = torch.Generator()
        g.manual_seed(args.seed * 1000003 + epoch)
        order = torch.randperm(data.size, generator=g).tolist()          # the same on every rank
        batches = [order[i:i + B] for i in range(0, len(order), B)]
        loss_sum, rows, micro = 0.0, 0, 0
        opt.zero_grad(set_to_none=True)
        for bi, global_rows in enumerate(batches):
            g0 = bi - bi % accumulate
            group_rows = sum(len(b) for b in batches[g0:g0 + accumulate])
            mine = global_rows[rank::world]                              # this rank's share of the global batch
            # a rank left without rows (a last batch smaller than the world) still runs forward and
            # backward, on one row weighted 0, so every rank joins the same collectives
            weight = 1.0 if mine else 0.0
            batch = data.batch(mine or global_rows[:1], device)
            terms = training_terms(cfg, net, model, batch)
            # each target's loss over the global batch: Σ num / Σ den, both summed over ranks
            dens = all_sum(torch.tensor([weight * float(den.sum()) for _, _, den in terms], dtype=torch.float64), world)
            loss = weight * sum(w * num.sum() / dens[i].item() for i, (w, num, _) in enumerate(terms))
            value = all_sum(torch.tensor([float(loss)], dtype=torch.float64), world).item()
            share = len(global_rows) / group_rows                        # accumulation: the group's mean
            (loss * share * world).backward()                            # DDP averages over ranks: × world gives the sum
            loss_sum += value * len(global_rows)
            rows += len(global_rows)
            micro += 1
            if micro == accumulate or bi == len(batches) - 1:
                factor = lr_factor(cfg["schedule"], step, total, steps_per_epoch, plateau)
                for group in opt.param_groups:
                    group["lr"] = args.lr * factor
                if cfg["clipNorm"] > 0:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["clipNorm"])
                opt.step()
                if ema is not None:
                    d = min(ema_decay, (1 + step) / (10 + step))
                    with torch.no_grad():
                        for a, p in zip(ema, model.parameters()):
                            a.mul_(d).add_(p.detach(), alpha=1 - d)
                opt.zero_grad(set_to_none=True)
                step += 1
                micro = 0
                if args.max_steps and step >= args.max_steps:
                    break
        last = {k: v.clone() for k, v in model.state_dict().items()} if rank == 0 and ema is not None else None
        swap_ema()                                                       # the average in the model until the epoch's end
        valid_loss = evaluate(model, valid, cfg, device)[0] if valid else None
        if cfg["schedule"]["type"] == "plateau" and valid_loss is not None:
            s = cfg["schedule"]
            if valid_loss < plateau["best"]:
                plateau["best"], plateau["bad"] = valid_loss, 0
            else:
                plateau["bad"] += 1
                if plateau["bad"] >= s.get("patience", 2):
                    plateau["factor"], plateau["bad"] = max(s.get("minFactor", 0.01), plateau["factor"] * s.get("factor", 0.5)), 0
        improved = valid_loss is None or best is None or valid_loss < best
        if improved:
            best, best_epoch = valid_loss, epoch
        if rank == 0:
            weights = {k: v for k, v in model.state_dict().items()}
            meta = {"epoch": str(epoch), "validLoss": "" if valid_loss is None else repr(valid_loss), "format": "pt"}
            save_file(weights if last is None else last, os.path.join(args.out, "last.safetensors"), meta)   # as trained, not averaged
            if improved:
                save_file(weights, os.path.join(args.out, "model.safetensors"), meta)
            print(json.dumps({"epoch": epoch, "trainLoss": loss_sum / max(1, rows), "validLoss": valid_loss, "lr": args.lr * lr_factor(cfg["schedule"], max(0, step - 1), total, steps_per_epoch, plateau), "steps": step, "seconds": round(time.time() - t0, 3), "best": improved}), flush=True)
        swap_ema()                                                       # the weights back, to train on
        if args.max_steps and step >= args.max_steps:
            break
        if valid_loss is not None and cfg.get("patience") and epoch - best_epoch >= cfg["patience"]:
            break

    if args.test and rank == 0:
        if best_epoch > 0:                                              # else (no epoch run) the --init weights, not an older file in --out
            model.load_state_dict(load_file(os.path.join(args.out, "model.safetensors"))[0])
        loss, metrics = evaluate(model, EncodedRows(args.test), cfg, device)
        print(json.dumps({"test": metrics, "testLoss": loss}), flush=True)
    if distributed:
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
`;
