// `npm run train`: trains an MLP on MNIST (or your IDX/CSV data), evaluates every epoch, writes a
// run folder (checkpoint, metrics, curves, confusion matrix, misclassified digits, weights.npz),
// resumes exactly from a checkpoint, and stops cleanly on Ctrl-C.
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { ACTIVATIONS, OPTIMIZERS } from '../engine/backend.js';
import { BACKEND_NAMES } from '../engine/index.js';
import { UserError } from '../errors.js';
import { loadData, describeDataset } from '../data/index.js';
import { INIT_RULES } from '../model/layer.js';
import { describeSpec } from '../model/spec.js';
import { exportNpz, readCheckpoint, resumeData, saveCheckpoint } from '../checkpoint.js';
import { DEFAULTS, PRESETS, SCHEDULES, validateConfig, type TrainConfig } from '../train/config.js';
import { collectGarbage } from '../util/gc.js';
import { Trainer, type EpochMetrics, type StepInfo } from '../train/trainer.js';
import {
  confusionMatrix, confusionSvg, confusionText, curvesSvg, metricsCsv, misclassifiedPng, writeText,
} from '../train/report.js';
import { ensureDir, writeFileAtomic } from '../io/atomic.js';
import { divergenceMessage } from '../train/divergence.js';
import { clampThreads } from '../util/threads.js';
import { claimRunFolder } from './guard.js';
import { onStopSignals, stopNotice } from './signals.js';
import {
  EXIT, choiceArg, defaultThreads, disposeBackend, intArg, makeBackend, numArg, runMain,
} from './common.js';

/** CLI option name -> config key, for the flags that change what a run computes. */
const CONFIG_FLAGS: Record<string, keyof TrainConfig> = {
  arch: 'arch', activation: 'activation', init: 'init', dropout: 'dropout', batch: 'batch',
  optimizer: 'optimizer', lr: 'lr', momentum: 'momentum', weightDecay: 'weightDecay', schedule: 'schedule',
  warmup: 'warmup', epochs: 'epochs', seed: 'seed', val: 'val', evalEvery: 'evalEvery', scale: 'scale',
  shift: 'shift', limitTrain: 'limitTrain', limitTest: 'limitTest', data: 'data', trainCsv: 'trainCsv',
  testCsv: 'testCsv', skipZeros: 'skipZeros', checkpointEvery: 'checkpointEvery',
};
/** Config keys a resumed run may change (the rest must match the checkpoint). */
const RESUMABLE: (keyof TrainConfig)[] = ['epochs', 'evalEvery', 'data', 'trainCsv', 'testCsv', 'checkpointEvery'];

const EPILOG = `
Examples:
  npm run train                                   recommended MLP (784-256-128-10, Adam, cosine), ~98.3% in ~12 s
  npm run train -- --preset seed                  the numpy seed: 784-10-10, full batch, SGD lr 0.1, 1000 epochs
  npm run train -- --arch 784-128-10 --optimizer momentum --lr 0.05 --epochs 3
  npm run train -- --dropout 0.2 --activation leaky_relu --val 5000 --out runs/mine
  npm run train -- --resume runs/mine/checkpoint.safetensors --epochs 10
  npm run eval -- --model runs/mine/weights.npz

Run folder (runs/<timestamp>/ or --out): checkpoint.safetensors (resume with --resume), weights.npz
(the seed's numpy layout: W1 (O,I), b1 (O,1), ...), metrics.csv, metrics.json, loss.svg,
accuracy.svg, confusion.svg, misclassified.png.
--warmup is in epochs (1, 0.5) or steps (500steps). Ctrl-C (or SIGTERM) finishes the step, saves a
checkpoint and prints how to resume (exit 130). A NaN/Inf loss, or a loss 10x above its start,
stops the run (exit 3) and says which checkpoint is on disk. --out refuses a folder that holds
another run unless you --resume its checkpoint or pass --force. --threads above the core count
uses the core count. Exit codes: 0 ok, 1 bad input, 2 bad flag, 3 diverged, 130 interrupted.`;

