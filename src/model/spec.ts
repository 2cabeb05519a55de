// Model specs: the layer factories and `sequential` that build one in code, `--arch` parsed into
// the same factories and `sequential` (one path), and the JSON a checkpoint stores.
//
// `--arch` is a list of tokens joined by '-'. The first token is the input (`784`, or `28x28`,
// or `1x28x28` as CxHxW); the last must be the classifier (a dense layer with one unit per class).
// Every other token is a layer; a plain number N means a dense layer of N units. After each hidden
// layer that asks for it, the activation (`--activation`) and dropout (`--dropout`) are inserted.
// New layer kinds (conv8k5, pool2, ...) add an entry to ARCH_TOKENS.
import { FlagError, UserError } from '../errors.js';
import type { Activation } from '../engine/backend.js';
import { shapeSize, type LayerSpec, type Shape } from './layer.js';
import { createLayer } from './layers/index.js';

/** What a checkpoint stores to rebuild a model: input shape, classes and the layers in order. */
export interface ModelSpec {
  /** Per-sample input shape [C, H, W]. */
  input: Shape;
  classes: number;
  layers: LayerSpec[];
  /** The `--arch` string it came from, for messages (e.g. "784-128-10"). */
  arch: string;
}

export interface ArchOptions {
  activation: Activation;
  /** Negative slope of leaky_relu. */
  alpha: number;
  /** Dropout probability after each hidden activation (0 = none). */
  dropout: number;
}

// ---- layer factories: each returns the plain LayerSpec a checkpoint stores ----

/** A fully connected layer of `units` outputs (the last one is the classifier: one unit per class). */
export function dense(units: number): LayerSpec {
  return { type: 'dense', units };
}

/** `filters` KxK convolutions over channels-first images; stride 1 and no padding by default. */
export function conv2d(filters: number, kernel: number, opts: { stride?: number; pad?: number } = {}): LayerSpec {
  return { type: 'conv2d', filters, kernel, stride: opts.stride ?? 1, pad: opts.pad ?? 0 };
}

/** KxK max pooling; the stride defaults to K (windows tile the image). */
export function maxPool(size: number, stride = size): LayerSpec {
  return { type: 'pool', mode: 'max', size, stride };
}

/** KxK average pooling; the stride defaults to K. */
export function avgPool(size: number, stride = size): LayerSpec {
  return { type: 'pool', mode: 'avg', size, stride };
}

/** An element-wise activation; alpha is leaky_relu's negative slope. */
export function activation(fn: Activation, alpha = 0.01): LayerSpec {
  return { type: 'activation', fn, alpha };
}
export const relu = (): LayerSpec => activation('relu');
export const leakyRelu = (alpha = 0.01): LayerSpec => activation('leaky_relu', alpha);
export const sigmoid = (): LayerSpec => activation('sigmoid');
export const tanh = (): LayerSpec => activation('tanh');
export const gelu = (): LayerSpec => activation('gelu');

/**
 * Batch normalization per channel (after a conv) or per feature (after a dense layer): batch
 * statistics in training, running statistics (updated with weight `momentum`) in evaluation.
 */
export function batchNorm(opts: { momentum?: number; eps?: number } = {}): LayerSpec {
  return { type: 'batchnorm', momentum: opts.momentum ?? 0.1, eps: opts.eps ?? 1e-5 };
}

/** Inverted dropout with drop probability p (training only). */
export function dropout(p: number): LayerSpec {
  return { type: 'dropout', p };
}

/**
 * A model spec from an input shape (`784`, `[28, 28]` as HxW or `[1, 28, 28]` as CxHxW) and the
 * layers in order. Every layer's settings and shapes are checked here (UserError); the classes are
 * the last layer's outputs, so it must be dense. `arch` names it in messages (default: built from
 * the layers, like `784-128-relu-10`).
 */
export function sequential(input: number | readonly number[], layers: readonly LayerSpec[], arch?: string): ModelSpec {
  const dims = typeof input === 'number' ? [input] : [...input];
  if (dims.length < 1 || dims.length > 3 || !dims.every((d) => Number.isInteger(d) && d > 0)) {
    throw new UserError(`the input shape must be 1 to 3 positive integers (like 784, [28, 28] or [1, 28, 28]), got ${JSON.stringify(input)}`);
  }
  const shape = [1, 1, 1, ...dims].slice(-3) as Shape;
  if (layers.length === 0) throw new UserError('a model needs at least one layer: end with dense(classes)');
  let out: Shape = shape;
  for (const l of layers) out = createLayer(l, out).outShape;
  const last = layers[layers.length - 1];
  if (last.type !== 'dense') throw new UserError('a model must end with its classifier, dense(classes)');
  return { input: shape, classes: shapeSize(out), layers: layers.map((l) => ({ ...l })), arch: arch ?? archOf(shape, layers) };
}

