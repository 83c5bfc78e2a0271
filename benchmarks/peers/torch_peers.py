#!/usr/bin/env python3
"""Side-by-side peer measurements with Debian's PyTorch, for docs/benchmarks.md.

  torch_peers.py forward  --threads N --batches 1,8,16 --iterations K   torchvision VGG16 up to fc2+ReLU, fp32, img/s
  torch_peers.py gemm     --threads N --size 4096                       achievable matmul GFLOPS, fp32 and bf16
  torch_peers.py onnx     OUT.onnx                                      export the same network (dynamic batch) for ONNX Runtime

Prints one JSON object per line. Weights are random (seeded): speed does not depend on their values.
"""
import argparse
import json
import time

import torch
import torchvision


def fc2_model():
    torch.manual_seed(0)
    model = torchvision.models.vgg16()
    # Up to the ReLU after classifier.3 (fc2): the 4096-float feature the library extracts.
    model.classifier = torch.nn.Sequential(*list(model.classifier.children())[:5])
    return model.eval()


CPU = {"seconds": 0.0}


def timed(fn, iterations):
    fn()  # warm-up (allocations, oneDNN primitive creation)
    times = []
    cpu = time.process_time()
    for _ in range(iterations):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    # Process CPU time per run (all threads): compares work done even when the machine is shared.
    CPU["seconds"] = (time.process_time() - cpu) / iterations
    times.sort()
    return times[len(times) // 2]


def forward(args):
    torch.set_num_threads(args.threads)
    model = fc2_model()
    for batch in [int(b) for b in args.batches.split(",")]:
        x = torch.randn(batch, 3, 224, 224)
        with torch.inference_mode():
            seconds = timed(lambda: model(x), args.iterations)
        print(json.dumps({"peer": "pytorch", "version": torch.__version__, "precision": "fp32", "batch": batch,
                          "threads": args.threads, "seconds_per_batch": seconds, "cpu_seconds_per_batch": CPU["seconds"],
                          "images_per_second": batch / seconds}), flush=True)


def gemm(args):
    torch.set_num_threads(args.threads)
    n = args.size
    for dtype, name in [(torch.float32, "fp32"), (torch.bfloat16, "bf16")]:
        a = torch.randn(n, n).to(dtype)
        b = torch.randn(n, n).to(dtype)
        with torch.inference_mode():
            seconds = timed(lambda: torch.matmul(a, b), args.iterations)
        print(json.dumps({"probe": "gemm", "library": "pytorch " + torch.__version__, "precision": name, "size": n,
                          "threads": args.threads, "gflops": 2 * n ** 3 / seconds / 1e9}), flush=True)


def onnx(args):
    model = fc2_model()
    x = torch.randn(1, 3, 224, 224)
    torch.onnx.export(model, x, args.output, input_names=["input"], output_names=["fc2"],
                      dynamic_axes={"input": {0: "batch"}, "fc2": {0: "batch"}}, opset_version=13)
    print(json.dumps({"onnx": args.output}), flush=True)


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    f = sub.add_parser("forward")
    f.add_argument("--threads", type=int, default=torch.get_num_threads())
    f.add_argument("--batches", default="1,8,16")
    f.add_argument("--iterations", type=int, default=5)
    g = sub.add_parser("gemm")
    g.add_argument("--threads", type=int, default=torch.get_num_threads())
    g.add_argument("--size", type=int, default=4096)
    g.add_argument("--iterations", type=int, default=5)
    o = sub.add_parser("onnx")
    o.add_argument("output")
    args = parser.parse_args()
    {"forward": forward, "gemm": gemm, "onnx": onnx}[args.command](args)


if __name__ == "__main__":
    main()