function buildProgram(): Command {
  const d = DEFAULTS;
  const p = new Command('npm run train --')
    .description('Train a neural network on MNIST (or your IDX/CSV data) with WebAssembly SIMD kernels.')
    .addOption(new Option('--preset <name>', `start from a preset: ${Object.entries(PRESETS).map(([k, v]) => `${k} = ${v.help}`).join('; ')}`)
      .choices(Object.keys(PRESETS)))
    .option('--arch <spec>', 'layers: input-hidden...-output sizes', d.arch)
    .addOption(new Option('--activation <fn>', 'hidden activation').choices(ACTIVATIONS.filter((a) => a !== 'identity')).default(d.activation))
    .addOption(new Option('--init <rule>', 'weight init (uniform = the seed\'s +-0.5)').choices(INIT_RULES).default(d.init))
    .option('--dropout <p>', 'dropout after each hidden activation', numArg('nonneg'), d.dropout)
    .option('--batch <n|full>', 'samples per step, or full (full-batch gradient descent)', batchArg, d.batch)
    .addOption(new Option('--optimizer <name>', 'optimizer').choices(OPTIMIZERS).default(d.optimizer))
    .option('--lr <x>', 'learning rate', numArg('positive'), d.lr)
    .option('--momentum <mu>', 'momentum (momentum, nesterov)', numArg('nonneg'), d.momentum)
    .option('--weight-decay <wd>', 'L2 weight decay (decoupled for adamw)', numArg('nonneg'), d.weightDecay)
    .addOption(new Option('--schedule <kind>', 'learning-rate schedule (step: x0.1 at 50% and 75%)').choices(SCHEDULES).default(d.schedule))
    .option('--warmup <n>', 'linear warmup: epochs (1, 0.5) or steps (500steps)', d.warmup)
    .option('--epochs <n>', 'epochs (with --resume: the total to reach)', intArg(1), d.epochs)
    .option('--seed <n>', 'seed of the one PRNG (init, shuffle, split, dropout)', intArg(0), d.seed)
    .option('--val <n>', 'hold out n seeded training rows for validation', intArg(0), d.val)
    .option('--eval-every <n>', 'evaluate every n epochs (and after the last)', intArg(1), d.evalEvery)
    .option('--data <dir>', 'IDX folder (default: the bundled MNIST)')
    .option('--train-csv <file>', 'training CSV (label, pixels...)')
    .option('--test-csv <file>', 'test CSV')
    .option('--limit-train <n>', 'use only the first n training images (0 = all)', intArg(0), d.limitTrain)
    .option('--limit-test <n>', 'use only the first n test images (0 = all)', intArg(0), d.limitTest)
    .addOption(new Option('--scale <s>', 'input normalization x = pixel * scale + shift').argParser(numArg()).default(d.scale, '1/255'))
    .option('--shift <s>', 'input normalization shift', numArg(), d.shift)
    .option('--no-skip-zeros', 'first layer: multiply every input value (default: a first layer of 16+ ' +
      'units, or any first layer with --batch full, multiplies only the nonzeros of mostly-zero inputs ' +
      'such as MNIST; same results up to rounding, faster)')
    .addOption(new Option('--backend <name>', 'kernels: wasm (SIMD) or ts (reference)').choices(BACKEND_NAMES).default('wasm'))
    .option('--threads <n>', 'threads for the wasm kernels (at most the core count)',
      (v: string) => clampThreads(intArg(1)(v), (line) => process.stderr.write(line + '\n')), defaultThreads())
    .option('--relaxed', 'use relaxed SIMD (FMA) kernels')
    .option('--out <dir>', 'run folder (default: runs/<timestamp>, or the checkpoint\'s folder with --resume)')
    .option('--resume <file>', 'continue from a checkpoint.safetensors')
    .option('--force', 'write over the run already in --out (default: refuse a folder that holds another run)')
    .option('--checkpoint-every <n>', 'also write the checkpoint every n steps (0 = at evaluated epochs only; kept on --resume)', intArg(0), d.checkpointEvery)
    .option('--quiet', 'print only the final result')
    .option('--json', 'print one JSON summary object at the end (and nothing else)')
    .addHelpText('after', EPILOG)
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ outputError: () => { /* runMain prints one line */ } });
  return p;
}

function batchArg(v: string): number | 'full' {
  if (v === 'full') return 'full';
  return intArg(1)(v);
}

/** The config from defaults, the preset and the flags given on the command line. */
function configFrom(p: Command, base: TrainConfig, onlyCli: boolean): { config: TrainConfig; given: Set<keyof TrainConfig> } {
  const o = p.opts();
  const config: TrainConfig = { ...base };
  const given = new Set<keyof TrainConfig>();
  for (const [flag, key] of Object.entries(CONFIG_FLAGS)) {
    const src = p.getOptionValueSource(flag);
    if (o[flag] === undefined) continue;
    if (src === 'cli' || src === 'env') given.add(key);
    if (src === 'cli' || src === 'env' || !onlyCli) (config as any)[key] = o[flag];
  }
  return { config, given };
}

