"""Writes the fuzz seeds with the real torch.save (run with Debian's /usr/bin/python3; torch and numpy):

  small_zip.pth        torch.save, zip format (torch >= 1.6 default)
  small_legacy.pth     torch.save(..., _use_new_zipfile_serialization=False): five pickles, then raw storages
  data.pkl             the pickle inside small_zip.pth, as PickleReader sees it
  small.safetensors    the same tensors in the safetensors layout (u64 header length, JSON header, raw data)

The state dict is small on purpose (a few KB) so that tens of thousands of mutations run in seconds, yet it holds
what real checkpoints hold: an OrderedDict with _metadata, several dtypes, a 0-d tensor and a view that shares a
storage at an offset.
"""

import collections
import json
import os
import struct
import sys
import zipfile

import numpy as np
import torch


def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    torch.manual_seed(16)
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    sd = collections.OrderedDict()
    sd["conv.weight"] = torch.randn(2, 3, 3, 3)
    sd["conv.bias"] = torch.tensor([0.5, -1.25])
    sd["fc.weight"] = base
    sd["fc.view"] = base[1:3]
    sd["double"] = torch.tensor([1.5, 2.5], dtype=torch.float64)
    sd["half"] = torch.tensor([1.0, -2.0, 0.25], dtype=torch.float16)
    sd["bf16"] = torch.tensor([3.0, -0.5], dtype=torch.bfloat16)
    sd["steps"] = torch.tensor(7, dtype=torch.int64)
    sd._metadata = collections.OrderedDict([("", {"version": 1}), ("conv", {"version": 1})])
    torch.save(sd, os.path.join(outdir, "small_zip.pth"))
    torch.save(sd, os.path.join(outdir, "small_legacy.pth"), _use_new_zipfile_serialization=False)
    with zipfile.ZipFile(os.path.join(outdir, "small_zip.pth")) as z:
        name = next(n for n in z.namelist() if n.endswith("/data.pkl"))
        with open(os.path.join(outdir, "data.pkl"), "wb") as f:
            f.write(z.read(name))

    codes = {torch.float32: ("F32", "<f4"), torch.float64: ("F64", "<f8"), torch.float16: ("F16", "<f2"), torch.int64: ("I64", "<i8")}
    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    offset = 0
    for k, v in sd.items():
        if v.dtype == torch.bfloat16:
            raw = (v.float().contiguous().numpy().view(np.uint32) >> 16).astype("<u2").tobytes()
            code = "BF16"
        else:
            code, np_type = codes[v.dtype]
            raw = np.ascontiguousarray(v.numpy().astype(np_type)).tobytes()
        header[k] = {"dtype": code, "shape": list(v.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(os.path.join(outdir, "small.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for raw in blobs:
            f.write(raw)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)))
