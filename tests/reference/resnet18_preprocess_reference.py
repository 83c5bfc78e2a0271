#!/usr/bin/env python3
"""Reference preprocessing of the pretrained ResNet18 (Microsoft.ML.DnnImageFeaturizer.ResNet18) for the parity test.

Pillow and numpy only (no torchvision), written from the steps themselves: decode with EXIF orientation and
transparency composited over white, resize the shorter side to 256 with Pillow's BILINEAR filter (the longer side
truncated: int(256 * long / short)), centre crop 224 (offsets rounded half to even, as round() does), RGB 0-255 as
float32, reorder to BGR, subtract the MeanImage initializer read from ResNetPreprocess.onnx with the onnx module.

Writes OUT_DIR/<image file name>.f32: 3x224x224 float32, channel-major.

Usage: /usr/bin/python3 resnet18_preprocess_reference.py RESNET_PREPROCESS_ONNX OUT_DIR IMAGE...
"""
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper
from PIL import Image, ImageOps


def load_rgb(path):
    img = Image.open(path)
    img = ImageOps.exif_transpose(img)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img)
    return img.convert("RGB")


def mean_image(path):
    model = onnx.load(path)
    ops = [n.op_type for n in model.graph.node]
    assert ops == ["Split", "Concat", "Sub"], ops
    (mean,) = [numpy_helper.to_array(t) for t in model.graph.initializer if t.name == "MeanImage"]
    assert mean.shape == (1, 3, 224, 224) and mean.dtype == np.float32, (mean.shape, mean.dtype)
    return mean[0]


def preprocess(path, mean):
    img = load_rgb(path)
    w, h = img.size
    if w <= h:
        size = (256, int(256 * h / w))
    else:
        size = (int(256 * w / h), 256)
    img = img.resize(size, Image.BILINEAR)
    left = int(round((size[0] - 224) / 2.0))
    top = int(round((size[1] - 224) / 2.0))
    img = img.crop((left, top, left + 224, top + 224))
    rgb = np.asarray(img, dtype=np.float32).transpose(2, 0, 1)
    bgr = rgb[::-1]
    return np.ascontiguousarray(bgr - mean, dtype=np.float32)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    mean = mean_image(sys.argv[1])
    out_dir = sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    for path in sys.argv[3:]:
        preprocess(path, mean).tofile(os.path.join(out_dir, os.path.basename(path) + ".f32"))
    print(f"wrote {len(sys.argv) - 3} tensors, mean image channel means (BGR) {mean.mean(axis=(1, 2)).tolist()}")


if __name__ == "__main__":
    main()