function timestampDir(): string {
  const d = new Date();
  const z = (n: number) => String(n).padStart(2, '0');
  const base = join('runs', `${d.getFullYear()}${z(d.getMonth() + 1)}${z(d.getDate())}-${z(d.getHours())}${z(d.getMinutes())}${z(d.getSeconds())}`);
  let dir = base;
  for (let k = 2; existsSync(dir); k++) dir = `${base}-${k}`;
  return dir;
}

const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(2)}%`);
const kfmt = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0));
const secs = (s: number) => (s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`);

function epochLine(m: EpochMetrics, epochs: number): string {
  const w = String(epochs).length;
  let s = `epoch ${String(m.epoch).padStart(w)}/${epochs}  train loss ${m.train_loss.toFixed(4)} acc ${pct(m.train_acc)}`;
  if (m.val_loss !== null) s += `  |  val loss ${m.val_loss.toFixed(4)} acc ${pct(m.val_acc)}`;
  if (m.test_loss !== null) s += `  |  test loss ${m.test_loss.toFixed(4)} acc ${pct(m.test_acc)}`;
  return `${s}  |  ${kfmt(m.samples_per_s)} samples/s  ${secs(m.seconds)}`;
}

async function main(argv: string[]): Promise<number> {
  const p = buildProgram();
  p.parse(argv, { from: 'user' });
  const o = p.opts();
  const quiet = Boolean(o.quiet || o.json);
  const say = (s: string) => { if (!quiet) process.stdout.write(s + '\n'); };

  // ---- config: defaults < preset < flags; or the checkpoint's, with a few flags allowed ----
  let config: TrainConfig;
  let ck: ReturnType<typeof readCheckpoint> | null = null;
  if (o.resume) {
    if (o.preset) throw new UserError('--preset cannot be combined with --resume: a resumed run keeps its checkpoint\'s settings');
    ck = readCheckpoint(o.resume);
    const { config: c, given } = configFrom(p, ck.config, true);
    for (const key of given) {
      if (!RESUMABLE.includes(key) && c[key] !== ck.config[key]) {
        throw new UserError(`--${kebab(key)} ${c[key]} differs from the checkpoint's ${ck.config[key]}; a resumed run keeps ` +
          `its settings (only --epochs, --eval-every, the data and output flags may change): drop --${kebab(key)}`);
      }
    }
    config = c;
    if (config.epochs <= ck.state.epoch && ck.state.stepInEpoch === 0) {
      throw new UserError(`the checkpoint has already done ${ck.state.epoch} of ${ck.config.epochs} epochs; ` +
        `pass --epochs N with N > ${ck.state.epoch} to train further`);
    }
  } else {
    const preset = PRESETS[o.preset ?? 'default'].config;
    config = configFrom(p, { ...DEFAULTS, ...preset }, true).config;
  }
  validateConfig(config);

  // ---- data, backend, trainer ----
  const t0 = performance.now();
  const { backend, trainer, dataLine } = setup(config, o, ck);
  collectGarbage(); // the loader's copy of the data is garbage now: give its memory back
  const classNames = ck?.classNames ?? Array.from({ length: trainer.classes }, (_, i) => String(i));
  const loadSeconds = (performance.now() - t0) / 1000;

  const outDir = o.out ?? (o.resume ? dirname(o.resume) : timestampDir());
  ensureDir(outDir, 'the run folder', 'pass --out with a writable folder');
  claimRunFolder(outDir, { resume: o.resume, force: o.force });
  const ckPath = join(outDir, 'checkpoint.safetensors');
  const show = (f: string) => { const r = relative(process.cwd(), f); return r && !r.startsWith('..') ? r : f; };
  const resumeCmd = `npm run train -- --resume ${show(ckPath)}`;

  const c = config;
  const threads = backend.name === 'ts' ? 1 : o.threads;
  say(`Model    ${describeSpec(trainer.spec)}, ${trainer.model.paramCount.toLocaleString('en-US')} parameters, init ${c.init}`);
  say(`Data     ${dataLine}` +
    (trainer.val ? `, validation ${trainer.val.n}` : '') + (trainer.test ? `, test ${trainer.test.n}` : '') +
    ` (loaded in ${loadSeconds.toFixed(1)} s)`);
  say(`Training ${c.optimizer} lr ${c.lr} ${c.schedule}${c.warmup !== '0' ? ` warmup ${c.warmup}` : ''}` +
    `${c.weightDecay ? ` wd ${c.weightDecay}` : ''}${c.dropout ? ` dropout ${c.dropout}` : ''}, ` +
    `batch ${c.batch === 'full' ? `full (${trainer.stepBatch})` : c.batch}, ${c.epochs} epochs, seed ${c.seed}` +
    (ck ? ` (resuming at epoch ${ck.state.epoch}${ck.state.stepInEpoch ? `, step ${ck.state.stepInEpoch}/${trainer.stepsPerEpoch}` : ''})` : ''));
  say(`Engine   ${backend.name}, ${threads} thread${threads > 1 ? 's' : ''}`);
  say(`Run      ${show(outDir)}/`);

  // ---- Ctrl-C or SIGTERM: finish the step, checkpoint, exit 130; a second one exits at once ----
  let stop = false;
  const offSignals = onStopSignals((signal) => {
    stop = true;
    if (!quiet) process.stderr.write(`\n${stopNotice(signal)}\n`);
  });

  // ---- progress: a bar in a terminal, one line per epoch otherwise ----
  const tty = Boolean(process.stdout.isTTY) && !quiet;
  let bar: cliProgress.SingleBar | null = null;
  let runStart = performance.now();
  let runSteps = 0;
  const totalSteps = trainer.totalSteps;
  const stepsDoneAtStart = trainer.state.step;
  // The checkpoint on disk: the one resumed from, then each one this run writes.
  let saved = ck && existsSync(ckPath) ? { path: show(ckPath), epoch: ck.state.epoch, step: ck.state.step, resumedFrom: true } : null;
  const save = () => {
    saveCheckpoint(ckPath, trainer, classNames);
    saved = { path: show(ckPath), epoch: trainer.state.epoch, step: trainer.state.step, resumedFrom: false };
  };
  const writeFiles = (m: EpochMetrics | null) => {
    save();
    const h = trainer.state.history;
    writeText(join(outDir, 'metrics.csv'), metricsCsv(h));
    writeText(join(outDir, 'metrics.json'), JSON.stringify({ config: c, model: trainer.spec, epochs: h }, null, 2) + '\n');
    if (m) {
      const curves = curvesSvg(h);
      writeText(join(outDir, 'loss.svg'), curves.loss);
      writeText(join(outDir, 'accuracy.svg'), curves.accuracy);
    }
  };
  const end = await trainer.run({
    onEpochStart: (epoch) => {
      if (!tty) return;
      bar = new cliProgress.SingleBar({
        format: `epoch {ep}/${c.epochs} {bar} {value}/{total} | loss {loss} acc {acc} | {sps} samples/s | ETA {eta_run}`,
        barsize: 24, hideCursor: true, clearOnComplete: true, fps: 8, stream: process.stdout,
        barCompleteChar: '\u2588', barIncompleteChar: '\u2591',
      });
      bar.start(trainer.stepsPerEpoch, trainer.state.stepInEpoch, { ep: epoch + 1, loss: '-', acc: '-', sps: '-', eta_run: '-' });
    },
    onStep: (s: StepInfo) => {
      runSteps++;
      // Mid-epoch checkpoint (state, RNG and this epoch's row order): resumes exactly like Ctrl-C's.
      const every = c.checkpointEvery ?? 0;
      if (every > 0 && trainer.state.step % every === 0) save();
      if (!bar) return;
      const perStep = (performance.now() - runStart) / 1000 / runSteps;
      const left = (totalSteps - stepsDoneAtStart - runSteps) * perStep;
      bar.update(s.stepInEpoch, { ep: s.epoch, loss: s.loss.toFixed(4), acc: pct(s.acc), sps: kfmt(s.samplesPerSec), eta_run: secs(left) });
    },
    onEpoch: (m) => {
      if (bar) { bar.stop(); bar = null; }
      // Checkpoint and metrics after each evaluated epoch (every epoch by default; every 10th for
      // the seed preset, whose 1000 one-step epochs would otherwise spend more time in fsync than
      // in training) and after the last.
      const evaluated = m.test_loss !== null || m.val_loss !== null || m.epoch % c.evalEvery === 0;
      if (evaluated || m.epoch === c.epochs) writeFiles(m);
      if (tty || evaluated || m.epoch === c.epochs) say(epochLine(m, c.epochs));
    },
    shouldStop: () => stop,
  });
  if (bar) (bar as cliProgress.SingleBar).stop();
  offSignals();

  if (end.status === 'stopped') {
    writeFiles(null);
    const st = trainer.state;
    process.stderr.write(`Interrupted at epoch ${st.epoch + (st.stepInEpoch ? 1 : 0)}, step ${st.stepInEpoch || trainer.stepsPerEpoch}/${trainer.stepsPerEpoch}; ` +
      `checkpoint saved to ${show(ckPath)}. Resume with: ${resumeCmd}\n`);
    if (o.json) process.stdout.write(JSON.stringify({ status: 'interrupted', checkpoint: ckPath, epoch: st.epoch, step: st.step }) + '\n');
    disposeBackend(backend);
    return EXIT.interrupted;
  }
  if (end.status === 'diverged') {
    process.stderr.write(`error: ${divergenceMessage({ ...end, checkpoint: saved })}\n`);
    if (o.json) process.stdout.write(JSON.stringify({ status: 'diverged', epoch: end.epoch, step: end.step, checkpoint: saved ? ckPath : null }) + '\n');
    disposeBackend(backend);
    return EXIT.diverged;
  }

  // ---- final report: accuracy, per-class, confusion matrix, files ----
  const evalSet = trainer.test ?? trainer.val;
  const last = trainer.state.history[trainer.state.history.length - 1];
  const npzPath = join(outDir, 'weights.npz');
  exportNpz(npzPath, trainer.model);
  let summary: Record<string, unknown> = {
    status: 'done', epochs: trainer.state.epoch, seconds: +trainer.state.seconds.toFixed(3),
    samples_per_s: Math.round(last.samples_per_s), train_loss: last.train_loss, train_accuracy: last.train_acc,
    checkpoint: ckPath, weights_npz: npzPath, run_dir: outDir, arch: trainer.spec.arch, backend: backend.name, threads,
  };
  if (evalSet) {
    const which = trainer.test ? 'test' : 'validation';
    const r = trainer.evaluate(evalSet, true);
    const conf = confusionMatrix(evalSet.labels, r.preds!, trainer.classes);
    const [, H, W] = trainer.spec.input;
    const mis = misclassifiedPng(evalSet.images, evalSet.labels, r.preds!, evalSet.n, H, W);
    writeFileAtomic(join(outDir, 'misclassified.png'), mis.png);
    writeText(join(outDir, 'confusion.svg'), confusionSvg(conf, classNames,
      `Confusion matrix, ${which} set: ${pct(r.acc)} of ${r.n}`));
    summary = { ...summary, [`${which}_accuracy`]: r.acc, [`${which}_loss`]: r.loss };
    if (!quiet) {
      say('');
      say(`${which === 'test' ? 'Test' : 'Validation'} accuracy ${pct(r.acc)} (${r.correct}/${r.n}), loss ${r.loss.toFixed(4)}; ` +
        `${trainer.state.epoch} epochs in ${secs(trainer.state.seconds)} (${kfmt(last.samples_per_s)} samples/s)`);
      say(confusionText(conf, classNames));
      say(`misclassified.png shows ${mis.shown} of the ${mis.count} misclassified ${which} images (true>predicted).`);
    } else if (!o.json) {
      process.stdout.write(`${which} accuracy ${pct(r.acc)} (${r.correct}/${r.n}), loss ${r.loss.toFixed(4)}, ` +
        `${secs(trainer.state.seconds)}; checkpoint ${show(ckPath)}\n`);
    }
  }
  say('');
  say(`Run folder ${show(outDir)}/: checkpoint.safetensors, weights.npz, metrics.csv, metrics.json, ` +
    `loss.svg, accuracy.svg${evalSet ? ', confusion.svg, misclassified.png' : ''}`);
  say(`Evaluate: npm run eval -- --model ${show(ckPath)}   (or ${show(npzPath)}, the seed's numpy layout)`);
  say(`Continue: ${resumeCmd} --epochs ${c.epochs * 2}`);
  if (o.json) process.stdout.write(JSON.stringify(summary) + '\n');
  disposeBackend(backend);
  return EXIT.ok;
}

/**
 * Loads the data and builds the backend and trainer. In its own function so the loaded JS copies
 * of the images (the trainer keeps its own in backend memory) can be garbage collected.
 */
function setup(config: TrainConfig, o: Record<string, any>, ck: ReturnType<typeof readCheckpoint> | null) {
  const data = loadData({ data: config.data, trainCsv: config.trainCsv, testCsv: config.testCsv });
  const bytes = data.train.images.length + (data.test?.images.length ?? 0);
  const backend = makeBackend(o.backend, { threads: o.threads, relaxed: o.relaxed, initialBytes: bytes + (96 << 20) });
  const trainer = new Trainer(backend, config, data, ck ? resumeData(ck) : undefined, ck?.spec);
  const t = trainer.train;
  const dataLine = `train ${describeDataset({ ...data.train, n: t.n, source: t.source })}`;
  return { backend, trainer, dataLine };
}

function kebab(k: string): string {
  return k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

runMain(() => main(process.argv.slice(2)));
