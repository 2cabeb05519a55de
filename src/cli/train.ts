// `wasmnist train` (`npm run train`): trains a network on MNIST (or your IDX/CSV data), evaluates
// every epoch, writes a run folder (checkpoint, metrics, curves, confusion matrix, misclassified
// digits, weights.npz), resumes exactly from a checkpoint, and stops cleanly on Ctrl-C. It is the
// library's train() with three parts: the config (defaults < preset < flags, or the checkpoint's),
// the run folder (train-folder.ts) and the console reporter (train-reporter.ts) as its callbacks.
import { dirname, relative } from 'node:path';
import { Command, Option } from 'commander';
import { fromArch } from '../api/build.js';
import { load, type Network } from '../api/network.js';
import { trainWith, type TrainResult } from '../api/train.js';
import { loadDataAsync, describeDataset, type Dataset } from '../data/index.js';
import { addFolderFlags, folderOptions } from './data-flags.js';
import { ACTIVATIONS, OPTIMIZERS } from '../engine/backend.js';
import { BACKEND_NAMES } from '../engine/index.js';
import { UserError } from '../errors.js';
import { INIT_RULES } from '../model/layer.js';
import { describeSpec } from '../model/spec.js';
import { DEFAULTS, PRESETS, SCHEDULES, archForData, parseAugment, validateConfig, type TrainConfig } from '../train/config.js';
import { confusionMatrix, confusionText } from '../train/report.js';
import { collectGarbage } from '../util/gc.js';
import { clampThreads } from '../util/threads.js';
import { divergenceMessage } from '../train/divergence.js';
import { onStopSignals, stopNotice } from './signals.js';
import { intArg, numArg } from './args.js';
import { EXIT, asInvoked, commandName, runIfMain } from './common.js';
import { defaultThreads } from './backend.js';
import { RunFolder, timestampDir } from './train-folder.js';
import { ConsoleReporter, kfmt, pct, secs } from './train-reporter.js';

/** CLI option name -> config key, for the flags that change what a run computes. */
const CONFIG_FLAGS: Record<string, keyof TrainConfig> = {
  arch: 'arch', activation: 'activation', init: 'init', dropout: 'dropout', batch: 'batch',
  optimizer: 'optimizer', lr: 'lr', momentum: 'momentum', weightDecay: 'weightDecay', schedule: 'schedule',
  warmup: 'warmup', epochs: 'epochs', seed: 'seed', val: 'val', evalEvery: 'evalEvery', scale: 'scale',
  shift: 'shift', limitTrain: 'limitTrain', limitTest: 'limitTest', data: 'data', trainCsv: 'trainCsv',
  testCsv: 'testCsv', skipZeros: 'skipZeros', checkpointEvery: 'checkpointEvery', augment: 'augment', beta1: 'beta1',
  beta2: 'beta2', eps: 'eps', targetAcc: 'targetAcc', labelSmoothing: 'labelSmoothing',
  ema: 'ema',
};
/** Config keys a resumed run may change (the rest must match the checkpoint). */
const RESUMABLE: (keyof TrainConfig)[] = ['epochs', 'evalEvery', 'data', 'trainCsv', 'testCsv', 'checkpointEvery', 'targetAcc'];

