#!/usr/bin/python3
"""Reference data for the VGG16 extractor parity tests, written by the real PyTorch/torchvision.

Usage:
  vgg16_reference.py full OUTDIR [IMAGE ...]
      Builds torchvision's VGG16 with seeded random (Kaiming) weights and writes
        vgg16_zip.pth            torch.save, zip format (torch >= 1.6 default)
        vgg16_legacy.pth         torch.save(..., _use_new_zipfile_serialization=False), the format of vgg16-397923af.pth
        vgg16_timm.safetensors   the same tensors with timm's vgg16.tv_in1k names (pre_logits.fc1/fc2 conv-shaped)
        inputs.f32               N x 3 x 224 x 224 float32 little-endian: the torchvision transform of each image,
                                 then one random normal tensor
        features.f32             N x 4096 float32: torchvision's fc2 features (ReLU after classifier.3) of inputs.f32
        manifest.json            image names in order, counts
      When no IMAGE is given, a few synthetic images are drawn with PIL into OUTDIR/images.
  vgg16_reference.py small OUTDIR
      Writes small state dicts for the pickle reader tests, in both torch.save formats:
        small_zip.pth, small_legacy.pth (+ small_expected.json with every tensor's values),
        evil_zip.pth, evil_legacy.pth, evil_raw.pkl (pickles that name os.system; never load them with torch).
"""

import collections
import json
import os
import struct
import sys

import numpy as np
import torch
import torchvision
from PIL import Image, ImageDraw
from torchvision import transforms


def fc2_model(seed):
    torch.manual_seed(seed)
    model = torchvision.models.vgg16()
    # Kaiming-scaled weights everywhere, biases small but non-zero, so activations stay O(1) through all layers.
    for m in model.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            torch.nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            torch.nn.init.uniform_(m.bias, -0.1, 0.1)
    model.eval()
    return model


def fc2_features(model, x):
    with torch.no_grad():
        h = model.features(x)
        h = model.avgpool(h)
        h = torch.flatten(h, 1)
        for i in range(5):  # Linear, ReLU, Dropout, Linear, ReLU -> output of classifier[4]
            h = model.classifier[i](h)
    return h


