// The page's measuring mode (?compare=tfjs): the default MLP's training step in TensorFlow.js's
// wasm backend with its threads, in the same page visit as the engine's run, for the comparison
// in docs/browser.md. Same model (784-256-128-10 ReLU, He init), batch, optimizer (Adam, lr 0.002)
// and loss. TF.js comes as its own prebuilt scripts (the devDependency's dist/, served by the demo
// under /tfjs/), as its README's script-tag setup: re-bundled, its threaded build's worker (made
// from the factory's source text) does not start, and it runs on one thread.
import { gunzipSync } from 'fflate';
import type * as TF from '@tensorflow/tfjs';
import { parseIdx } from '../data/idx.js';
import { DEFAULTS } from '../train/config.js';

export interface TfjsTiming { backend: string; threads: number; msPerStep: number; steps: number; simd: boolean; multithread: boolean }

async function gz(path: string): Promise<Uint8Array> {
  const r = await fetch(path);
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return gunzipSync(new Uint8Array(await r.arrayBuffer()));
}

/** Median milliseconds per training step of the default MLP in TF.js wasm on `threads` threads. */
function script(src: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = () => resolve();
    s.onerror = () => reject(new Error(`${src} did not load (TensorFlow.js is a devDependency: run from a checkout)`));
    document.head.append(s);
  });
}

type WasmApi = { setWasmPaths(p: string): void; setThreadsCount(n: number): void; getThreadsCount(): number };

export async function tfjsStep(threads: number, steps = 40, warmup = 5): Promise<TfjsTiming> {
  await script('/tfjs/core/tf.min.js');
  await script('/tfjs/tf-backend-wasm.min.js');
  const tf = (globalThis as unknown as { tf: typeof TF & { wasm: WasmApi } }).tf;
  tf.wasm.setWasmPaths('/tfjs/');
  tf.wasm.setThreadsCount(threads);
  await tf.setBackend('wasm');
  await tf.ready();
  const B = Number(DEFAULTS.batch);
  const images = parseIdx(await gz('/data/mnist/train-images-idx3-ubyte.gz'), 'train images', [3], 'images').data;
  const labels = parseIdx(await gz('/data/mnist/train-labels-idx1-ubyte.gz'), 'train labels', [1], 'labels').data;
  const sizes = DEFAULTS.arch.split('-').map(Number);
  const vars = sizes.slice(1).flatMap((o, l) => [
    tf.variable(tf.randomNormal([sizes[l], o], 0, Math.sqrt(2 / sizes[l]))),
    tf.variable(tf.zeros([o])),
  ]);
  const opt = tf.train.adam(DEFAULTS.lr, DEFAULTS.beta1, DEFAULTS.beta2, DEFAULTS.eps);
  const times: number[] = [];
  for (let s = 0; s < warmup + steps; s++) {
    const r0 = (s * B) % (60000 - B);
    const t0 = performance.now(); // the batch's preparation counts, as in the engine's step
    const x = tf.tensor2d(Float32Array.from(images.subarray(r0 * 784, (r0 + B) * 784), (v) => v / 255), [B, 784]);
    const y = tf.oneHot(tf.tensor1d(Int32Array.from(labels.subarray(r0, r0 + B)), 'int32'), 10);
    const cost = opt.minimize(() => {
      let h: TF.Tensor = x;
      for (let l = 0; l < vars.length; l += 2) {
        h = tf.add(tf.matMul(h, vars[l]), vars[l + 1]);
        if (l + 2 < vars.length) h = tf.relu(h);
      }
      return tf.losses.softmaxCrossEntropy(y, h) as TF.Scalar;
    }, true, vars as TF.Variable[]);
    cost!.dataSync();
    if (s >= warmup) times.push(performance.now() - t0);
    tf.dispose([x, y, cost!]);
  }
  times.sort((a, b) => a - b);
  return { backend: tf.getBackend(), threads: tf.wasm.getThreadsCount(), simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')),
    multithread: Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')), msPerStep: times[times.length >> 1], steps };
}