/** The `--arch`-style name of a layer list (dropout, which has no token, as `dropoutP`). */
function archOf(input: Shape, layers: readonly LayerSpec[]): string {
  const tok = (l: LayerSpec): string => {
    switch (l.type) {
      case 'dense': return String(l.units);
      case 'conv2d': return `conv${l.filters}k${l.kernel}${l.stride !== 1 ? `s${l.stride}` : ''}${l.pad ? `p${l.pad}` : ''}`;
      case 'pool': return `${l.mode}pool${l.size}${l.stride !== l.size ? `s${l.stride}` : ''}`;
      case 'activation': return String(l.fn);
      case 'batchnorm': return 'bn';
      default: return `${l.type}${l.p ?? ''}`;
    }
  };
  const head = input[0] === 1 && input[1] === 1 ? String(input[2]) : input[0] === 1 ? `${input[1]}x${input[2]}` : input.join('x');
  return [head, ...layers.map(tok)].join('-');
}

/** One kind of `--arch` token: its pattern, a help line, and the layer it becomes. */
export interface ArchToken {
  pattern: RegExp;
  help: string;
  /** hidden: insert the activation (and dropout) after it unless it is the last token. */
  build(m: RegExpMatchArray): { layers: LayerSpec[]; hidden: boolean };
}

/** An --arch token naming an activation. */
const ACTIVATION_TOKEN = /^(relu|leaky_relu|lrelu|sigmoid|tanh|gelu)$/;

export const ARCH_TOKENS: ArchToken[] = [
  { pattern: /^(\d+)$/, help: 'N: dense layer of N units',
    build: (m) => ({ layers: [dense(Number(m[1]))], hidden: true }) },
  { pattern: /^dense(\d+)$/, help: 'denseN: same as N',
    build: (m) => ({ layers: [dense(Number(m[1]))], hidden: true }) },
  { pattern: /^conv(\d+)k(\d+)(?:s(\d+))?(?:p(\d+))?$/,
    help: 'convNkK[sS][pP]: N filters of KxK, stride S (1), zero padding P (0)',
    build: (m) => ({
      layers: [conv2d(Number(m[1]), Number(m[2]), { stride: m[3] === undefined ? 1 : Number(m[3]),
        pad: m[4] === undefined ? 0 : Number(m[4]) })],
      hidden: true,
    }) },
  { pattern: /^(max|avg)?pool(\d+)(?:s(\d+))?$/,
    help: 'maxpoolK / avgpoolK [sS]: KxK pooling, stride S (K); poolK = maxpoolK',
    build: (m) => ({
      layers: [(m[1] === 'avg' ? avgPool : maxPool)(Number(m[2]), m[3] === undefined ? Number(m[2]) : Number(m[3]))],
      hidden: false,
    }) },
  { pattern: /^bn$/,
    help: 'bn: batch normalization (per channel after a conv, per feature after a dense layer); the activation follows it',
    build: () => ({ layers: [batchNorm()], hidden: false }) },
  { pattern: ACTIVATION_TOKEN,
    help: 'relu, leaky_relu (lrelu), sigmoid, tanh, gelu: that activation here (else --activation follows each hidden layer)',
    build: (m) => ({ layers: [activation((m[1] === 'lrelu' ? 'leaky_relu' : m[1]) as Activation, NaN)], hidden: false }) },
];

/** Whether an --arch token is an explicit activation (then none is inserted before it). */
function isActivationToken(tok: string | undefined): boolean {
  return tok !== undefined && ACTIVATION_TOKEN.test(tok);
}

/** The input token: `784`, `28x28` or `1x28x28`. */
export function parseInputToken(tok: string): Shape | number {
  if (/^\d+$/.test(tok)) return Number(tok);
  const m = /^(\d+)x(\d+)(?:x(\d+))?$/.exec(tok);
  if (!m) throw new FlagError(`--arch must start with the input size (like 784 or 1x28x28), got '${tok}'`);
  const s: Shape = m[3] ? [Number(m[1]), Number(m[2]), Number(m[3])] : [1, Number(m[1]), Number(m[2])];
  return s;
}

