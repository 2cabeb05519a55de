// Model specs: parsing `--arch` into a list of layer specs, and the JSON a checkpoint stores.
//
// `--arch` is a list of tokens joined by '-'. The first token is the input (`784`, or `28x28`,
// or `1x28x28` as CxHxW); the last must be the classifier (a dense layer with one unit per class).
// Every other token is a layer; a plain number N means a dense layer of N units. After each hidden
// layer that asks for it, the activation (`--activation`) and dropout (`--dropout`) are inserted.
// New layer kinds (conv8k5, pool2, ...) add an entry to ARCH_TOKENS.
import { FlagError, UserError } from '../errors.js';
import type { Activation } from '../engine/backend.js';
import type { LayerSpec, Shape } from './layer.js';

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

/** One kind of `--arch` token: its pattern, a help line, and the layer it becomes. */
export interface ArchToken {
  pattern: RegExp;
  help: string;
  /** hidden: insert the activation (and dropout) after it unless it is the last token. */
  build(m: RegExpMatchArray): { layers: LayerSpec[]; hidden: boolean };
}

export const ARCH_TOKENS: ArchToken[] = [
  { pattern: /^(\d+)$/, help: 'N: dense layer of N units',
    build: (m) => ({ layers: [{ type: 'dense', units: Number(m[1]) }], hidden: true }) },
  { pattern: /^dense(\d+)$/, help: 'denseN: same as N',
    build: (m) => ({ layers: [{ type: 'dense', units: Number(m[1]) }], hidden: true }) },
  { pattern: /^conv(\d+)k(\d+)(?:s(\d+))?(?:p(\d+))?$/,
    help: 'convNkK[sS][pP]: N filters of KxK, stride S (1), zero padding P (0)',
    build: (m) => ({
      layers: [{ type: 'conv2d', filters: Number(m[1]), kernel: Number(m[2]),
        stride: m[3] === undefined ? 1 : Number(m[3]), pad: m[4] === undefined ? 0 : Number(m[4]) }],
      hidden: true,
    }) },
  { pattern: /^(max|avg)?pool(\d+)(?:s(\d+))?$/,
    help: 'maxpoolK / avgpoolK [sS]: KxK pooling, stride S (K); poolK = maxpoolK',
    build: (m) => ({
      layers: [{ type: 'pool', mode: m[1] === 'avg' ? 'avg' : 'max', size: Number(m[2]),
        stride: m[3] === undefined ? Number(m[2]) : Number(m[3]) }],
      hidden: false,
    }) },
  { pattern: /^(relu|leaky_relu|lrelu|sigmoid|tanh)$/,
    help: 'relu, leaky_relu (lrelu), sigmoid, tanh: that activation here (else --activation follows each hidden layer)',
    build: (m) => ({ layers: [{ type: 'activation', fn: m[1] === 'lrelu' ? 'leaky_relu' : m[1], alpha: NaN }], hidden: false }) },
];

/** Whether an --arch token is an explicit activation (then none is inserted before it). */
function isActivationToken(tok: string | undefined): boolean {
  return tok !== undefined && /^(relu|leaky_relu|lrelu|sigmoid|tanh)$/.test(tok);
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
      if (opts.dropout > 0 && i < toks.length - 1) layers.push({ type: 'dropout', p: opts.dropout });
    }
    if (hidden && i < toks.length - 1 && !isActivationToken(toks[i + 1])) {
      layers.push({ type: 'activation', fn: opts.activation, alpha: opts.alpha });
      if (opts.dropout > 0) layers.push({ type: 'dropout', p: opts.dropout });
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
  return { input: [C, data.height, data.width], classes: data.classes, layers, arch: toks.join('-') };
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
