/**
 * safetensors_io.py of an exported PyTorch project: a small reader and writer, no `safetensors`
 * package (train.py, the project's other fixed file, is train.py.ts).
 */

export const SAFETENSORS_IO_PY = String.raw`"""Safetensors without the safetensors package: an 8-byte little-endian header length, a JSON
header {name: {dtype, shape, data_offsets}, "__metadata__": {...}}, then raw little-endian data.

    tensors, metadata = load_file("model.safetensors")            # {name: torch.Tensor}
    save_file({"w": torch.zeros(2, 3)}, "out.safetensors")      # atomic: temp file, fsync, rename
    view = open_arrays("data.safetensors")                      # {name: numpy memmap}, read lazily
"""
import json
import os
import struct
import tempfile
from typing import Dict, Tuple

import numpy as np
import torch

_NP = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32, "I16": np.int16,
       "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
_ST = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.int64: "I64", torch.int32: "I32",
       torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL"}


def read_header(path: str) -> Tuple[dict, int]:
    """The JSON header and the byte offset where tensor data starts."""
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) != 8:
            raise ValueError(f"{path}: not a safetensors file (shorter than 8 bytes)")
        (n,) = struct.unpack("<Q", head)
        if n > 100 * 2**20:
            raise ValueError(f"{path}: header of {n} bytes, more than 100 MiB")
        header = json.loads(f.read(n))
    return header, 8 + n


def open_arrays(path: str) -> Tuple[Dict[str, np.ndarray], Dict[str, str]]:
    """Every tensor as a read-only numpy memmap (nothing is read until indexed), and the metadata."""
    header, start = read_header(path)
    size = os.path.getsize(path)
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        if h["dtype"] not in _NP:
            raise ValueError(f"{path}: tensor {name!r} has dtype {h['dtype']}, not one this reader knows")
        a, b = h["data_offsets"]
        dtype = np.dtype(_NP[h["dtype"]]).newbyteorder("<")
        count = int(np.prod(h["shape"])) if h["shape"] else 1
        if b - a != count * dtype.itemsize or start + b > size:
            raise ValueError(f"{path}: tensor {name!r}: {b - a} bytes for shape {h['shape']} {h['dtype']}")
        if count == 0:
            out[name] = np.zeros(h["shape"], dtype=dtype)
        else:
            out[name] = np.memmap(path, dtype=dtype, mode="r", offset=start + a, shape=tuple(h["shape"]))
    return out, header.get("__metadata__", {})


def load_file(path: str) -> Tuple[Dict[str, torch.Tensor], Dict[str, str]]:
    """Every tensor as a torch.Tensor (copied into memory), and the metadata."""
    arrays, metadata = open_arrays(path)
    return {k: torch.from_numpy(np.array(v)) for k, v in arrays.items()}, metadata


def save_file(tensors: Dict[str, torch.Tensor], path: str, metadata: Dict[str, str] = None) -> None:
    """Writes tensors (and string metadata) atomically: readers see the old file or the new one."""
    header, offset, parts = {}, 0, []
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        data = t.numpy().astype(t.numpy().dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": _ST[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        parts.append(data)
        offset += len(data)
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(head)))
            f.write(head)
            for p in parts:
                f.write(p)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)                                    # mkstemp made it 0600
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
`;
