#!/usr/bin/python3
"""Reference data for the Keras VGG16 (.h5) tests, written by Debian's python3-h5py and computed with Keras semantics.

Usage:
  keras_reference.py full OUTDIR
      Takes the seeded random torchvision VGG16 of vgg16_reference.py (seed 1234, the weights of the parity tests),
      converts it to Keras' layout in numpy and writes it with h5py:
        vgg16_keras.h5        the layout of Keras' applications file vgg16_weights_tf_dim_ordering_tf_kernels.h5
                              (layer groups at the root, root attributes layer_names/backend/keras_version, each layer
                              group's weight_names; conv kernels (H, W, in, out), dense kernels (in, out), fc1's rows in
                              Keras' (H, W, C) flatten order, plus the 1000-way 'predictions' layer)
        vgg16_keras_model.h5  the layout of a full model saved with model.save('x.h5'): the same under 'model_weights',
                              weight datasets nested as <layer>/<layer>/kernel:0, a model_config attribute at the root
        inputs.f32            N x 3 x 224 x 224 float32 (CHW, BGR, caffe means subtracted) the network inputs: Keras'
                              load_img(target_size=(224, 224)) + preprocess_input('caffe') of each image, then one
                              random tensor
        features.f32          N x 4096 float32: fc2 (after ReLU) computed with Keras semantics straight from the
                              Keras-layout arrays read back from vgg16_keras.h5 (NHWC activations, convolutions with
                              the HWIO kernels, fc1 applied to the H, W, C flattening), in numpy
        manifest.json         image paths in order, counts, versions
      Images: synthetic ones drawn with PIL (RGB, greyscale, RGBA with transparent pixels that store colours, a palette
      PNG with a transparent index) into OUTDIR/images.
  keras_reference.py broken OUTDIR
      Small HDF5 files for the error tests (datasets allocated lazily, so no data is written):
        notop.h5 (conv layers only), missing_layer.h5 (no block3_conv2), wrong_shape.h5 (fc2 kernel (4096, 1000),
        block1_conv1 kernel in torch's (out, in, H, W) order), not_keras.h5 (an HDF5 file without layer_names)
  keras_reference.py npy OUTDIR VECTORS.f32 NAMES.txt
      A Python index saved with NumPy, from raw float32 rows and their names: vectors.npy (float32), index.npz
      (features float32 + names <U), vectors64_fortran.npy (float64, Fortran order), names.npy (<U), names_bytes.npy (S),
      objects.npy (dtype=object: a pickle, which the importer must refuse)
  keras_reference.py pillow OUTDIR IMAGE...
      For each IMAGE, OUTDIR/<index>.keras-caffe.f32: the 3x224x224 CHW input that Keras' load_img + preprocess_input
      make of it (Pillow open, convert('RGB') when the mode is not RGB, resize NEAREST to 224x224).
"""

import json
import os
import sys

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)

# Keras' VGG16 layer names, in model order, with the torchvision parameter each weighted layer corresponds to.
CONV_LAYERS = [("block1_conv1", 0), ("block1_conv2", 2), ("block2_conv1", 5), ("block2_conv2", 7),
               ("block3_conv1", 10), ("block3_conv2", 12), ("block3_conv3", 14), ("block4_conv1", 17),
               ("block4_conv2", 19), ("block4_conv3", 21), ("block5_conv1", 24), ("block5_conv2", 26),
               ("block5_conv3", 28)]
ALL_LAYERS = ["input_1", "block1_conv1", "block1_conv2", "block1_pool", "block2_conv1", "block2_conv2", "block2_pool",
              "block3_conv1", "block3_conv2", "block3_conv3", "block3_pool", "block4_conv1", "block4_conv2",
              "block4_conv3", "block4_pool", "block5_conv1", "block5_conv2", "block5_conv3", "block5_pool", "flatten",
              "fc1", "fc2", "predictions"]


def load_img_keras(path):
    """keras.utils.load_img(path, target_size=(224, 224)): Pillow, convert('RGB') only when needed, NEAREST, no crop."""
    with open(path, "rb") as f:
        import io
        img = Image.open(io.BytesIO(f.read()))
        if img.mode != "RGB":
            img = img.convert("RGB")
        if img.size != (224, 224):
            img = img.resize((224, 224), Image.NEAREST)
        return np.asarray(img, dtype=np.float32)


def preprocess_caffe(hwc_rgb):
    """preprocess_input(mode='caffe'): RGB -> BGR, minus the ImageNet means; no scaling. Returns HWC."""
    return hwc_rgb[..., ::-1] - CAFFE_MEAN_BGR