def synthetic_images(folder):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(7)
    paths = []
    specs = [("gradient.png", 320, 240, "RGB"), ("shapes.jpeg", 500, 375, "RGB"),
             ("tall.webp", 200, 300, "RGB"), ("noise_gray.png", 256, 256, "L")]
    for name, w, h, mode in specs:
        yy, xx = np.mgrid[0:h, 0:w]
        r = (xx * 255 // max(w - 1, 1)).astype(np.uint8)
        g = (yy * 255 // max(h - 1, 1)).astype(np.uint8)
        b = ((xx + yy) % 256).astype(np.uint8)
        arr = np.stack([r, g, b], axis=-1)
        arr = np.clip(arr.astype(np.int16) + rng.integers(-20, 21, arr.shape), 0, 255).astype(np.uint8)
        img = Image.fromarray(arr, "RGB")
        d = ImageDraw.Draw(img)
        d.ellipse([w // 5, h // 5, w // 2, h // 2], fill=(200, 30, 40))
        d.rectangle([w // 2, h // 2, w - 10, h - 10], fill=(20, 40, 220))
        if mode == "L":
            img = img.convert("L")
        path = os.path.join(folder, name)
        img.save(path, quality=92) if name.endswith((".jpeg", ".webp")) else img.save(path)
        paths.append(path)
    return paths


def timm_state_dict(sd):
    out = collections.OrderedDict()
    for k, v in sd.items():
        if k.startswith("features."):
            out[k] = v
    out["pre_logits.fc1.weight"] = sd["classifier.0.weight"].reshape(4096, 512, 7, 7)
    out["pre_logits.fc1.bias"] = sd["classifier.0.bias"]
    out["pre_logits.fc2.weight"] = sd["classifier.3.weight"].reshape(4096, 4096, 1, 1)
    out["pre_logits.fc2.bias"] = sd["classifier.3.bias"]
    out["head.fc.weight"] = sd["classifier.6.weight"]
    out["head.fc.bias"] = sd["classifier.6.bias"]
    return out


def write_safetensors(path, sd):
    """The safetensors layout: u64 header length, JSON header, then the raw little-endian data."""
    header = {"__metadata__": {"format": "pt"}}
    offset = 0
    arrays = []
    for k, v in sd.items():
        a = np.ascontiguousarray(v.detach().cpu().numpy().astype("<f4"))
        header[k] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
        arrays.append(a)
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for a in arrays:
            f.write(a.tobytes())


def full(outdir, images):
    os.makedirs(outdir, exist_ok=True)
    if not images:
        images = synthetic_images(os.path.join(outdir, "images"))
    model = fc2_model(1234)
    sd = model.state_dict()
    torch.save(sd, os.path.join(outdir, "vgg16_zip.pth"))
    torch.save(sd, os.path.join(outdir, "vgg16_legacy.pth"), _use_new_zipfile_serialization=False)
    write_safetensors(os.path.join(outdir, "vgg16_timm.safetensors"), timm_state_dict(sd))

    tf = transforms.Compose([
        transforms.Resize(256),
        transforms.CenterCrop(224),
        transforms.ToTensor(),
        transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    ])
    xs = [tf(Image.open(p).convert("RGB")) for p in images]
    gen = torch.Generator().manual_seed(99)
    xs.append(torch.randn(3, 224, 224, generator=gen))
    x = torch.stack(xs)
    feats = fc2_features(model, x)
    x.numpy().astype("<f4").tofile(os.path.join(outdir, "inputs.f32"))
    feats.numpy().astype("<f4").tofile(os.path.join(outdir, "features.f32"))
    with open(os.path.join(outdir, "manifest.json"), "w") as f:
        json.dump({"images": [os.path.abspath(p) for p in images], "inputs": len(xs),
                   "torch": torch.__version__, "torchvision": torchvision.__version__}, f, indent=1)


class Evil:
    def __reduce__(self):
        return (os.system, ("echo owned > /tmp/imagesimilarity-owned",))


def small(outdir):
    os.makedirs(outdir, exist_ok=True)
    torch.manual_seed(5)
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    sd = collections.OrderedDict()
    sd["conv.weight"] = torch.randn(2, 3, 3, 3)
    sd["conv.bias"] = torch.tensor([0.5, -1.25])
    sd["fc.weight"] = base
    sd["fc.view"] = base[1:3]  # shares fc.weight's storage with an offset
    sd["double"] = torch.tensor([1.5, 2.5], dtype=torch.float64)
    sd["half"] = torch.tensor([1.0, -2.0, 0.25], dtype=torch.float16)
    sd["bf16"] = torch.tensor([3.0, -0.5], dtype=torch.bfloat16)
    sd["steps"] = torch.tensor(7, dtype=torch.int64)
    sd._metadata = collections.OrderedDict([("", {"version": 1}), ("conv", {"version": 1})])
    torch.save(sd, os.path.join(outdir, "small_zip.pth"))
    torch.save(sd, os.path.join(outdir, "small_legacy.pth"), _use_new_zipfile_serialization=False)
    expected = {k: {"shape": list(v.shape), "dtype": str(v.dtype).replace("torch.", ""),
                    "values": v.to(torch.float64).flatten().tolist()} for k, v in sd.items()}
    with open(os.path.join(outdir, "small_expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    evil = collections.OrderedDict([("features.0.weight", torch.zeros(1)), ("payload", Evil())])
    torch.save(evil, os.path.join(outdir, "evil_zip.pth"))
    torch.save(evil, os.path.join(outdir, "evil_legacy.pth"), _use_new_zipfile_serialization=False)
    import pickle
    with open(os.path.join(outdir, "evil_raw.pkl"), "wb") as f:
        pickle.dump(Evil(), f, protocol=2)


def main(argv):
    if len(argv) >= 3 and argv[1] == "full":
        full(argv[2], argv[3:])
    elif len(argv) == 3 and argv[1] == "small":
        small(argv[2])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