const EPILOG = `
Examples:
  npm run train                                   recommended MLP (784-256-128-10, Adam, cosine), ~98.3% in ~12 s
  npm run train -- --preset seed                  the numpy seed: 784-10-10, full batch, SGD lr 0.1, 1000 epochs
  npm run train -- --arch 784-128-10 --optimizer momentum --lr 0.05 --epochs 3
  npm run train -- --dropout 0.2 --activation leaky_relu --val 5000 --out runs/mine
  npm run train -- --resume runs/mine/checkpoint.safetensors --epochs 10
  npm run train -- --data pets/ --preset cnn      class folders of pictures (pets/train/cat/*.jpg, pets/test/...; docs/data.md)
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
  const p = new Command(commandName('train'))
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
    .option('--weight-decay <wd>', 'L2 weight decay (decoupled for adamw; never on batch norm)', numArg('nonneg'), d.weightDecay)
    .option('--beta1 <b>', 'Adam/AdamW first-moment decay', numArg('nonneg'), d.beta1)
    .option('--beta2 <b>', 'Adam/AdamW second-moment decay', numArg('nonneg'), d.beta2)
    .option('--eps <e>', 'Adam/AdamW epsilon', numArg('positive'), d.eps)
    .option('--target-acc <f>', 'stop after the first evaluated epoch whose accuracy (validation with --val, else test) ' +
      'reaches this fraction, like 0.99 (default: off)', numArg('nonneg'))
    .option('--label-smoothing <e>', 'train toward (1-e) one-hot + e/classes (default 0: off)', numArg('nonneg'))
    .option('--ema <decay>', 'evaluate and save an exponential moving average of the weights, e = d*e + (1-d)*w after every step (like 0.999; default 0: off)', numArg('nonneg'))
    .option('--augment <spec>', 'random per-image translate=PIXELS,rotate=DEGREES,scale=FRACTION[,flip] of the ' +
      'training images (any subset; default off)', parseAugment)
    .addOption(new Option('--schedule <kind>', 'learning-rate schedule (step: x0.1 at 50% and 75%; onecycle: PyTorch\'s OneCycleLR, lr/25 up to lr over --warmup or 30%, then down)').choices(SCHEDULES).default(d.schedule))
    .option('--warmup <n>', 'linear warmup: epochs (1, 0.5) or steps (500steps)', d.warmup)
    .option('--epochs <n>', 'epochs (with --resume: the total to reach)', intArg(1), d.epochs)
    .option('--seed <n>', 'seed of the one PRNG (init, shuffle, split, dropout)', intArg(0), d.seed)
    .option('--val <n>', 'hold out n seeded training rows for validation', intArg(0), d.val)
    .option('--eval-every <n>', 'evaluate every n epochs (and after the last)', intArg(1), d.evalEvery)
    .option('--data <dir>', 'IDX folder, CIFAR-10 binary batches, or class folders of pictures (default: the bundled MNIST)')
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
    .addHelpText('after', asInvoked(EPILOG))
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ outputError: () => { /* runMain prints one line */ } });
  return addFolderFlags(p);
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

/** The run's settings: defaults < preset < flags; or the checkpoint's, where a few flags may change. */
function resolveConfig(p: Command): { config: TrainConfig; resumed: Network | null } {
  const o = p.opts();
  let config: TrainConfig;
  let resumed: Network | null = null;
  if (o.resume) {
    if (o.preset) throw new UserError('--preset cannot be combined with --resume: a resumed run keeps its checkpoint\'s settings');
    resumed = load(o.resume, backendOptions(o));
    const ck = resumed.checkpoint!;
    const { config: c, given } = configFrom(p, ck.config, true);
    for (const key of given) {
      if (!RESUMABLE.includes(key) && JSON.stringify(c[key] ?? null) !== JSON.stringify(ck.config[key] ?? null)) {
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
  return { config, resumed };
}

export async function main(argv: string[]): Promise<number> {
  const p = buildProgram();
  p.parse(argv, { from: 'user' });
  const o = p.opts();
  const { config: c, resumed } = resolveConfig(p);
  const quiet = Boolean(o.quiet || o.json);
  const show = (f: string) => { const r = relative(process.cwd(), f); return r && !r.startsWith('..') ? r : f; };
  const folder = new RunFolder(o.out ?? (o.resume ? dirname(o.resume) : timestampDir()), c,
    resumed ? resumed.checkpoint!.state : null, { resume: o.resume, force: o.force });
  const report = new ConsoleReporter(c, quiet);
  const resumeCmd = `${commandName('train')} --resume ${show(folder.checkpoint)}`;

  // Ctrl-C or SIGTERM: finish the step, checkpoint, exit 130; a second one exits at once.
  const stop = new AbortController();
  const offSignals = onStopSignals((signal) => {
    stop.abort();
    if (!quiet) process.stderr.write(`\n${stopNotice(signal)}\n`);
  });

  const t0 = performance.now();
  // The callbacks run from the loop's first turn on, after start() has returned `net`.
  // The loaded data goes straight into start(): no variable here keeps the JS copy alive.
  const { net, done, dataLine } = start(c, o, resumed, p.getOptionValueSource('arch') === 'cli', await loadDataAsync({
    data: c.data, trainCsv: c.trainCsv, testCsv: c.testCsv, folder: folderOptions(o, c.seed, o.threads, quiet),
  }), {
    signal: stop.signal,
    onTrainBegin: (info) => {
      collectGarbage(); // the loader's copy of the data is garbage now: give its memory back
      folder.open();
      report.header(info, describeSpec(net.spec), c.init, dataLine, (performance.now() - t0) / 1000, show(folder.dir));
    },
    onEpochBegin: (epoch) => report.epochBegin(epoch, net.trainer!.state.stepInEpoch),
    onBatchEnd: (_, s) => { report.batch(s); folder.step(net, s.step); },
    onEpochEnd: (_, m) => report.epochEnd(m, folder.epochEnd(net, m)),
  });
  const end = await done;
  report.stopBar();
  offSignals();
  const code = end.status === 'done' ? finish(net, c, o, folder, report, show, resumeCmd)
    : stopped(net, end, o, folder, show, resumeCmd);
  net.dispose();
  return code;
}

/**
 * Loads the data and starts training. In its own function so that the loaded JS copies of the
 * images (the network keeps its own in backend memory) can be garbage collected.
 */
function start(c: TrainConfig, o: Record<string, any>, resumed: Network | null, archGiven: boolean,
  data: { train: Dataset; test: Dataset | null }, cb: Parameters<typeof trainWith>[3]) {
  // A preset's (or the default) arch takes the data's shape and class count; a given --arch is checked.
  if (!resumed && !archGiven) c.arch = archForData(c.arch, data.train);
  const net = resumed ?? fromArch(c.arch, data.train, { activation: c.activation, alpha: c.alpha, dropout: c.dropout, ...backendOptions(o) });
  const done = trainWith(net, data, c, cb, resumed !== null);
  const t = net.trainer!.train;
  return { net, done, dataLine: `train ${describeDataset({ ...data.train, n: t.n, source: t.source })}` };
}

function backendOptions(o: Record<string, any>) {
  return { backend: o.backend, threads: o.threads, relaxed: o.relaxed };
}

/** Interrupted (exit 130, checkpoint saved) or diverged (exit 3, the last good checkpoint kept). */
function stopped(net: Network, end: TrainResult, o: Record<string, any>, folder: RunFolder,
  show: (f: string) => string, resumeCmd: string): number {
  const t = net.trainer!;
  if (end.status === 'stopped') {
    folder.save(net, false);
    const st = t.state;
    process.stderr.write(`Interrupted at epoch ${st.epoch + (st.stepInEpoch ? 1 : 0)}, step ${st.stepInEpoch || t.stepsPerEpoch}/${t.stepsPerEpoch}; ` +
      `checkpoint saved to ${show(folder.checkpoint)}. Resume with: ${resumeCmd}\n`);
    if (o.json) process.stdout.write(JSON.stringify({ status: 'interrupted', checkpoint: folder.checkpoint, epoch: st.epoch, step: st.step }) + '\n');
    return EXIT.interrupted;
  }
  if (end.status !== 'diverged') throw new Error(`unexpected end ${end.status}`);
  const saved = folder.saved;
  process.stderr.write(`error: ${divergenceMessage({ ...end, checkpoint: saved && { ...saved, path: show(folder.checkpoint) } })}\n`);
  if (o.json) process.stdout.write(JSON.stringify({ status: 'diverged', epoch: end.epoch, step: end.step, checkpoint: saved ? folder.checkpoint : null }) + '\n');
  return EXIT.diverged;
}

/** The final report: accuracy, per-class table, confusion matrix, the files written. */
function finish(net: Network, c: TrainConfig, o: Record<string, any>, folder: RunFolder, report: ConsoleReporter,
  show: (f: string) => string, resumeCmd: string): number {
  const t = net.trainer!;
  const say = (s: string) => report.say(s);
  const evalSet = t.test ?? t.val;
  const last = t.state.history[t.state.history.length - 1];
  folder.finish(net);
  let summary: Record<string, unknown> = {
    status: 'done', epochs: t.state.epoch, seconds: +t.state.seconds.toFixed(3),
    train_seconds: +(t.state.trainSeconds ?? 0).toFixed(3),
    // the whole process's CPU (every thread; loading and evaluation included): steadier than wall on a busy machine
    cpu_seconds: +((process.cpuUsage().user + process.cpuUsage().system) / 1e6).toFixed(3),
    samples_per_s: Math.round(last.samples_per_s), train_loss: last.train_loss, train_accuracy: last.train_acc,
    checkpoint: folder.checkpoint, weights_npz: folder.npz, run_dir: folder.dir, arch: net.spec.arch, backend: t.backend.name,
    threads: t.backend.name === 'ts' ? 1 : o.threads,
  };
  if (evalSet) {
    const which = t.test ? 'test' : 'validation';
    const r = t.withEma(() => t.evaluate(evalSet, true)); // the saved model: the average with --ema
    const conf = confusionMatrix(evalSet.labels, r.preds!, t.classes);
    const mis = folder.evaluation(evalSet, r, conf, net.classNames, `Confusion matrix, ${which} set: ${pct(r.acc)} of ${r.n}`,
      [...net.spec.input]);
    summary = { ...summary, [`${which}_accuracy`]: r.acc, [`${which}_loss`]: r.loss };
    if (!report.quiet) {
      say('');
      say(`${which === 'test' ? 'Test' : 'Validation'} accuracy ${pct(r.acc)} (${r.correct}/${r.n}), loss ${r.loss.toFixed(4)}; ` +
        `${t.state.epoch} epochs in ${secs(t.state.seconds)} (${kfmt(last.samples_per_s)} samples/s)`);
      say(confusionText(conf, net.classNames));
      say(`misclassified.png shows ${mis.shown} of the ${mis.count} misclassified ${which} images (true>predicted).`);
    } else if (!o.json) {
      process.stdout.write(`${which} accuracy ${pct(r.acc)} (${r.correct}/${r.n}), loss ${r.loss.toFixed(4)}, ` +
        `${secs(t.state.seconds)}; checkpoint ${show(folder.checkpoint)}\n`);
    }
  }
  const reached = t.state.reached;
  if (reached) {
    summary = { ...summary, target_reached: reached };
    say('');
    say(`Reached --target-acc ${pct(c.targetAcc!)}: ${pct(reached.acc)} after epoch ${reached.epoch} (step ${reached.step}), ` +
      `${secs(reached.trainSeconds)} of training (${secs(reached.seconds)} with evaluation)`);
  } else if (c.targetAcc) {
    say('');
    say(`--target-acc ${pct(c.targetAcc)} was not reached in ${t.state.epoch} epochs`);
  }
  say('');
  say(`Run folder ${show(folder.dir)}/: checkpoint.safetensors, weights.npz, metrics.csv, metrics.json, ` +
    `loss.svg, accuracy.svg${evalSet ? ', confusion.svg, misclassified.png' : ''}`);
  say(`Evaluate: ${commandName('eval')} --model ${show(folder.checkpoint)}   (or ${show(folder.npz)}, the seed's numpy layout)`);
  say(`Continue: ${resumeCmd} --epochs ${c.epochs * 2}`);
  if (o.json) process.stdout.write(JSON.stringify(summary) + '\n');
  return EXIT.ok;
}

function kebab(k: string): string {
  return k.replace(/[A-Z]/g, (ch) => `-${ch.toLowerCase()}`);
}

runIfMain(import.meta.url, main);
