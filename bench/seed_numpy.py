"""The seed's algorithm in numpy, for timing `--preset seed` against it on this machine.

784-10-10, ReLU, softmax, uniform +-0.5 init, full-batch gradient descent, lr 0.1, the
layout of the seed (samples in columns). float32 by default (--f64 for the seed's float64).
Run it single-threaded, as the target says:

  OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
    python3 bench/seed_numpy.py [--epochs 1000] [--f64]

Prints the test accuracy and the training seconds (data loading excluded).
"""
import argparse, gzip, time
import numpy as np


def idx(path):
    with gzip.open(path, 'rb') as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--data', default='data/mnist')
    p.add_argument('--epochs', type=int, default=1000)
    p.add_argument('--f64', action='store_true')
    a = p.parse_args()
    dt = np.float64 if a.f64 else np.float32
    X = (idx(f'{a.data}/train-images-idx3-ubyte.gz').reshape(-1, 784).T / 255.0).astype(dt)  # (784, m)
    Y = idx(f'{a.data}/train-labels-idx1-ubyte.gz')
    Xt = (idx(f'{a.data}/t10k-images-idx3-ubyte.gz').reshape(-1, 784).T / 255.0).astype(dt)
    Yt = idx(f'{a.data}/t10k-labels-idx1-ubyte.gz')
    m = X.shape[1]
    onehot = np.zeros((10, m), dtype=dt)
    onehot[Y, np.arange(m)] = 1
    rng = np.random.default_rng(1)
    W1 = (rng.random((10, 784)) - 0.5).astype(dt); b1 = (rng.random((10, 1)) - 0.5).astype(dt)
    W2 = (rng.random((10, 10)) - 0.5).astype(dt); b2 = (rng.random((10, 1)) - 0.5).astype(dt)
    lr = dt(0.1)

    def forward(X):
        Z1 = W1 @ X + b1
        A1 = np.maximum(Z1, 0)
        Z2 = W2 @ A1 + b2
        E = np.exp(Z2 - Z2.max(axis=0, keepdims=True))
        return Z1, A1, E / E.sum(axis=0, keepdims=True)

    t0 = time.perf_counter()
    for _ in range(a.epochs):
        Z1, A1, A2 = forward(X)
        dZ2 = A2 - onehot
        dW2 = dZ2 @ A1.T / m; db2 = dZ2.sum(axis=1, keepdims=True) / m
        dZ1 = (W2.T @ dZ2) * (Z1 > 0)
        dW1 = dZ1 @ X.T / m; db1 = dZ1.sum(axis=1, keepdims=True) / m
        W1 -= lr * dW1; b1 -= lr * db1; W2 -= lr * dW2; b2 -= lr * db2
    secs = time.perf_counter() - t0
    acc = (forward(Xt)[2].argmax(axis=0) == Yt).mean()
    print(f'numpy {np.__version__} {np.dtype(dt).name}: {a.epochs} epochs in {secs:.1f} s '
          f'({1000 * secs / a.epochs:.1f} ms/epoch), test accuracy {100 * acc:.2f}%')


if __name__ == '__main__':
    main()
