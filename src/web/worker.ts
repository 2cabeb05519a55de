// The page's training worker: the same engine as Node (src/api), its thread pool on Web Workers
// over one shared memory. It fetches the kernels and the bundled MNIST once, gunzips the data
// here (fflate), then trains, predicts, loads and saves on the page's request (protocol.ts).
import { gunzipSync } from 'fflate';
import { fromArch } from '../api/build.js';
import { networkOf, type Network } from '../api/network.js';
import { train } from '../api/train.js';
import { countClasses, type Dataset } from '../data/dataset.js';
import { parseIdx } from '../data/idx.js';
import { UserError } from '../errors.js';
import { decodeCheckpoint, encodeCheckpoint } from '../io/checkpoint.js';
import { provideFiles } from '../platform/system.browser.js';
import { DEFAULTS, PRESETS, type TrainConfig } from '../train/config.js';
import type { FromWorker, TestResult, ToWorker } from './protocol.js';
import { bitsOf, weightsHash } from './weights-hash.js';

// The trainer yields with setImmediate after every step; a Web Worker has none. A MessageChannel
// round trip is the browser's closest (setTimeout(0) is clamped to 4 ms once nested).
if (typeof (globalThis as { setImmediate?: unknown }).setImmediate !== 'function') {
  const queue: (() => void)[] = [];
  const ch = new MessageChannel();
  ch.port1.onmessage = () => queue.shift()?.();
  (globalThis as unknown as { setImmediate: (f: () => void) => void }).setImmediate = (f) => {
    queue.push(f);
    ch.port2.postMessage(0);
  };
}

const post = (m: FromWorker, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(m, transfer);

async function fetchBytes(path: string): Promise<Uint8Array<ArrayBuffer>> {
  const r = await fetch(path);
  if (!r.ok) throw new UserError(`${path}: HTTP ${r.status}; is the demo server (wasmnist demo) running?`);
  return new Uint8Array(await r.arrayBuffer());
}

let data: Promise<{ train: Dataset; test: Dataset }> | null = null;

/** The bundled MNIST, fetched and gunzipped once. */
function mnist(): Promise<{ train: Dataset; test: Dataset }> {
  data ??= (async () => {
    post({ type: 'status', text: 'fetching the kernels and MNIST…' });
    const [k, kr, ti, tl, si, sl] = await Promise.all(['build/kernels.wasm', 'build/kernels-relaxed.wasm',
      'data/mnist/train-images-idx3-ubyte.gz', 'data/mnist/train-labels-idx1-ubyte.gz',
      'data/mnist/t10k-images-idx3-ubyte.gz', 'data/mnist/t10k-labels-idx1-ubyte.gz'].map((p) => fetchBytes(`/${p}`)));
    provideFiles({ 'build/kernels.wasm': k, 'build/kernels-relaxed.wasm': kr });
    const set = (img: Uint8Array, lab: Uint8Array, source: string, labelsOf: Uint8Array[]): Dataset => {
      const im = parseIdx(gunzipSync(img), source, [3], 'images');
      const lb = parseIdx(gunzipSync(lab), source, [1], 'labels');
      return { images: im.data, labels: lb.data, n: im.dims[0], height: im.dims[1], width: im.dims[2],
        classes: countClasses(lb.data, ...labelsOf), source };
    };
    const trainSet = set(ti, tl, 'mnist/train', []);
    const testSet = set(si, sl, 'mnist/t10k', [trainSet.labels]);
    trainSet.classes = testSet.classes;
    return { train: trainSet, test: testSet };
  })();
  return data;
}

let net: Network | null = null;

function testResult(n: Network, test: Dataset): TestResult {
  const e = n.evaluate(test);
  const C = n.spec.classes;
  const confusion = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  for (let r = 0; r < e.n; r++) confusion[test.labels[r]][e.predictions[r]]++;
  return { accuracy: e.accuracy, correct: e.correct, n: e.n, confusion };
}

async function handle(m: ToWorker): Promise<void> {
  if (m.type === 'train') {
    const { train: trainSet, test } = await mnist();
    const config: TrainConfig = { ...DEFAULTS, ...PRESETS[m.preset].config, epochs: m.epochs, seed: m.seed, limitTrain: m.limit };
    net?.dispose();
    const n = net = fromArch(config.arch, trainSet, { activation: config.activation, alpha: config.alpha,
      dropout: config.dropout, threads: m.threads, backend: 'wasm-simd' });
    const { arch: _a, activation: _b, alpha: _c, dropout: _d, checkpointEvery: _e, ...settings } = config;
    // ms per step from the trainer's own clock (evaluation excluded), over every epoch.
    let trainMs = 0, steps = 0, rows = 0, stepsPerEpoch = 0, firstLoss = NaN, last = 0;
    const result = await train(n, { train: trainSet, test }, {
      ...settings,
      onTrainBegin: (info) => {
        rows = info.trainRows;
        stepsPerEpoch = info.stepsPerEpoch;
        post({ type: 'begin', params: info.params, stepsPerEpoch, epochs: info.epochs, threads: info.threads,
          backend: info.backend, arch: config.arch });
      },
      onBatchEnd: (batch, logs) => {
        const now = performance.now();
        if (now - last > 100 || batch === logs.stepsPerEpoch) {
          last = now;
          post({ type: 'batch', epoch: logs.epoch, step: batch, stepsPerEpoch: logs.stepsPerEpoch, loss: logs.loss,
            acc: logs.acc, samplesPerSec: logs.samplesPerSec });
        }
      },
      onEpochEnd: (epoch, metrics) => {
        if (epoch === 1) firstLoss = metrics.train_loss;
        trainMs += (rows / metrics.samples_per_s) * 1000;
        steps += stepsPerEpoch;
        // The trainer's test metrics have no per-class counts: evaluate again for the confusion matrix.
        post({ type: 'epoch', metrics, test: testResult(n, test) });
      },
    });
    if (result.status === 'diverged') throw new UserError('training diverged (the loss became NaN or infinite)');
    post({ type: 'done', test: testResult(n, test), hash: weightsHash(n.weights()!), firstLossBits: bitsOf(firstLoss),
      msPerStep: trainMs / steps, threads: m.threads });
  } else if (m.type === 'load') {
    const { test } = await mnist();
    const ck = decodeCheckpoint(m.bytes, m.name);
    net?.dispose();
    net = networkOf(ck, { threads: 1, backend: 'wasm-simd' });
    post({ type: 'loaded', name: m.name, arch: ck.spec.arch ?? ck.config.arch, test: testResult(net, test) });
  } else if (m.type === 'predict') {
    if (!net?.trained) throw new UserError('train a network or load a checkpoint first, then draw');
    post({ type: 'prediction', probs: Array.from(net.predict(m.pixels)), classNames: net.classNames });
  } else if (m.type === 'save') {
    if (!net?.trained) throw new UserError('nothing to save yet: train a network first');
    const bytes = encodeCheckpoint(net.toCheckpoint());
    post({ type: 'checkpoint', bytes }, [bytes.buffer]);
  }
}

// One request at a time, in order (a prediction asked for during training waits for it).
let chain = Promise.resolve();
self.onmessage = (e: MessageEvent<ToWorker>) => {
  chain = chain.then(() => handle(e.data)).catch((err: unknown) => {
    post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  });
};
