#!/usr/bin/python3
# PyTorch (CPU) benchmark peer: training / inference throughput of the same networks as wasmgrad's
# models/{mlp,mlp512,cnn}.json, measured the way bench/peers/tfjs-peer.mjs measures tfjs.
#
#   bash bench/peers/install-torch.sh     # Debian's python3-torch (1.13.1), for /usr/bin/python3
#   /usr/bin/python3 bench/peers/torch-peer.py --model cnn --batch 64 --threads 1 --infer-batch 1,64,512 --json
#
# Run it with /usr/bin/python3: Debian's python3-torch installs for the system interpreter only, and a pyenv
# python3 earlier on PATH does not see it. (Debian's 1.13.1 build reports torch.__version__ "1.13.0a0".)
#
# Options (defaults in brackets):
#   --model mlp|mlp512|cnn [mlp]   input 1×28×28 (NCHW), Glorot-uniform weights, zero biases:
#                          mlp    = Flatten-Linear(784,128)-ReLU-Linear(128,10)
#                          mlp512 = Flatten-Linear(784,512)-ReLU-Dropout(0.2)-Linear(512,10)
#                          cnn    = Conv2d(1,32,3)-ReLU-MaxPool(2)-Conv2d(32,64,3)-ReLU-MaxPool(2)
#                                   -Conv2d(64,64,3)-ReLU-Flatten-Linear(576,64)-ReLU-Linear(64,10)
#                          The last layer gives logits; training uses CrossEntropyLoss on them (= Dense(10,
#                          softmax) + sparse categorical cross-entropy), optimizer Adam(lr 1e-3), as tfjs-peer.
#   --batch N [64]  --samples N [8000]  --epochs N [1]
#   --warmup N [10]        training steps run before timing starts (not counted)
#   --chunk N [0 = auto]   steps per timed chunk; auto gives about 12 chunks per run (≥ 1 step each)
#   --max-seconds S [60]   stop timed training after S seconds (reported as truncated)
#   --infer-batch LIST [256]   comma-separated inference batch sizes, e.g. 1,64,512
#   --infer-samples N [2048]   samples per timed inference pass (rounded up to whole batches, ≥ 1 batch)
#   --threads N            torch.set_num_threads(N) and torch.set_num_interop_threads(1) [torch's defaults];
#                          also OPENBLAS_NUM_THREADS=N unless set (the pthread OpenBLAS ignores torch's setting)
#   --omp-wait passive|active  set OMP_WAIT_POLICY before torch loads [unset: libgomp's default, spin then
#                          sleep]. On a busy machine with --threads ≥ the free cores, spinning OpenMP workers
#                          can make training 10-30× slower; passive avoids that collapse (costs a little when idle)
#   --seed N [1]  --json   print one JSON object instead of the table
#
# Data: the real MNIST digits wasmgrad embeds, build/mnist-sample/train-{images-idx3,labels-idx1}-ubyte.gz
# (relative to the repository root; 8000 images, pixels / 255). When they are missing the data is synthetic
# (uniform [0,1) images, uniform labels) and "data" in the output says so. More --samples than the sample
# has are taken cyclically. One epoch = floor(samples / batch) full batches, in order; each batch is a view
# (slice) of one preloaded float32 tensor, as a plain in-memory PyTorch training loop does.
# Training samples/s is the median over timed chunks of (steps·batch)/(chunk wall time); every step reads its
# loss back with .item(). Inference: model.eval() under torch.no_grad(), forward + softmax; per batch size one
# untimed pass, then the median of 3 timed passes (samples/s of each pass).
#
# BLAS: Debian's torch does its fp32 Linear/matmul through the system libblas.so.3 (BLAS_INFO=generic) and
# convolutions through oneDNN. With only python3-torch installed (--no-install-recommends) libblas.so.3 is the
# reference (netlib) BLAS, which makes the MLPs ~10× slower than with OpenBLAS; install-torch.sh therefore
# also installs libopenblas0-openmp (libtorch1.13 recommends libopenblas0). "blas" in the output names the
# library actually loaded, and "warnings" flags the reference one.

