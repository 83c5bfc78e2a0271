#!/usr/bin/env python3
"""Reference preprocessing for ImageSimilarity's parity tests.

Generates a set of test images (sizes, aspect ratios, alpha, palette, grayscale, EXIF orientations, JPEG,
progressive and CMYK JPEG, WebP, GIF, BMP) into OUT_DIR, then writes what the real Python pipelines make of
each one:

  <name>.torchvision.f32  torchvision Resize(256) + CenterCrop(224) + ToTensor(): 3x224x224 float32 on [0, 1]
  <name>.keras-caffe.f32  Keras load_img(target_size=(224, 224)) (PIL nearest) + preprocess_input('caffe')

torchvision's starts from PIL's decode with ImageOps.exif_transpose and transparency composited over white, as the
library's torchvision preset does; Keras' is load_img exactly: PIL's decode, convert('RGB') when the mode is not RGB
(alpha dropped, not composited; palette transparency ignored), no EXIF transpose. manifest.json lists every image with its format and whether it is lossless.

Usage: /usr/bin/python3 preprocess_reference.py OUT_DIR
"""
import json
import os
import sys

import numpy as np
from PIL import Image, ImageOps
from torchvision import transforms

CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)


def load_rgb(path):
    img = Image.open(path)
    img = ImageOps.exif_transpose(img)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img)
    return img.convert("RGB")


TORCHVISION = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor()])


def torchvision_unit(path):
    return TORCHVISION(load_rgb(path)).numpy().astype(np.float32)


def keras_caffe(path):
    # Keras' load_img exactly: no EXIF transpose, convert('RGB') (alpha dropped, not composited) only when not RGB.
    img = Image.open(path)
    if img.mode != "RGB":
        img = img.convert("RGB")
    if img.size != (224, 224):
        img = img.resize((224, 224), Image.NEAREST)
    x = np.asarray(img, dtype=np.float32)[..., ::-1] - CAFFE_MEAN_BGR
    return np.ascontiguousarray(x.transpose(2, 0, 1), dtype=np.float32)


def scene(width, height, seed, channels=3):
    """A photo-like picture: smooth gradients, discs and fine texture, so resampling is exercised everywhere."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.zeros((height, width, channels), dtype=np.float32)
    for c in range(channels):
        fx, fy = rng.uniform(0.5, 4.0, 2)
        img[..., c] = 127 + 100 * np.sin(x / width * fx * np.pi + c) * np.cos(y / height * fy * np.pi)
    for _ in range(6):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        r = rng.uniform(0.05, 0.3) * min(width, height)
        mask = (x - cx) ** 2 + (y - cy) ** 2 < r * r
        img[mask] = rng.uniform(0, 255, channels)
    img += rng.normal(0, 12, img.shape)
    stripes = ((x // 3 + y // 5) % 2) * 30
    img += stripes[..., None]
    return np.clip(img, 0, 255).astype(np.uint8)


def exif_with_orientation(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    items = []

    def add(name, fmt, lossless, writer):
        path = os.path.join(out, name)
        writer(path)
        items.append({"file": name, "format": fmt, "lossless": lossless})

    # Lossless PNGs: sizes and aspect ratios (odd sizes, upscaling, exact 256 and 224 sides, extreme ratios).
    for i, (w, h) in enumerate([(300, 200), (200, 300), (257, 513), (640, 480), (224, 224), (256, 384),
                                (1001, 77), (61, 45), (300, 224), (224, 300), (1600, 1200), (513, 257)]):
        add(f"rgb_{w}x{h}.png", "png", True, lambda p, w=w, h=h, i=i: Image.fromarray(scene(w, h, i)).save(p))

    def rgba(p, w=320, h=240):
        pix = scene(w, h, 100, 4)
        yy, xx = np.mgrid[0:h, 0:w]
        pix[..., 3] = ((xx * 255) // (w - 1)).astype(np.uint8)
        pix[: h // 4, :, 3] = 0
        pix[h // 4: h // 2, :, 3] = 255
        Image.fromarray(pix, "RGBA").save(p)

    add("rgba_320x240.png", "png", True, rgba)
    add("gray_300x410.png", "png", True, lambda p: Image.fromarray(scene(300, 410, 7, 1)[..., 0], "L").save(p))

    def gray_alpha(p):
        pix = scene(280, 300, 8, 2)
        Image.fromarray(pix, "LA").save(p)

    add("gray_alpha_280x300.png", "png", True, gray_alpha)

    def palette(p, transparent):
        img = Image.fromarray(scene(350, 260, 9)).convert("P", palette=Image.ADAPTIVE, colors=64)
        if transparent:
            img.info["transparency"] = 3
            img.save(p, transparency=3)
        else:
            img.save(p)

    add("palette_350x260.png", "png", True, lambda p: palette(p, False))
    add("palette_transparent_350x260.png", "png", True, lambda p: palette(p, True))
    add("rgb_400x300.bmp", "bmp", True, lambda p: Image.fromarray(scene(400, 300, 11)).save(p, "BMP"))
    add("palette_300x300.gif", "gif", True,
        lambda p: Image.fromarray(scene(300, 300, 12)).convert("P", palette=Image.ADAPTIVE, colors=128).save(p, "GIF"))
    add("lossless_300x280.webp", "webp", True,
        lambda p: Image.fromarray(scene(300, 280, 13)).save(p, "WEBP", lossless=True))

    # EXIF orientations 1-8: cameras write them into JPEGs, so these are JPEGs (reported with the lossy group).
    for orientation in range(1, 9):
        add(f"exif_orientation_{orientation}.jpg", "jpeg", False,
            lambda p, o=orientation: Image.fromarray(scene(360, 240, 20 + o)).save(p, "JPEG", quality=92, exif=exif_with_orientation(o)))

    add("photo_640x480.jpg", "jpeg", False, lambda p: Image.fromarray(scene(640, 480, 30)).save(p, "JPEG", quality=90))
    add("photo_q60_500x700.jpg", "jpeg", False, lambda p: Image.fromarray(scene(500, 700, 31)).save(p, "JPEG", quality=60))
    add("progressive_480x360.jpg", "jpeg", False,
        lambda p: Image.fromarray(scene(480, 360, 32)).save(p, "JPEG", quality=85, progressive=True))
    add("gray_320x240.jpg", "jpeg", False, lambda p: Image.fromarray(scene(320, 240, 33, 1)[..., 0], "L").save(p, "JPEG", quality=90))
    add("cmyk_300x300.jpg", "jpeg", False, lambda p: Image.fromarray(scene(300, 300, 34)).convert("CMYK").save(p, "JPEG", quality=95))
    add("lossy_400x300.webp", "webp", False, lambda p: Image.fromarray(scene(400, 300, 35)).save(p, "WEBP", quality=80))

    def lossy_alpha_webp(p):
        pix = scene(300, 300, 36, 4)
        pix[..., 3] = np.linspace(0, 255, 300, dtype=np.uint8)[None, :]
        Image.fromarray(pix, "RGBA").save(p, "WEBP", quality=80)

    add("lossy_alpha_300x300.webp", "webp", False, lossy_alpha_webp)

    for item in items:
        path = os.path.join(out, item["file"])
        torchvision_unit(path).tofile(path + ".torchvision.f32")
        keras_caffe(path).tofile(path + ".keras-caffe.f32")

    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump({"pillow": Image.__version__, "images": items}, f, indent=1)
    print(f"wrote {len(items)} images and their reference tensors to {out}")


if __name__ == "__main__":
    main()
