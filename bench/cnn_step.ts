// CNN step timing (one thread unless THREADS is set): the W3 network (conv 1->8 5x5, relu, maxpool 2, conv 8->16 5x5,
// relu, maxpool 2, dense 10; batch 64, Adam) on random data, per layer forward and backward, median
// of many steps after a warm-up, on each backend given (default wasm-simd, wasm-scalar).
// Run: npm run build:ts && node dist/bench/cnn_step.js [backend ...]
// Env: THREADS (default 1; wasm backends only), ARCH, BATCH, STEPS.
import { createBackend, type BackendName } from '../src/engine/index.js';
import { Model } from '../src/model/model.js';
import { parseArch } from '../src/model/spec.js';
import { Rng } from '../src/util/rng.js';

const ARCH = process.env.ARCH ?? 'conv8k5-relu-pool2-conv16k5-relu-pool2-dense10';
const B = Number(process.env.BATCH ?? 64);
const STEPS = Number(process.env.STEPS ?? 60);
const THREADS = Number(process.env.THREADS ?? 1);

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s[s.length >> 1];
}

for (const name of (process.argv.slice(2).length ? process.argv.slice(2) : ['wasm-simd', 'wasm-scalar']) as BackendName[]) {
  const be = createBackend(name, { relaxed: name === 'wasm-relaxed', threads: name.startsWith('wasm') ? THREADS : 1 });
  const spec = parseArch(ARCH, { activation: 'relu', alpha: 0.01, dropout: 0 }, { height: 28, width: 28, classes: 10 });
  const model = new Model(be, spec, B);
  const rng = new Rng(1);
  model.init(rng, 'he');
  const x = be.f32(B * 784);
  for (let i = 0; i < x.length; i++) x[i] = rng.float();
  const y = be.i32(B);
  for (let i = 0; i < B; i++) y[i] = i % 10;
  const dl = be.f32(B * 10);
  const m = be.f32(model.params.length), v = be.f32(model.params.length);
  const L = model.layers.length;
  const fw: number[][] = model.layers.map(() => []), bw: number[][] = model.layers.map(() => []);
  const total: number[] = [];
  const ctx = { training: true, rng };
  for (let s = 0; s < STEPS + 10; s++) {
    const t0 = performance.now();
    let h = x;
    for (let i = 0; i < L; i++) {
      const a = performance.now();
      h = model.layers[i].forward(h, B, ctx);
      fw[i].push(performance.now() - a);
    }
    be.softmaxCrossEntropy(dl, h, y, B, 10);
    model.zeroGrad();
    let d: Float32Array | null = dl;
    for (let i = L - 1; i >= 0 && d; i--) {
      const a = performance.now();
      d = model.layers[i].backward(d, B);
      bw[i].push(performance.now() - a);
    }
    be.optimizerStep(model.params, model.grads, m, v, model.params.length,
      { kind: 'adam', lr: 1e-3, momentum: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: s + 1 });
    total.push(performance.now() - t0);
    if (s === 9) { total.length = 0; fw.forEach((a) => (a.length = 0)); bw.forEach((a) => (a.length = 0)); }
  }
  console.log(`${name}${THREADS > 1 ? ` ${THREADS} threads` : ''}: ${ARCH}, batch ${B}: ${median(total).toFixed(2)} ms/step median (min ${Math.min(...total).toFixed(2)}), ` +
    `=> ${(median(total) * 60000 / B / 1000).toFixed(1)} s per 60k epoch (compute only)`);
  model.layers.forEach((l, i) => {
    const mm = (a: number[]) => a.length ? `${median(a).toFixed(3)} (min ${Math.min(...a).toFixed(3)})` : '-';
    console.log(`  ${String(l.spec.type + (l.spec.fn ? ' ' + l.spec.fn : '')).padEnd(16)} fwd ${mm(fw[i])} ms  bwd ${mm(bw[i])} ms`);
  });
}
