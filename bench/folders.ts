// Class folders, end to end: decode timing (first run, then from the cache) and a CNN trained here
// on a 10-class colour folder set, its decoded pixels written out for bench/folders_torch.py to
// train the same network in PyTorch (same data, normalization, init rule, optimizer, schedule,
// batch and epochs), for the "within 3 points of PyTorch" check of issue #19.
//
//   node dist/bench/folders.js [--dir /tmp/shapes] [--per-class 600] [--test-per-class 100]
//     [--epochs 5] [--seeds 1,2,3] [--threads 2] [--repeat 3]
//   python3 bench/folders_torch.py --data /tmp/shapes/decoded --epochs 5 --seeds 1,2,3
//
// The set is drawn by bench/shapes.ts at its 'hard' level (5 shapes x 2 hue families, random
// place, size, hue, ink strength and a noisy background), 32x32 PNG: 6,000 training and 1,000 test pictures = the 7,000 files the
// decode target names. Decoding is timed from a cold cache (the cache folder removed) and warm,
// alternately, `--repeat` times; say that the machine was shared when it was.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fromArch } from '../src/api/build.js';
import { train } from '../src/api/train.js';
import { loadClassFolders } from '../src/data/folder.js';
import { PRESETS, archForData } from '../src/train/config.js';
import { writeShapeFolders } from './shapes.js';

const { values: o } = parseArgs({
  options: {
    dir: { type: 'string', default: '/tmp/wasmnist-shapes' }, 'per-class': { type: 'string', default: '600' },
    'test-per-class': { type: 'string', default: '100' }, epochs: { type: 'string', default: '5' },
    seeds: { type: 'string', default: '1,2,3' }, threads: { type: 'string', default: '2' }, repeat: { type: 'string', default: '3' },
  },
});
const dir = o.dir!, threads = Number(o.threads), cache = join(dir, 'cache');
if (!existsSync(join(dir, 'train'))) {
  writeShapeFolders(join(dir, 'train'), Number(o['per-class']), 32, 1, 10, 'hard');
  writeShapeFolders(join(dir, 'test'), Number(o['test-per-class']), 32, 2, 10, 'hard');
}

const timings: { cold: number; warm: number }[] = [];
for (let r = 0; r < Number(o.repeat); r++) {
  rmSync(cache, { recursive: true, force: true });
  let t = performance.now();
  await loadClassFolders(dir, { threads, cacheDir: cache });
  const cold = (performance.now() - t) / 1000;
  t = performance.now();
  await loadClassFolders(dir, { threads, cacheDir: cache });
  timings.push({ cold, warm: (performance.now() - t) / 1000 });
}
const med = (a: number[]) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
const data = await loadClassFolders(dir, { threads, cacheDir: cache });
const files = data.train.n + data.test.n;
console.log(`decode ${files} pictures on ${threads} threads: first run ${timings.map((t) => t.cold.toFixed(2)).join(', ')} s ` +
  `(median ${med(timings.map((t) => t.cold)).toFixed(2)}), from the cache ${timings.map((t) => t.warm.toFixed(3)).join(', ')} s ` +
  `(median ${med(timings.map((t) => t.warm)).toFixed(3)})`);

// The decoded set for PyTorch: raw u8 rows (n, 3, 32, 32) and labels, as the trainer holds them.
const out = join(dir, 'decoded');
mkdirSync(out, { recursive: true });
for (const [name, ds] of [['train', data.train], ['test', data.test]] as const) {
  writeFileSync(join(out, `${name}-images.u8`), ds.images);
  writeFileSync(join(out, `${name}-labels.u8`), ds.labels);
}

const arch = archForData(PRESETS.cnn.config.arch!, data.train);
const { batch, lr } = PRESETS.cnn.config;
const epochs = Number(o.epochs);
const accs: number[] = [];
for (const seed of o.seeds!.split(',').map(Number)) {
  const net = fromArch(arch, data.train, { threads });
  const t = performance.now();
  await train(net, data, { epochs, batch: batch as number, lr, optimizer: 'adam', schedule: 'cosine', init: 'he', seed });
  const acc = net.evaluate(data.test).accuracy;
  accs.push(acc);
  console.log(`wasmnist seed ${seed}: test accuracy ${(100 * acc).toFixed(2)}% after ${epochs} epochs (${((performance.now() - t) / 1000).toFixed(1)} s)`);
  if (seed === 1) writeFileSync(join(out, 'meta.json'), JSON.stringify({ arch, batch, lr, epochs, ...net.normalization, classNames: data.train.classNames }));
  net.dispose();
}
const mean = accs.reduce((a, b) => a + b, 0) / accs.length;
console.log(`wasmnist mean test accuracy ${(100 * mean).toFixed(2)}% over seeds ${o.seeds}`);
