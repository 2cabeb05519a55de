// `wasmnist eval --model FILE` (`npm run eval -- --model FILE`): accuracy, per-class accuracy and the confusion matrix of a saved
// model (our checkpoint.safetensors or a seed-layout .npz) on the test set.
import { Command, Option } from 'commander';
import { ACTIVATIONS, type Activation } from '../engine/backend.js';
import { BACKEND_NAMES } from '../engine/index.js';
import { UserError } from '../errors.js';
import { clampThreads } from '../util/threads.js';
import { loadData, loadDataAsync, describeDataset, pixelsOf, type Dataset } from '../data/index.js';
import { addFolderFlags, folderOptions } from './data-flags.js';
import { evaluateModel } from '../api/network.js';
import { loadModelFile } from '../io/model-file.js';
import { confusionMatrix, confusionText } from '../train/report.js';
import { intArg } from './args.js';
import { asInvoked, commandName, runIfMain } from './common.js';
import { defaultThreads, disposeBackend, makeBackend } from './backend.js';

const EPILOG = `
Examples:
  npm run eval -- --model runs/20250101-120000/checkpoint.safetensors
  npm run eval -- --model runs/20250101-120000/weights.npz          (the seed's numpy layout)
  npm run eval -- --model seed_weights.npz --activation tanh --csv test.csv

A .npz holds W1 (O,I), b1 (O,1), W2, b2, ... as saved by the numpy seed (np.savez); it is read as a
dense network with --activation between layers, softmax output and inputs scaled by 1/255.`;

export async function main(argv: string[]): Promise<number> {
  const p = new Command(commandName('eval'))
    .description('Evaluate a saved model (checkpoint.safetensors or seed-layout .npz) on the test set.')
    .requiredOption('--model <file>', 'checkpoint.safetensors from npm run train, or a .npz (W1, b1, W2, b2, ...)')
    .option('--data <dir>', 'IDX folder (its t10k files), CIFAR-10 batches (test_batch.bin) or class folders (test/, or the --test-split part) (default: the bundled MNIST)')
    .option('--seed <n>', 'class folders without test/: the seed the model was trained with (it chose the held-out part)', intArg(0), 1)
    .option('--csv <file>', 'evaluate on this CSV instead (label, pixels...)')
    .option('--limit <n>', 'use only the first n test images (0 = all)', intArg(0), 0)
    .addOption(new Option('--activation <fn>', 'hidden activation of a .npz model').choices(ACTIVATIONS.filter((a) => a !== 'identity')).default('relu'))
    .addOption(new Option('--backend <name>', 'kernels').choices(BACKEND_NAMES).default('wasm'))
    .option('--threads <n>', 'threads for the wasm kernels (at most the core count)',
      (v: string) => clampThreads(intArg(1)(v), (line) => process.stderr.write(line + '\n')), defaultThreads())
    .option('--relaxed', 'use relaxed SIMD (FMA) kernels')
    .option('--json', 'print one JSON object instead of the tables')
    .addHelpText('after', asInvoked(EPILOG))
    .exitOverride()
    .configureOutput({ outputError: () => { /* runMain prints one line */ } });
  addFolderFlags(p);
  p.parse(argv, { from: 'user' });
  const o = p.opts();

  let ds: Dataset;
  if (o.csv) {
    if (o.data) throw new UserError('give either --data or --csv, not both');
    ds = loadData({ trainCsv: o.csv }).train;
  } else {
    const { test } = await loadDataAsync({ data: o.data, folder: folderOptions(o, o.seed, o.threads, Boolean(o.json)) });
    if (!test) throw new UserError('the data has no test set; pass --csv with labelled rows');
    ds = test;
  }
  if (o.limit && o.limit < ds.n) {
    const D = pixelsOf(ds);
    ds = { ...ds, n: o.limit, images: ds.images.subarray(0, o.limit * D), labels: ds.labels.subarray(0, o.limit) };
  }
  const backend = makeBackend(o.backend, { threads: o.threads, relaxed: o.relaxed, initialBytes: 64 << 20 });
  const t0 = performance.now();
  const m = loadModelFile(o.model, backend, { activation: o.activation as Activation });
  const [C, H, W] = m.inputShape;
  if (C * H * W !== pixelsOf(ds)) {
    throw new UserError(`${o.model} takes ${C}x${H}x${W} inputs but the images are ${ds.channels ?? 1}x${ds.height}x${ds.width}; ` +
      'evaluate it on the data it was trained on');
  }
  if (m.model.classes < ds.classes) {
    throw new UserError(`${o.model} has ${m.model.classes} classes but the data has labels up to ${ds.classes - 1}`);
  }
  const r = evaluateModel(m.model, ds, m.normalization);
  const seconds = (performance.now() - t0) / 1000;
  const acc = r.accuracy;
  const conf = confusionMatrix(ds.labels, r.predictions, m.model.classes);
  if (o.json) {
    process.stdout.write(JSON.stringify({ model: o.model, arch: m.model.spec.arch, n: ds.n, accuracy: acc, loss: r.loss,
      per_class: conf.map((row, t) => row[t] / Math.max(1, row.reduce((a, b) => a + b, 0))), confusion: conf, seconds }) + '\n');
  } else {
    process.stdout.write(`Model ${o.model}: ${m.model.spec.arch}, ${m.model.paramCount.toLocaleString('en-US')} parameters\n`);
    process.stdout.write(`Data  ${describeDataset(ds)}\n\n`);
    process.stdout.write(`Accuracy ${(100 * acc).toFixed(2)}% (${r.correct}/${ds.n}), loss ${r.loss.toFixed(4)} ` +
      `(${seconds.toFixed(2)} s on ${backend.name})\n`);
    process.stdout.write(confusionText(conf, m.classNames) + '\n');
  }
  disposeBackend(backend);
  return 0;
}

runIfMain(import.meta.url, main);