def keras_arrays(sd):
    """torchvision state dict -> {layer: [kernel, bias]} in Keras' layout (numpy float32)."""
    out = {}
    for name, index in CONV_LAYERS:
        w = sd[f"features.{index}.weight"].numpy()           # (out, in, H, W)
        out[name] = [np.ascontiguousarray(w.transpose(2, 3, 1, 0)), sd[f"features.{index}.bias"].numpy()]  # (H, W, in, out)
    fc1 = sd["classifier.0.weight"].numpy().reshape(4096, 512, 7, 7)   # (out, C, H, W)
    out["fc1"] = [np.ascontiguousarray(fc1.transpose(2, 3, 1, 0).reshape(7 * 7 * 512, 4096)), sd["classifier.0.bias"].numpy()]
    out["fc2"] = [np.ascontiguousarray(sd["classifier.3.weight"].numpy().T), sd["classifier.3.bias"].numpy()]
    out["predictions"] = [np.ascontiguousarray(sd["classifier.6.weight"].numpy().T), sd["classifier.6.bias"].numpy()]
    return out


def names_attr(names):
    return np.array([n.encode("utf8") for n in names], dtype=f"S{max([len(n) for n in names] + [1])}")


def write_applications_layout(path, arrays, layers=ALL_LAYERS, shapes_only=None):
    """Keras 2 save_weights / the applications files: one group per layer at the root, named by layer_names."""
    import h5py
    with h5py.File(path, "w") as f:
        write_layers(f, arrays, layers, nested=False, shapes_only=shapes_only)
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.0.8"


def write_layers(g, arrays, layers, nested, shapes_only=None):
    g.attrs["layer_names"] = names_attr(layers)
    for layer in layers:
        lg = g.create_group(layer)
        weights = (shapes_only or {}).get(layer) or arrays.get(layer)
        if weights is None:
            lg.attrs["weight_names"] = np.array([], dtype="S1")
            continue
        wn = [f"{layer}/kernel:0", f"{layer}/bias:0"] if nested else [f"{layer}_W_1:0", f"{layer}_b_1:0"]
        lg.attrs["weight_names"] = names_attr(wn)
        for n, a in zip(wn, weights):
            if isinstance(a, tuple):  # a shape only: allocated lazily, nothing written
                lg.create_dataset(n, shape=a, dtype="<f4")
            else:
                lg.create_dataset(n, data=np.asarray(a, dtype="<f4"))


def write_model_layout(path, arrays):
    """A full model saved with model.save('x.h5') (Keras 2 legacy HDF5): weights under 'model_weights'."""
    import h5py
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"2.11.0"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = json.dumps({"class_name": "Functional", "config": {"name": "vgg16"}}).encode("utf8")
        mw = f.create_group("model_weights")
        write_layers(mw, arrays, ALL_LAYERS[:-1], nested=True)  # truncated at fc2, as the recipe's model
        mw.attrs["backend"] = b"tensorflow"
        mw.attrs["keras_version"] = b"2.11.0"


def conv_same_nhwc(x, kernel, bias):
    """3x3 'same' convolution of NHWC activations with an HWIO kernel: the sum of 9 shifted matrix products."""
    n, h, w, _ = x.shape
    kh, kw, _, cout = kernel.shape
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    out = np.zeros((n, h, w, cout), dtype=np.float32)
    for dy in range(kh):
        for dx in range(kw):
            out += padded[:, dy:dy + h, dx:dx + w, :] @ kernel[dy, dx]
    out += bias
    return np.maximum(out, 0, out=out)


def maxpool_nhwc(x):
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def keras_fc2(h5path, nhwc):
    """fc2 features with Keras semantics, from the arrays as stored in the .h5 (read back through h5py)."""
    import h5py
    with h5py.File(h5path, "r") as f:
        def weights(layer):
            g = f[layer]
            return [np.asarray(g[n.decode("utf8")], dtype=np.float32) for n in g.attrs["weight_names"]]

        x = nhwc.astype(np.float32)
        for block, convs in [(1, 2), (2, 2), (3, 3), (4, 3), (5, 3)]:
            for i in range(1, convs + 1):
                k, b = weights(f"block{block}_conv{i}")
                x = conv_same_nhwc(x, k, b)
            x = maxpool_nhwc(x)
        x = x.reshape(x.shape[0], -1)  # Keras' Flatten of NHWC: H, W, C order
        k, b = weights("fc1")
        x = np.maximum(x @ k + b, 0)
        k, b = weights("fc2")
        return np.maximum(x @ k + b, 0)


