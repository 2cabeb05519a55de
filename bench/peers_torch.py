"""The peers workloads in PyTorch, for the issues' "<= PyTorch on this machine" targets.

Same networks, batch sizes, optimizers and data as `node dist/bench/peers.js` and the trainer:
  W1  784-128-10 ReLU, batch 128, SGD lr 0.1
  W2  784-512-256-10 ReLU, batch 128, Adam 1e-3
  W3  conv 1->8 5x5, relu, maxpool 2, conv 8->16 5x5, relu, maxpool 2, dense 10; batch 64, Adam 1e-3
PyTorch is not a dependency of this project (the repository installs and tests without Python);
this script is for people who have it:

  python3 bench/peers_torch.py [--threads 1] [--epochs 2] [--only W1,W3] [--data data/mnist]

For each workload it prints the median ms per step over the timed steps (after warm-up) and the
seconds of one epoch of MNIST (60000 images, shuffled, normalized x/255 once up front: the batch is
an index_select, which is what a tuned PyTorch loop does), without evaluation.
"""
import argparse, statistics, time
import numpy as np
import torch
from torch import nn
from seed_numpy import idx  # the IDX reader (same folder)


def workloads():
    w1 = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    w2 = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))
    w3 = nn.Sequential(nn.Conv2d(1, 8, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
                       nn.Flatten(), nn.Linear(256, 10))
    return [
        ('W1 784-128-10 SGD', w1, 128, lambda p: torch.optim.SGD(p, lr=0.1)),
        ('W2 784-512-256-10 Adam', w2, 128, lambda p: torch.optim.Adam(p, lr=1e-3)),
        ('W3 CNN, batch 64, Adam', w3, 64, lambda p: torch.optim.Adam(p, lr=1e-3)),
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', default='data/mnist')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--epochs', type=int, default=2, help='epochs timed per workload (the median is printed)')
    ap.add_argument('--only', default='W1,W2,W3', help='comma-separated workloads to run')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    X = torch.from_numpy(idx(f'{a.data}/train-images-idx3-ubyte.gz').astype(np.float32) / 255).unsqueeze(1)
    Y = torch.from_numpy(idx(f'{a.data}/train-labels-idx1-ubyte.gz').astype(np.int64))
    n = X.shape[0]
    loss_fn = nn.CrossEntropyLoss()
    print(f'PyTorch {torch.__version__}, {torch.get_num_threads()} thread(s), '
          f'{torch.backends.cpu.get_cpu_capability()}, {n} images')
    for name, model, B, make_opt in workloads():
        if name.split()[0] not in a.only.split(','):
            continue
        opt = make_opt(model.parameters())

        def step(i):
            xb, yb = X.index_select(0, i), Y.index_select(0, i)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()

        g = torch.Generator().manual_seed(1)
        epoch_s, step_ms = [], []
        for e in range(a.epochs + 1):  # the first epoch warms up
            perm = torch.randperm(n, generator=g)
            t0 = time.perf_counter()
            for s in range(0, n, B):
                t = time.perf_counter()
                step(perm[s:s + B])
                if e > 0:
                    step_ms.append((time.perf_counter() - t) * 1000)
            if e > 0:
                epoch_s.append(time.perf_counter() - t0)
        print(f'{name:26s} {statistics.median(step_ms):7.3f} ms/step  {statistics.median(epoch_s):6.2f} s/epoch')


if __name__ == '__main__':
    main()
