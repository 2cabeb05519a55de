"""The folder benchmark's CNN in PyTorch (see bench/folders.ts, which writes the data it reads).

Same as wasmnist's `--preset cnn` on 3x32x32 colour pictures: conv 3->16 5x5, relu, maxpool 2,
conv 16->32 5x5, relu, maxpool 2, dense 800->128, relu, dense 128->10; He-normal weights and zero
biases (wasmnist's 'he' init); inputs (u8/255 - mean[c]) / std[c] with the mean and std wasmnist
measured; Adam lr 1e-3, cosine decay per step to 0 over the run, batch 64, reshuffled every epoch.
The pixels are the decoded rows wasmnist trained on (raw u8 files), so both sides see the same data;
PyTorch is not a dependency of the project.

  python3 bench/folders_torch.py --data /tmp/wasmnist-shapes/decoded [--epochs 5] [--seeds 1,2,3]
"""
import argparse, json, math, os, time
import numpy as np
import torch
from torch import nn

p = argparse.ArgumentParser()
p.add_argument('--data', required=True)
p.add_argument('--epochs', type=int, default=5)
p.add_argument('--seeds', default='1,2,3')
p.add_argument('--threads', type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)
meta = json.load(open(os.path.join(a.data, 'meta.json')))


def load(name):
    x = np.fromfile(os.path.join(a.data, f'{name}-images.u8'), dtype=np.uint8).reshape(-1, 3, 32, 32)
    y = np.fromfile(os.path.join(a.data, f'{name}-labels.u8'), dtype=np.uint8)
    mean = np.array(meta['mean'], dtype=np.float32).reshape(1, 3, 1, 1)
    std = np.array(meta['std'], dtype=np.float32).reshape(1, 3, 1, 1)
    return torch.from_numpy((x.astype(np.float32) / 255 - mean) / std), torch.from_numpy(y.astype(np.int64))


xtr, ytr = load('train')
xte, yte = load('test')
accs = []
for seed in [int(s) for s in a.seeds.split(',')]:
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(3, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 5), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(800, 128), nn.ReLU(), nn.Linear(128, 10))
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            fan_in = m.weight[0].numel()
            nn.init.normal_(m.weight, 0, math.sqrt(2 / fan_in))
            nn.init.zeros_(m.bias)
    opt = torch.optim.Adam(net.parameters(), lr=meta['lr'])
    B, n = meta['batch'], len(ytr)
    steps_per_epoch = math.ceil(n / B)
    total = a.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(1, s / total))))
    t = time.time()
    for epoch in range(a.epochs):
        perm = torch.randperm(n)
        for s in range(steps_per_epoch):
            idx = perm[s * B:(s + 1) * B]
            loss = nn.functional.cross_entropy(net(xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    with torch.no_grad():
        acc = (net(xte).argmax(1) == yte).float().mean().item()
    accs.append(acc)
    print(f'pytorch seed {seed}: test accuracy {100 * acc:.2f}% after {a.epochs} epochs ({time.time() - t:.1f} s)')
print(f'pytorch mean test accuracy {100 * sum(accs) / len(accs):.2f}% over seeds {a.seeds}')