/**
 * Parses `--arch` against the data's image shape and class count; the errors say how to fix it.
 */
export function parseArch(arch: string, opts: ArchOptions,
  data: { height: number; width: number; channels?: number; classes: number }): ModelSpec {
  const toks = arch.trim().split('-');
  if (toks.length < 2) {
    throw new FlagError(`--arch '${arch}' needs at least an input and an output size, like 784-128-10`);
  }
  if (toks.some((t) => t.length === 0)) {
    throw new FlagError(`--arch '${arch}' has an empty layer between dashes; join the sizes with single dashes, like 784-128-10`);
  }
  const C = data.channels ?? 1;
  const pixels = C * data.height * data.width;
  // Conv-style archs may leave the input out ("conv8k5-pool2-10"): it is the data's image shape.
  if (!/^\d+(x\d+){0,2}$/.test(toks[0]) && ARCH_TOKENS.some((k) => k.pattern.test(toks[0]))) {
    toks.unshift(`${C}x${data.height}x${data.width}`);
  }
  const inp = parseInputToken(toks[0]);
  const inSize = typeof inp === 'number' ? inp : inp[0] * inp[1] * inp[2];
  if (inSize !== pixels) {
    throw new FlagError(`--arch starts with ${toks[0]} inputs but the images have ${C}x${data.height}x${data.width} = ` +
      `${pixels} values; start --arch with ${pixels}`);
  }
  const layers: LayerSpec[] = [];
  let pending = false; // a hidden layer's activation not yet inserted
  for (let i = 1; i < toks.length; i++) {
    const tok = toks[i];
    const kind = ARCH_TOKENS.find((k) => k.pattern.test(tok));
    if (!kind) {
      throw new FlagError(`--arch token '${tok}' is not understood; use ${ARCH_TOKENS.map((k) => k.help).join('; ')}`);
    }
    const { layers: ls, hidden } = kind.build(tok.match(kind.pattern)!);
    for (const l of ls) {
      if (l.type === 'dense' && !((l.units as number) > 0)) {
        throw new FlagError(`--arch layer '${tok}' must have at least one unit`);
      }
    }
    layers.push(...ls);
    if (isActivationToken(tok)) { // explicit activation: --alpha and --dropout apply as to inserted ones
      ls[0].alpha = opts.alpha;
      if (opts.dropout > 0 && i < toks.length - 1) layers.push(dropout(opts.dropout));
    }
    // A hidden layer's activation goes after the batch norms that follow it (conv8k5-bn: conv, bn, relu).
    if (tok !== 'bn') pending = hidden;
    if (pending && i < toks.length - 1 && toks[i + 1] !== 'bn') {
      if (!isActivationToken(toks[i + 1])) {
        layers.push(activation(opts.activation, opts.alpha));
        if (opts.dropout > 0) layers.push(dropout(opts.dropout));
      }
      pending = false;
    }
  }
  const last = layers[layers.length - 1];
  if (last.type !== 'dense') {
    throw new FlagError(`--arch must end with the output size (one unit per class, ${data.classes} here)`);
  }
  if (last.units !== data.classes) {
    throw new FlagError(`--arch ends with ${last.units} outputs but the data has ${data.classes} classes; ` +
      `end --arch with ${data.classes}`);
  }
  return sequential([C, data.height, data.width], layers, toks.join('-'));
}

/** Checks a spec read from a file (shape only; layer settings are checked when built). */
export function validateSpec(x: unknown, where: string): ModelSpec {
  const s = x as ModelSpec;
  const ok = s && Array.isArray(s.input) && s.input.length === 3 && s.input.every((v) => Number.isInteger(v) && v > 0) &&
    Number.isInteger(s.classes) && s.classes > 0 && Array.isArray(s.layers) && s.layers.length > 0 &&
    s.layers.every((l) => l && typeof l.type === 'string');
  if (!ok) throw new UserError(`${where}: the model spec is malformed; the file is damaged or not ours`);
  return { ...s, arch: typeof s.arch === 'string' ? s.arch : '?' };
}

/** One line describing a spec: "784-128-10 (relu, dropout 0.1)". */
export function describeSpec(spec: ModelSpec): string {
  const acts = [...new Set(spec.layers.filter((l) => l.type === 'activation').map((l) => String(l.fn)))];
  const drop = spec.layers.find((l) => l.type === 'dropout');
  const extra = [...acts, ...(drop ? [`dropout ${drop.p}`] : [])];
  return extra.length ? `${spec.arch} (${extra.join(', ')})` : spec.arch;
}
