"""The PyTorch side of issue #18's time-to-accuracy comparison: tuomaso/train_mnist_fast's recipe
("99% in 0.76 s" on a GPU) on the CPU, with the bundled MNIST.

  conv 1->24 5x5, max-pool 2, ReLU, conv 24->32 3x3, max-pool 2, ReLU, dense 800->256, ReLU, dense 10
  Adam lr 0.01, betas (0.7, 0.9); OneCycleLR (max 0.01, 30% up, cosine, no momentum cycling);
  batch 256, one epoch, inputs normalized by MNIST's mean and std (0.1307, 0.3081)

Prints one JSON line per seed: training seconds, wall and CPU (all threads; the epoch only: data
loading and evaluation are timed apart), test accuracy, threads and the process's peak RSS. Measuring only: PyTorch is not a
dependency of wasmnist.

  /tmp/torchenv/bin/python bench/torch_recipe.py --threads 2 --seeds 1 2 3
"""
import argparse
import gzip
import json
import os
import resource
import time

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "mnist")


def idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def net():
    return nn.Sequential(
        nn.Conv2d(1, 24, 5), nn.MaxPool2d(2), nn.ReLU(),
        nn.Conv2d(24, 32, 3), nn.MaxPool2d(2), nn.ReLU(),
        nn.Flatten(), nn.Linear(800, 256), nn.ReLU(), nn.Linear(256, 10))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    norm = lambda x: (torch.from_numpy(x.astype(np.float32) / 255.0) - 0.1307) / 0.3081
    xtr = norm(idx("train-images-idx3-ubyte.gz")).unsqueeze(1)
    ytr = torch.from_numpy(idx("train-labels-idx1-ubyte.gz").astype(np.int64))
    xte = norm(idx("t10k-images-idx3-ubyte.gz")).unsqueeze(1)
    yte = torch.from_numpy(idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))
    for seed in a.seeds:
        torch.manual_seed(seed)
        model = net()
        opt = torch.optim.Adam(model.parameters(), lr=0.01, betas=(0.7, 0.9))
        steps = a.epochs * ((len(xtr) + a.batch - 1) // a.batch)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.01, total_steps=steps, pct_start=0.3,
                                                    anneal_strategy="cos", cycle_momentum=False)
        loss_fn = nn.CrossEntropyLoss()
        t0 = time.perf_counter()
        c0 = time.process_time()
        model.train()
        for _ in range(a.epochs):
            perm = torch.randperm(len(xtr))
            for i in range(0, len(xtr), a.batch):
                j = perm[i:i + a.batch]
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(xtr[j]), ytr[j])
                loss.backward()
                opt.step()
                sched.step()
        train_s = time.perf_counter() - t0
        cpu_s = time.process_time() - c0
        model.eval()
        with torch.no_grad():
            correct = sum(int((model(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum()) for i in range(0, len(xte), 1000))
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"who": "pytorch", "seed": seed, "threads": a.threads, "train_s": round(train_s, 3), "train_cpu_s": round(cpu_s, 3),
                          "test_acc": correct / len(xte), "peak_rss_mb": round(rss_mb, 1)}), flush=True)


if __name__ == "__main__":
    main()