import argparse
import gzip
import math
import os
import platform
import statistics
import struct
import sys
import time
from pathlib import Path

torch = nn = F = None  # imported in import_torch(), after the options that must precede loading it
ENV_KEYS = ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "GOMP_SPINCOUNT", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def import_torch(opts):
    global torch, nn, F
    # libgomp and OpenBLAS read these when they are loaded (as torch's dependencies), not later.
    if opts.omp_wait:
        os.environ["OMP_WAIT_POLICY"] = opts.omp_wait.upper()
    if opts.threads is not None:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", str(opts.threads))
    try:
        import torch as _torch
        import torch.nn as _nn
        import torch.nn.functional as _F
    except ImportError as e:
        sys.stderr.write(
            f"torch-peer: cannot import torch with {sys.executable} ({e}).\n"
            "  Run bash bench/peers/install-torch.sh, then use /usr/bin/python3 (Debian's python3-torch).\n"
        )
        sys.exit(2)
    torch, nn, F = _torch, _nn, _F

REPO_ROOT = Path(__file__).resolve().parents[2]
MNIST_DIR = REPO_ROOT / "build" / "mnist-sample"


# ---------------------------------------------------------------- options

def positive_int(minimum):
    def parse(s):
        try:
            v = int(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer ≥ {minimum}, got '{s}'")
        if v < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer ≥ {minimum}, got '{s}'")
        return v
    return parse


def int_list(s):
    out = []
    for part in s.split(","):
        if not part:
            continue
        try:
            v = int(part)
        except ValueError:
            v = 0
        if v < 1:
            raise argparse.ArgumentTypeError(f"entries must be positive integers, got '{part}'")
        out.append(v)
    return out


def parse_options(argv):
    p = argparse.ArgumentParser(
        prog="torch-peer.py",
        description="PyTorch CPU benchmark peer (see the header comment of this file).",
    )
    p.add_argument("--model", choices=["mlp", "mlp512", "cnn"], default="mlp")
    p.add_argument("--batch", type=positive_int(1), default=64)
    p.add_argument("--samples", type=positive_int(1), default=8000)
    p.add_argument("--epochs", type=positive_int(1), default=1)
    p.add_argument("--warmup", type=positive_int(0), default=10)
    p.add_argument("--chunk", type=positive_int(0), default=0)
    p.add_argument("--max-seconds", type=float, default=60.0)
    p.add_argument("--infer-batch", type=int_list, default=[256])
    p.add_argument("--infer-samples", type=positive_int(1), default=2048)
    p.add_argument("--threads", type=positive_int(1), default=None)
    p.add_argument("--omp-wait", choices=["passive", "active"], default=None)
    p.add_argument("--seed", type=positive_int(0), default=1)
    p.add_argument("--json", action="store_true")
    return p.parse_args(argv)


# ---------------------------------------------------------------- data

def read_idx(path):
    """Gzipped IDX file → (dims, raw uint8 bytes)."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file (magic {data[:4].hex()})")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    body = data[4 + 4 * ndim:]
    if len(body) != math.prod(dims):
        raise ValueError(f"{path}: expected {math.prod(dims)} bytes of data, found {len(body)}")
    return dims, bytearray(body)


def load_data(n, seed):
    """n samples → (images float32 [n,1,28,28], labels int64 [n], description)."""
    img_path = MNIST_DIR / "train-images-idx3-ubyte.gz"
    lab_path = MNIST_DIR / "train-labels-idx1-ubyte.gz"
    try:
        idims, ibytes = read_idx(img_path)
        ldims, lbytes = read_idx(lab_path)
        if len(idims) != 3 or idims[1:] != (28, 28) or len(ldims) != 1 or ldims[0] != idims[0]:
            raise ValueError(f"unexpected IDX shapes {idims} / {ldims}")
        avail = idims[0]
        images = torch.frombuffer(ibytes, dtype=torch.uint8).reshape(avail, 1, 28, 28).float().div_(255.0)
        labels = torch.frombuffer(lbytes, dtype=torch.uint8).long()
        if n > avail:
            reps = -(-n // avail)
            images = images.repeat(reps, 1, 1, 1)
            labels = labels.repeat(reps)
        images = images[:n].contiguous()
        labels = labels[:n].contiguous()
        rel = os.path.relpath(MNIST_DIR, REPO_ROOT)
        desc = f"mnist-sample: real MNIST digits from {rel}/train-*-ubyte.gz ({avail} images" + (
            f", cycled to {n})" if n > avail else f", first {n} used)")
        return images, labels, desc
    except (OSError, ValueError) as e:
        g = torch.Generator().manual_seed(seed)
        images = torch.rand(n, 1, 28, 28, generator=g)
        labels = torch.randint(0, 10, (n,), generator=g)
        return images, labels, f"random: synthetic uniform images/labels (MNIST sample unavailable: {e})"


# ---------------------------------------------------------------- models

def build_model(kind):
    if kind == "mlp":
        layers = [nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)]
    elif kind == "mlp512":
        layers = [nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.2), nn.Linear(512, 10)]
    else:
        layers = [
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 64, 3), nn.ReLU(),
            nn.Flatten(), nn.Linear(3 * 3 * 64, 64), nn.ReLU(), nn.Linear(64, 10),
        ]
    model = nn.Sequential(*layers)
    # Keras/tfjs defaults (Glorot-uniform kernels, zero biases) rather than PyTorch's Kaiming-uniform.
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return model


# ---------------------------------------------------------------- measurements

def now():
    return time.perf_counter()


def rnd(x, digits=1):
    return round(x, digits) if isinstance(x, float) and math.isfinite(x) else x


def measure_training(model, opts, images, labels):
    batch = opts.batch
    steps_per_epoch = opts.samples // batch
    if steps_per_epoch < 1:
        raise SystemExit(f"--samples {opts.samples} is smaller than --batch {batch}")
    total_steps = steps_per_epoch * opts.epochs
    chunk_steps = opts.chunk if opts.chunk > 0 else max(1, total_steps // 12)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    model.train()

    def run_step(step):
        i = (step % steps_per_epoch) * batch
        x = images[i:i + batch]
        y = labels[i:i + batch]
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()

    first_loss = float("nan")
    warm_start = now()
    for i in range(opts.warmup):
        l = run_step(i)
        if i == 0:
            first_loss = l
    warmup_seconds = now() - warm_start

    chunks = []
    step = 0
    last_loss = float("nan")
    truncated = False
    start = now()
    while step < total_steps:
        n = min(chunk_steps, total_steps - step)
        t0 = now()
        for i in range(n):
            last_loss = run_step(step + i)
            if not math.isfinite(first_loss):
                first_loss = last_loss
        dt = now() - t0
        step += n
        chunks.append({"steps": n, "seconds": dt, "samplesPerSec": n * batch / dt})
        if now() - start > opts.max_seconds and step < total_steps:
            truncated = True
            break
    seconds = now() - start
    # A partial last chunk is noisier; leave it out of the median when there are enough full ones.
    full = [c for c in chunks if c["steps"] == chunk_steps]
    for_median = full if len(full) >= 3 else chunks
    return {
        "batch": batch,
        "samplesPerSec": rnd(statistics.median(c["samplesPerSec"] for c in for_median)),
        "meanSamplesPerSec": rnd(step * batch / seconds),
        "stepsTimed": step,
        "samplesTimed": step * batch,
        "stepsPlanned": total_steps,
        "chunkSteps": chunk_steps,
        "chunks": [{"steps": c["steps"], "seconds": rnd(c["seconds"], 4), "samplesPerSec": rnd(c["samplesPerSec"])}
                   for c in chunks],
        "seconds": rnd(seconds, 3),
        "warmupSteps": opts.warmup,
        "warmupSeconds": rnd(warmup_seconds, 3),
        "truncated": truncated,
        "firstLoss": rnd(first_loss, 4),
        "lastLoss": rnd(last_loss, 4),
    }


def measure_inference(model, batch, opts, images, seed):
    available = images.shape[0]
    batches_per_pass = max(1, -(-opts.infer_samples // batch))
    # Up to 8 distinct input batches (cycled), prepared up front so that is not timed.
    inputs = []
    for b in range(min(batches_per_pass, 8)):
        if batch <= available:
            i = (b * batch) % (available - batch + 1)
            inputs.append(images[i:i + batch].contiguous())
        else:
            g = torch.Generator().manual_seed(seed + b)
            inputs.append(torch.rand(batch, 1, 28, 28, generator=g))
    model.eval()
    rates = []
    deadline = now() + max(2.0, opts.max_seconds / 4)
    with torch.no_grad():
        for p in range(4):  # pass 0 untimed, then 3 timed
            t0 = now()
            for b in range(batches_per_pass):
                probs = F.softmax(model(inputs[b % len(inputs)]), dim=1)
                float(probs[0, 0])  # CPU ops are synchronous; this just touches the result, as an app would
            dt = now() - t0
            if p > 0:
                rates.append(batches_per_pass * batch / dt)
            if p > 0 and now() > deadline:
                break
    return {
        "batch": batch,
        "samplesPerSec": rnd(statistics.median(rates)),
        "passesTimed": len(rates),
        "batchesPerPass": batches_per_pass,
    }


def loaded_blas():
    """Path of the BLAS library mapped into this process (after a matmul has run), or None."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "/" in line}
    except OSError:
        return None
    hits = sorted(p for p in paths if any(k in os.path.basename(p) for k in ("blas", "blis", "mkl_rt", "mkl_core")))
    if not hits:
        return None
    return ", ".join(os.path.realpath(p) for p in hits)


# ---------------------------------------------------------------- main

def main(argv):
    opts = parse_options(argv)
    import_torch(opts)
    if opts.threads is not None:
        torch.set_num_interop_threads(1)  # must precede any inter-op parallel work
        torch.set_num_threads(opts.threads)
    torch.manual_seed(opts.seed)

    n = max(opts.samples, opts.batch)
    images, labels, data_desc = load_data(n, opts.seed)
    model = build_model(opts.model)
    params = sum(p.numel() for p in model.parameters())

    train = measure_training(model, opts, images, labels)
    inference = [measure_inference(model, b, opts, images, opts.seed) for b in opts.infer_batch]

    blas = loaded_blas()
    warnings = []
    if blas and "/blas/libblas.so" in blas:
        warnings.append("reference (netlib) BLAS in use: Linear layers are much slower than with an optimized "
                        "BLAS; run bench/peers/install-torch.sh (installs libopenblas0-openmp)")
    if not data_desc.startswith("mnist-sample"):
        warnings.append("MNIST sample missing: synthetic data")
    result = {
        "peer": "pytorch",
        "versions": {"torch": torch.__version__, "python": platform.python_version()},
        "threads": torch.get_num_threads(),
        "interopThreads": torch.get_num_interop_threads(),
        "host": {"cpus": os.cpu_count(), "cpuModel": cpu_model(), "python": sys.executable},
        "mkldnn": bool(torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled),
        "blas": blas,
        "env": {k: os.environ[k] for k in ENV_KEYS if k in os.environ},
        "warnings": warnings,
        "model": opts.model,
        "params": params,
        "samples": opts.samples,
        "epochs": opts.epochs,
        "train": train,
        "inference": inference,
        "data": data_desc,
    }

    if opts.json:
        import json
        print(json.dumps(result, indent=2))
        return
    print(f"PyTorch {torch.__version__} (CPU, {result['threads']} threads, interop {result['interopThreads']}), "
          f"python {platform.python_version()}, blas {result['blas']}")
    print(f"data: {data_desc}")
    print(f"model {opts.model} ({params} params), batch {opts.batch}, {train['samplesTimed']} samples timed"
          f"{' (truncated by --max-seconds)' if train['truncated'] else ''}, "
          f"loss {train['firstLoss']} → {train['lastLoss']}")
    print(f"  train      {train['samplesPerSec']:>10} samples/s (median of {len(train['chunks'])} chunks × "
          f"{train['chunkSteps']} steps; mean {train['meanSamplesPerSec']})")
    for r in inference:
        print(f"  infer b{r['batch']:<4} {r['samplesPerSec']:>10} samples/s")
    for w in warnings:
        print(f"  warning: {w}")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


if __name__ == "__main__":
    main(sys.argv[1:])
