// Flat memory: a long training run (784-128-10, writing a checkpoint every epoch as the CLI does)
// keeps its resident set flat after the first epoch, and the WASM memory does not grow at all
// once the trainer is built (every arena is allocated up front; kernels allocate nothing).
// Measured after a full GC at the end of each epoch. CI: 4 epochs on 10000 rows; soak: 50 epochs
// on all 60000 MNIST training rows.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { saveCheckpoint } from '../src/io/checkpoint.js';
import { exportNpz } from '../src/io/model-file.js';
import { loadData } from '../src/data/index.js';
import { WasmBackend } from '../src/engine/wasm.js';
import { DEFAULTS } from '../src/train/config.js';
import { Trainer } from '../src/train/trainer.js';

const SOAK = process.env.SOAK === '1';
const EPOCHS = Number(process.env.MEMORY_EPOCHS ?? (SOAK ? 50 : 4));
const ROWS = SOAK ? 0 : 10000; // 0 = all 60000
/** Largest RSS growth allowed from the end of epoch 1 to the end of the run. */
const RSS_BOUND = 24 << 20;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const MiB = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

describe('memory stays flat over a long run', () => {
  it(`${EPOCHS} epochs of 784-128-10: RSS flat after epoch 1, WASM memory constant`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmnist-mem-'));
    const data = loadData({});
    const bytes = data.train.images.length + (data.test?.images.length ?? 0);
    const backend = new WasmBackend('simd', bytes + (96 << 20)); // sized like the train CLI does
    const config = { ...DEFAULTS, arch: '784-128-10', epochs: EPOCHS, limitTrain: ROWS, limitTest: SOAK ? 0 : 2000, seed: 4 };
    const t = new Trainer(backend, config, data);
    const names = Array.from({ length: 10 }, (_, i) => String(i));
    gc();
    const wasmBuilt = backend.memory.buffer.byteLength;
    const rss: number[] = [];
    const wasm: number[] = [];
    const heap: number[] = [];
    const end = await t.run({
      onEpoch: () => {
        // What the CLI does each epoch: checkpoint + weights.
        saveCheckpoint(join(dir, 'checkpoint.safetensors'), t, names);
        exportNpz(join(dir, 'weights.npz'), t.model);
        gc();
        const m = process.memoryUsage();
        rss.push(m.rss);
        heap.push(m.heapUsed + m.arrayBuffers);
        wasm.push(backend.memory.buffer.byteLength);
      },
    });
    expect(end.status).toBe('done');
    const growth = Math.max(...rss.slice(1)) - rss[0];
    console.log(`memory: ${EPOCHS} epochs of 784-128-10 on ${t.train.n} rows (test acc ${(100 * t.state.history.at(-1)!.test_acc!).toFixed(2)}%): ` +
      `RSS after epoch 1 ${MiB(rss[0])}, after epoch ${EPOCHS} ${MiB(rss.at(-1)!)} (max growth ${MiB(growth)}); ` +
      `JS heap + buffers ${MiB(heap[0])} -> ${MiB(heap.at(-1)!)}; WASM memory built ${MiB(wasmBuilt)}, ` +
      `after epoch 1 ${MiB(wasm[0])}, after epoch ${EPOCHS} ${MiB(wasm.at(-1)!)}`);
    console.log(`  RSS per epoch (MiB): ${rss.map((r) => (r / 2 ** 20).toFixed(0)).join(' ')}`);
    // WASM memory: not one page more than when the trainer was built.
    for (const w of wasm) expect(w).toBe(wasmBuilt);
    expect(growth).toBeLessThan(RSS_BOUND);
    expect(Math.max(...heap.slice(1)) - heap[0]).toBeLessThan(RSS_BOUND);
  });
});