def synthetic_images(folder):
    import vgg16_reference
    paths = vgg16_reference.synthetic_images(folder)
    rng = np.random.default_rng(11)
    # RGBA whose transparent pixels store bright colours: convert('RGB') keeps them, compositing would whiten them.
    w, h = 300, 260
    pix = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    pix[..., 3] = 255
    pix[: h // 3, :, 3] = 0
    pix[h // 3: h // 2, :, 3] = 90
    rgba = os.path.join(folder, "alpha_rgba.png")
    Image.fromarray(pix, "RGBA").save(rgba)
    # Palette PNG with a transparent index that covers a large area.
    img = Image.new("RGB", (240, 320), (30, 160, 90))
    d = ImageDraw.Draw(img)
    d.rectangle([20, 20, 200, 150], fill=(250, 10, 10))
    d.ellipse([40, 160, 220, 300], fill=(10, 10, 240))
    p = img.convert("P", palette=Image.ADAPTIVE, colors=16)
    index = p.getpixel((100, 80))
    pal = os.path.join(folder, "palette_transparent.png")
    p.save(pal, transparency=index)
    return paths + [rgba, pal]


def full(outdir):
    import h5py
    import torch
    import vgg16_reference
    os.makedirs(outdir, exist_ok=True)
    model = vgg16_reference.fc2_model(1234)
    arrays = keras_arrays(model.state_dict())
    h5 = os.path.join(outdir, "vgg16_keras.h5")
    write_applications_layout(h5, arrays)
    write_model_layout(os.path.join(outdir, "vgg16_keras_model.h5"), arrays)

    images = synthetic_images(os.path.join(outdir, "images"))
    xs = [preprocess_caffe(load_img_keras(p)) for p in images]
    rng = np.random.default_rng(99)
    xs.append((rng.standard_normal((224, 224, 3)) * 60).astype(np.float32))
    nhwc = np.stack(xs).astype(np.float32)
    feats = keras_fc2(h5, nhwc)
    np.ascontiguousarray(nhwc.transpose(0, 3, 1, 2)).astype("<f4").tofile(os.path.join(outdir, "inputs.f32"))
    feats.astype("<f4").tofile(os.path.join(outdir, "features.f32"))
    with open(os.path.join(outdir, "manifest.json"), "w") as f:
        json.dump({"images": [os.path.abspath(p) for p in images], "inputs": len(xs), "h5py": h5py.__version__,
                   "hdf5": h5py.version.hdf5_version, "numpy": np.__version__, "torch": torch.__version__}, f, indent=1)


def broken(outdir):
    import h5py
    os.makedirs(outdir, exist_ok=True)
    shapes = {}
    cin = 3
    for name, _ in CONV_LAYERS:
        cout = 64 if name.startswith("block1") else 128 if name.startswith("block2") else 256 if name.startswith("block3") else 512
        shapes[name] = [(3, 3, cin, cout), (cout,)]
        cin = cout
    shapes["fc1"] = [(25088, 4096), (4096,)]
    shapes["fc2"] = [(4096, 4096), (4096,)]
    shapes["predictions"] = [(4096, 1000), (1000,)]
    notop = [n for n in ALL_LAYERS if n.startswith("block") or n == "input_1"]
    write_applications_layout(os.path.join(outdir, "notop.h5"), {}, notop, shapes)
    missing = [n for n in ALL_LAYERS if n != "block3_conv2"]
    write_applications_layout(os.path.join(outdir, "missing_layer.h5"), {}, missing, shapes)
    wrong = dict(shapes)
    wrong["fc2"] = [(4096, 1000), (1000,)]
    wrong["block1_conv1"] = [(64, 3, 3, 3), (64,)]
    write_applications_layout(os.path.join(outdir, "wrong_shape.h5"), {}, ALL_LAYERS, wrong)
    with h5py.File(os.path.join(outdir, "not_keras.h5"), "w") as f:
        f.create_dataset("measurements/temperature", data=np.arange(10, dtype="<f8"))
        f.attrs["instrument"] = b"thermometer"


def pillow(outdir, images):
    os.makedirs(outdir, exist_ok=True)
    for i, p in enumerate(images):
        x = preprocess_caffe(load_img_keras(p))
        np.ascontiguousarray(x.transpose(2, 0, 1)).astype("<f4").tofile(os.path.join(outdir, f"{i}.keras-caffe.f32"))


def npy(outdir, f32, names_path):
    os.makedirs(outdir, exist_ok=True)
    with open(names_path, encoding="utf8") as f:
        names = [line.strip() for line in f if line.strip()]
    vectors = np.fromfile(f32, dtype="<f4").reshape(len(names), -1)
    np.save(os.path.join(outdir, "vectors.npy"), vectors)
    np.savez(os.path.join(outdir, "index.npz"), features=vectors, names=np.array(names, dtype=str))
    np.save(os.path.join(outdir, "vectors64_fortran.npy"), np.asfortranarray(vectors.astype(np.float64)))
    np.save(os.path.join(outdir, "names.npy"), np.array(names, dtype=str))
    np.save(os.path.join(outdir, "names_bytes.npy"), np.array([n.encode("utf8") for n in names]))
    np.save(os.path.join(outdir, "objects.npy"), np.array([vectors[0], "x"], dtype=object), allow_pickle=True)


def main(argv):
    if len(argv) == 3 and argv[1] == "full":
        full(argv[2])
    elif len(argv) == 3 and argv[1] == "broken":
        broken(argv[2])
    elif len(argv) == 5 and argv[1] == "npy":
        npy(argv[2], argv[3], argv[4])
    elif len(argv) >= 3 and argv[1] == "pillow":
        pillow(argv[2], argv[3:])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
