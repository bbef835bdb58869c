#!/usr/bin/python3
"""PyTorch modules' weights as safetensors files, with an input and PyTorch's output for each,
so tests can load the files into the matching attnkit modules and compare outputs.

Run with Debian's system python3 and python3-torch:  /usr/bin/python3 scripts/torch_safetensors_fixtures.py
Writes test/fixtures/torch_safetensors/<case>.safetensors and test/fixtures/torch_safetensors.json.
The safetensors writer below follows the format's specification (the `safetensors` package
is not in Debian): 8-byte little-endian header length, JSON header, raw little-endian data.
"""
import json
import os
import struct
import torch
import torch.nn as nn
from torch_common import t2j, write_fixture

torch.manual_seed(0)
torch.set_num_threads(1)
out_dir = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "torch_safetensors")
os.makedirs(out_dir, exist_ok=True)
cases = {}


def save_safetensors(state, path):
    header, blobs, offset = {}, [], 0
    for name, t in state.items():
        t = t.detach().contiguous().float()
        data = struct.pack("<%df" % t.numel(), *t.flatten().tolist())
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt", "torch": torch.__version__}
    head = json.dumps(header).encode()
    head += b" " * ((8 - len(head) % 8) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head + b"".join(blobs))
    os.replace(path + ".tmp", path)


def randomize(module):
    with torch.no_grad():
        for name, p in module.named_parameters():
            is_norm_scale = "norm" in name and name.endswith("weight")
            p.copy_(torch.randn_like(p) * (0.2 if is_norm_scale else 0.3) + (1.0 if is_norm_scale else 0.0))


def case(name, module, x, call, options):
    randomize(module)
    module.eval()
    with torch.no_grad():
        y = call(x)
    save_safetensors(module.state_dict(), os.path.join(out_dir, name + ".safetensors"))
    cases[name] = {"options": options, "input": t2j(x), "output": t2j(y), "names": list(module.state_dict().keys())}


r = lambda *s: torch.randn(*s)
lin = nn.Linear(5, 3)
case("linear", lin, r(2, 4, 5), lin, {"inFeatures": 5, "outFeatures": 3})
ln = nn.LayerNorm(6)
case("layer_norm", ln, r(2, 3, 6), ln, {"dim": 6})
emb = nn.Embedding(10, 4)
case("embedding", emb, torch.tensor([[1, 2, 3], [9, 0, 4]]), emb, {"num": 10, "dim": 4})
c1 = nn.Conv1d(3, 4, 3, padding=1)
case("conv1d", c1, r(2, 3, 7), c1, {"inChannels": 3, "outChannels": 4, "kernelSize": 3, "padding": 1})
c2 = nn.Conv2d(2, 3, 3, padding=1, stride=2)
case("conv2d", c2, r(1, 2, 6, 6), c2, {"inChannels": 2, "outChannels": 3, "kernelSize": 3, "padding": 1, "stride": 2})
mha = nn.MultiheadAttention(8, 2, batch_first=True)
case("multihead_attention", mha, r(2, 4, 8), lambda x: mha(x, x, x, need_weights=False)[0], {"embedDim": 8, "numHeads": 2})
layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True, norm_first=True, activation="gelu")
case("transformer_encoder_layer", layer, r(2, 5, 8), layer, {"dModel": 8, "nhead": 2, "dimFeedforward": 16, "activation": "gelu", "normFirst": True})
stack = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True), 2, norm=nn.LayerNorm(8), enable_nested_tensor=False)
case("transformer_encoder", stack, r(2, 5, 8), stack, {"dModel": 8, "nhead": 2, "dimFeedforward": 16, "activation": "relu", "normFirst": False, "numLayers": 2, "finalNorm": True})
gru = nn.GRU(4, 5, num_layers=2, batch_first=True, bidirectional=True)
case("gru", gru, r(2, 6, 4), lambda x: gru(x)[0], {"inputSize": 4, "hiddenSize": 5, "numLayers": 2, "bidirectional": True})

write_fixture("torch_safetensors.json", {"torch": torch.__version__, "cases": cases})
