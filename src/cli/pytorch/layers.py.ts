/**
 * The fixed part of a generated model.py: the PyTorch twins of the attnkit layers a run's model
 * is built from (multi-head attention, Transformer / cross-modal / Perceiver stacks, task heads,
 * the TCN's convolution block), in plain torch ≥ 1.13. Parameter names are attnkit's in
 * PyTorch's spelling (nn/torchNames.ts: `inProjWeight` → `in_proj_weight`, `crossAttn` →
 * `multihead_attn`), so the run's weights load with `load_state_dict(strict=True)`.
 *
 * Semantics follow attnkit where PyTorch's own layers differ: a query whose keys are all masked
 * gets zero attention (not NaN), and embeddings have no padding_idx (attnkit trains row 0 too).
 */
export const LAYERS_PY = String.raw`
import json
import math
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Mean over real tokens: x [B, n, C], mask [B, n] bool -> [B, C] (zeros where none is real)."""
    m = mask.to(x.dtype).unsqueeze(-1)                                   # [B, n, 1]
    return (x * m).sum(1) / m.sum(1).clamp(min=1)                        # [B, C]


def activation(name: str, x: Tensor) -> Tensor:
    return F.gelu(x) if name == "gelu" else F.relu(x)


class MultiheadAttention(nn.Module):
    """Multi-head attention with torch.nn.MultiheadAttention's parameter names (batch first).

    query [B, T, C], key [B, S, kdim], value [B, S, vdim], key_mask [B, S] bool (True = real
    token) -> [B, T, C]. A query with no real key attends to nothing (zeros before out_proj).
    """

    def __init__(self, embed_dim: int, num_heads: int, kdim: Optional[int] = None, vdim: Optional[int] = None, dropout: float = 0.0):
        super().__init__()
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        kdim, vdim = kdim or embed_dim, vdim or embed_dim
        self.packed = kdim == embed_dim and vdim == embed_dim
        if self.packed:
            self.in_proj_weight = nn.Parameter(torch.zeros(3 * embed_dim, embed_dim))
        else:
            self.q_proj_weight = nn.Parameter(torch.zeros(embed_dim, embed_dim))
            self.k_proj_weight = nn.Parameter(torch.zeros(embed_dim, kdim))
            self.v_proj_weight = nn.Parameter(torch.zeros(embed_dim, vdim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * embed_dim))
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_mask: Optional[Tensor] = None, causal: bool = False) -> Tensor:
        B, T, C = query.shape
        S, H = key.shape[1], self.num_heads
        if self.packed:
            w_q, w_k, w_v = self.in_proj_weight.split(C)
        else:
            w_q, w_k, w_v = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        b_q, b_k, b_v = self.in_proj_bias.split(C)
        q = split_heads(F.linear(query, w_q, b_q), H)                    # [B, H, T, D]
        k = split_heads(F.linear(key, w_k, b_k), H)                      # [B, H, S, D]
        v = split_heads(F.linear(value, w_v, b_v), H)                    # [B, H, S, D]
        allowed = key_mask[:, None, None, :] if key_mask is not None else None   # [B, 1, 1, S]
        if causal:
            tri = torch.ones(T, S, dtype=torch.bool, device=query.device).tril()
            allowed = tri if allowed is None else allowed & tri          # [B, 1, T, S]
        out = attend(q, k, v, allowed, self.dropout if self.training else 0.0)   # [B, H, T, D]
        return self.out_proj(merge_heads(out))                           # [B, T, C]


def split_heads(x: Tensor, H: int) -> Tensor:
    """[B, T, H·D] -> [B, H, T, D]"""
    B, T, C = x.shape
    return x.view(B, T, H, C // H).transpose(1, 2)


def merge_heads(x: Tensor) -> Tensor:
    """[B, H, T, D] -> [B, T, H·D]"""
    B, H, T, D = x.shape
    return x.transpose(1, 2).reshape(B, T, H * D)


def attend(q: Tensor, k: Tensor, v: Tensor, allowed: Optional[Tensor] = None, dropout: float = 0.0) -> Tensor:
    """softmax(q·kᵀ/√D) v over the allowed keys (bool, broadcast to [B, H, T, S]); a query with none gets zeros."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])           # [B, H, T, S]
    if allowed is None:
        weights = torch.softmax(scores, -1)
    else:
        allowed = allowed.expand(scores.shape)
        any_key = allowed.any(-1, keepdim=True)                          # [B, H, T, 1]
        # rows without an allowed key: softmax over all, then zeroed (no NaN, no NaN gradient)
        scores = scores.masked_fill(~(allowed | ~any_key), float("-inf"))
        weights = torch.softmax(scores, -1) * any_key                    # [B, H, T, S]
    if dropout > 0:
        weights = F.dropout(weights, dropout)
    return weights @ v                                                   # [B, H, T, D]


class TransformerEncoderLayer(nn.Module):
    """Self-attention and a feed-forward block, each with a residual; post- or pre-norm (norm_first)."""

    def __init__(self, embed_dim: int, num_heads: int, dim_feedforward: int, dropout: float, activation: str, norm_first: bool):
        super().__init__()
        self.self_attn = MultiheadAttention(embed_dim, num_heads, dropout=dropout)
        self.linear1 = nn.Linear(embed_dim, dim_feedforward)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, embed_dim)
        self.norm1 = nn.LayerNorm(embed_dim)
        self.norm2 = nn.LayerNorm(embed_dim)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.activation, self.norm_first = activation, norm_first

    def _sa(self, h: Tensor, key_mask: Optional[Tensor]) -> Tensor:
        return self.dropout1(self.self_attn(h, h, h, key_mask))

    def _ff(self, h: Tensor) -> Tensor:
        return self.dropout2(self.linear2(self.dropout(activation(self.activation, self.linear1(h)))))

    def forward(self, x: Tensor, key_mask: Optional[Tensor] = None) -> Tensor:
        if self.norm_first:
            x = x + self._sa(self.norm1(x), key_mask)                    # [B, T, C]
            return x + self._ff(self.norm2(x))
        x = self.norm1(x + self._sa(x, key_mask))
        return self.norm2(x + self._ff(x))


class TransformerEncoder(nn.Module):
    """num_layers encoder layers, then an optional final LayerNorm (norm)."""

    def __init__(self, embed_dim: int, num_heads: int, num_layers: int, dim_feedforward: int, dropout: float, activation: str, norm_first: bool, final_norm: bool):
        super().__init__()
        self.layers = nn.ModuleList([TransformerEncoderLayer(embed_dim, num_heads, dim_feedforward, dropout, activation, norm_first) for _ in range(num_layers)])
        self.norm = nn.LayerNorm(embed_dim) if final_norm else None

    def forward(self, x: Tensor, key_mask: Optional[Tensor] = None) -> Tensor:
        for layer in self.layers:
            x = layer(x, key_mask)
        return self.norm(x) if self.norm is not None else x


class CrossModalLayer(nn.Module):
    """MulT's cross-modal layer: the target stream attends to the (normalised) source, then a feed-forward block; pre-norm residuals."""

    def __init__(self, embed_dim: int, num_heads: int, source_dim: int, dim_feedforward: int, dropout: float, activation: str):
        super().__init__()
        self.norm_target = nn.LayerNorm(embed_dim)
        self.norm_source = nn.LayerNorm(source_dim)
        self.multihead_attn = MultiheadAttention(embed_dim, num_heads, kdim=source_dim, vdim=source_dim, dropout=dropout)
        self.norm2 = nn.LayerNorm(embed_dim)
        self.linear1 = nn.Linear(embed_dim, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, embed_dim)
        self.dropout = nn.Dropout(dropout)
        self.activation = activation

    def forward(self, target: Tensor, source: Tensor, key_mask: Optional[Tensor] = None) -> Tensor:
        s = self.norm_source(source)                                     # [B, S, Cs]
        y = target + self.dropout(self.multihead_attn(self.norm_target(target), s, s, key_mask))   # [B, T, C]
        h = activation(self.activation, self.linear1(self.norm2(y)))
        return y + self.dropout(self.linear2(self.dropout(h)))


class CrossModalTransformer(nn.Module):
    def __init__(self, embed_dim: int, num_heads: int, num_layers: int, dim_feedforward: int, dropout: float, activation: str):
        super().__init__()
        self.layers = nn.ModuleList([CrossModalLayer(embed_dim, num_heads, embed_dim, dim_feedforward, dropout, activation) for _ in range(num_layers)])
        self.norm = nn.LayerNorm(embed_dim)

    def forward(self, target: Tensor, source: Tensor, key_mask: Optional[Tensor] = None) -> Tensor:
        for layer in self.layers:
            target = layer(target, source, key_mask)
        return self.norm(target)


class PerceiverEncoder(nn.Module):
    """Learned latents [N, C] read every input token (one cross-attention layer), then self-attend."""

    def __init__(self, num_latents: int, latent_dim: int, input_dim: int, cross_heads: int, latent_heads: int, num_latent_layers: int, dim_feedforward: int, dropout: float):
        super().__init__()
        self.latents = nn.Parameter(torch.zeros(num_latents, latent_dim))
        self.cross = CrossModalLayer(latent_dim, cross_heads, input_dim, dim_feedforward, dropout, "relu")
        self.latent_encoder = TransformerEncoder(latent_dim, latent_heads, num_latent_layers, dim_feedforward, dropout, "relu", True, True)

    def forward(self, inputs: List[Tensor], key_masks: List[Tensor]) -> Tensor:
        source = torch.cat(inputs, 1)                                    # [B, M, Cin]
        key_mask = torch.cat(key_masks, 1)                               # [B, M]
        lat = self.latents.unsqueeze(0).expand(source.shape[0], -1, -1)  # [B, N, C]
        return self.latent_encoder(self.cross(lat, source, key_mask))    # [B, N, C]


class ConvBlock(nn.Module):
    """A 1-D convolution over [B, T, C] keeping the length (causal: left padding only), GELU; padding zeroed."""

    def __init__(self, dim: int, kernel_size: int, dilation: int, causal: bool):
        super().__init__()
        self.span = dilation * (kernel_size - 1)
        self.left = self.span if causal else self.span // 2
        self.conv = nn.Conv1d(dim, dim, kernel_size, dilation=dilation)

    def forward(self, x: Tensor, key_mask: Tensor) -> Tensor:
        keep = key_mask.unsqueeze(-1)                                    # [B, T, 1]
        h = torch.where(keep, x, torch.zeros_like(x)).transpose(1, 2)    # [B, C, T]
        h = F.pad(h, (self.left, self.span - self.left))                 # [B, C, T + span]
        # GELU after the transpose: torch 1.13's CPU GELU backward gives garbage (1e18, NaN) when its
        # incoming gradient's strides differ from its input's, as a transposed output's do
        y = F.gelu(self.conv(h).transpose(1, 2))                         # [B, T, C]
        return torch.where(keep, y, torch.zeros_like(y))


class SelfAttentionBlock(nn.Module):
    def __init__(self, dim: int, num_heads: int, dropout: float, causal: bool):
        super().__init__()
        self.attn = MultiheadAttention(dim, num_heads, dropout=dropout)
        self.causal = causal

    def forward(self, x: Tensor, key_mask: Tensor) -> Tensor:
        return self.attn(x, x, x, key_mask, causal=self.causal)


class FeedForwardBlock(nn.Module):
    def __init__(self, dim: int, hidden: int, activation: str, dropout: float):
        super().__init__()
        self.linear1 = nn.Linear(dim, hidden)
        self.linear2 = nn.Linear(hidden, dim)
        self.dropout = nn.Dropout(dropout)
        self.activation = activation

    def forward(self, x: Tensor, key_mask: Tensor) -> Tensor:
        return self.linear2(self.dropout(activation(self.activation, self.linear1(x))))


class WindowSelfAttention(nn.Module):
    """Sliding-window self-attention: token i attends to keys i - window … i + window."""

    def __init__(self, dim: int, num_heads: int, window: int):
        super().__init__()
        self.in_proj = nn.Linear(dim, 3 * dim)
        self.out_proj = nn.Linear(dim, dim)
        self.num_heads, self.window = num_heads, window

    def forward(self, x: Tensor, key_mask: Tensor) -> Tensor:
        q, k, v = (split_heads(t, self.num_heads) for t in self.in_proj(x).chunk(3, -1))   # [B, H, T, D] each
        T = x.shape[1]
        i = torch.arange(T, device=x.device)
        band = (i[:, None] - i[None, :]).abs() <= self.window            # [T, T]
        allowed = band & key_mask[:, None, None, :]                      # [B, 1, T, T]
        return self.out_proj(merge_heads(attend(q, k, v, allowed)))


class LocalAttentionBlock(nn.Module):
    def __init__(self, dim: int, num_heads: int, window: int):
        super().__init__()
        self.attn = WindowSelfAttention(dim, num_heads, window)

    def forward(self, x: Tensor, key_mask: Tensor) -> Tensor:
        return self.attn(x, key_mask)


class EluLinearSelfAttention(nn.Module):
    """Linear attention (Katharopoulos et al.): φ(q)(φ(k)ᵀ v) / (φ(q)·Σφ(k) + 1e-6), φ = elu + 1; padding keys left out."""

    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.in_proj = nn.Linear(dim, 3 * dim)
        self.out_proj = nn.Linear(dim, dim)
        self.num_heads = num_heads

    def forward(self, x: Tensor, key_mask: Tensor) -> Tensor:
        q, k, v = (split_heads(t, self.num_heads) for t in self.in_proj(x).chunk(3, -1))   # [B, H, T, D] each
        fq, fk = F.elu(q) + 1, F.elu(k) + 1
        fk = torch.where(key_mask[:, None, :, None], fk, torch.zeros_like(fk))
        kv = fk.transpose(-2, -1) @ v                                    # [B, H, D, D]
        z = fk.sum(2).unsqueeze(-1)                                      # [B, H, D, 1]
        return self.out_proj(merge_heads((fq @ kv) / (fq @ z + 1e-6)))


class LinearAttentionBlock(nn.Module):
    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.attn = EluLinearSelfAttention(dim, num_heads)

    def forward(self, x: Tensor, key_mask: Tensor) -> Tensor:
        y = self.attn(x, key_mask)
        return torch.where(key_mask.unsqueeze(-1), y, torch.zeros_like(y))


class TransformerBlock(nn.Module):
    def __init__(self, dim: int, num_heads: int, dim_feedforward: int, dropout: float, norm_first: bool):
        super().__init__()
        self.layer = TransformerEncoderLayer(dim, num_heads, dim_feedforward, dropout, "gelu", norm_first)

    def forward(self, x: Tensor, key_mask: Tensor) -> Tensor:
        return self.layer(x, key_mask)


class Parallel(nn.Module):
    """Branches on the same input, merged: concat (+ projection), sum, mean, gated (sigmoid gates) or attention (additive scores)."""

    def __init__(self, dim: int, branches: List[nn.Module], merge: str, project: bool):
        super().__init__()
        self.branches = nn.ModuleList(branches)
        self.merge, n = merge, len(branches)
        if merge == "concat" and project:
            self.proj = nn.Linear(n * dim, dim)
        if merge == "gated":
            self.gate_proj = nn.Linear(n * dim, n)
        if merge == "attention":
            self.score_w = nn.Linear(dim, dim)
            self.score_v = nn.Linear(dim, 1, bias=False)

    def forward(self, x: Tensor, key_mask: Tensor) -> Tensor:
        ys = [b(x, key_mask) for b in self.branches]                     # each [B, T, C]
        if self.merge == "concat":
            c = torch.cat(ys, -1)
            return self.proj(c) if hasattr(self, "proj") else c
        if self.merge == "sum":
            return torch.stack(ys).sum(0)
        if self.merge == "mean":
            return torch.stack(ys).sum(0) / len(ys)
        s = torch.stack(ys, 2)                                           # [B, T, n, C]
        if self.merge == "gated":
            g = torch.sigmoid(self.gate_proj(torch.cat(ys, -1)))        # [B, T, n]
        else:
            g = torch.softmax(self.score_v(torch.tanh(self.score_w(s))).squeeze(-1), -1)   # [B, T, n]
        return (g.unsqueeze(-2) @ s).squeeze(-2)                         # [B, T, C]


class Serial(nn.Module):
    """Blocks one after another, each with a residual (optional) and a LayerNorm before ('pre') or after ('post')."""

    def __init__(self, dim: int, layers: List[nn.Module], residual: bool, norm: str):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.norms = nn.ModuleList([nn.LayerNorm(dim) for _ in layers] if norm != "none" else [])
        self.residual, self.norm = residual, norm

    def forward(self, x: Tensor, key_mask: Tensor) -> Tensor:
        for i, layer in enumerate(self.layers):
            out = layer(self.norms[i](x) if self.norm == "pre" else x, key_mask)
            if self.residual:
                out = x + out
            x = self.norms[i](out) if self.norm == "post" else out
        return x


class Fusion(nn.Module):
    """Mechanisms on LayerNorm(x), mixed by softmax gates (static) or sigmoid gates per token, added to x."""

    def __init__(self, dim: int, mechanisms: List[nn.Module], gate: str, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.mechanisms = nn.ModuleList(mechanisms)
        if gate == "static":
            self.gate_logits = nn.Parameter(torch.zeros(len(mechanisms)))
        else:
            self.gate_proj = nn.Linear(dim, len(mechanisms))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, key_mask: Tensor) -> Tensor:
        h = self.norm(x)                                                 # [B, T, C]
        ys = torch.stack([m(h, key_mask) for m in self.mechanisms], 2)  # [B, T, n, C]
        if hasattr(self, "gate_logits"):
            g = torch.softmax(self.gate_logits, -1).expand(ys.shape[0], ys.shape[1], -1)   # [B, T, n]
        else:
            g = torch.sigmoid(self.gate_proj(h))                         # [B, T, n]
        return x + self.dropout((g.unsqueeze(-2) @ ys).squeeze(-2))


class TaskHeads(nn.Module):
    """One linear head per target: binary and regression [B], multi-class [B, K] logits."""

    def __init__(self, targets: List[dict], in_dim: int):
        super().__init__()
        self.targets = targets
        self.heads = nn.ModuleList([nn.Linear(in_dim, t["outputs"]) for t in targets])

    def forward(self, rep: Tensor) -> Dict[str, Tensor]:
        out = {}
        for t, head in zip(self.targets, self.heads):
            y = head(rep)                                                # [B, outputs]
            out[t["name"]] = y if t["task"] == "multiclass" else y.squeeze(-1)
        return out
`;
