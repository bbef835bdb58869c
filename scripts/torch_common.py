"""Shared by the PyTorch fixture scripts: tensors to JSON, and an atomic write of the fixture file."""
import json
import os
import torch


def t2j(t):
    """A tensor as {shape, dtype, data}: bool stays bool, integers become int32, floats float32."""
    t = t.detach()
    if t.dtype == torch.bool:
        return {"shape": list(t.shape), "dtype": "bool", "data": [int(v) for v in t.flatten().tolist()]}
    if t.dtype in (torch.int64, torch.int32):
        return {"shape": list(t.shape), "dtype": "int32", "data": [int(v) for v in t.flatten().tolist()]}
    return {"shape": list(t.shape), "dtype": "float32", "data": [float(v) for v in t.float().flatten().tolist()]}


def write_fixture(name, doc):
    """Writes test/fixtures/<name> through a temporary file and a rename."""
    path = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", name)
    with open(path + ".tmp", "w") as f:
        json.dump(doc, f)
    os.replace(path + ".tmp", path)
    print(f"wrote {len(doc['cases'])} cases with torch {torch.__version__} to {os.path.normpath(path)}")
