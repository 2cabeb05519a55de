// What every exporter reads: the model's layers in spec order, each with its per-sample input and
// output shapes and its weights, plus the normalization and the class names. The exporters share
// this walk and differ only in how they write each layer, one switch on the layer type per format
// whose default refuses: a new layer kind (batch normalization) is one case in each.
import { channelNorm } from '../data/normalize.js';
import { UserError } from '../errors.js';
import type { Normalization, LoadedModelFile } from '../io/checkpoint.js';
import type { LayerSpec, Shape } from '../model/layer.js';
import { createLayer } from '../model/layers/index.js';
import type { ModelSpec } from '../model/spec.js';

export const FORMATS = ['onnx', 'tfjs', 'pytorch'] as const;
export type ExportFormat = (typeof FORMATS)[number];

/** The contract every export keeps, in words (also the ONNX doc_string and metadata). */
export const CONTRACT = 'input: float32 pixels 0..255, normalization included; output: class probabilities (softmax)';

/** A trained model as the exporters see it: spec, named parameters (W1 (O,I), b1 (O), ...), input handling. */
export interface ExportSource {
  spec: ModelSpec;
  /** Parameters by our names: W{n} in our layout (dense (O,I), conv (OC,C,K,K)), b{n} (O). */
  params: Record<string, Float32Array>;
  /**
   * x = pixel * scale + shift, or per channel x = (pixel/255 - mean[c]) / std[c] when mean and std
   * are present; baked into every export as its first step.
   */
  normalization: Normalization;
  classNames: string[];
}

/** One layer of the walk, with its per-sample input shape. n numbers the parametric layers from 1 (W1, b1, ...); 0 for the others. */
export interface ExportLayer {
  spec: LayerSpec;
  inShape: Shape;
  n: number;
  W: Float32Array | null;
  b: Float32Array | null;
  /** A batch norm's tensors (gamma{n}, beta{n}, mean{n}, var{n}); null for other layers or when missing. */
  bn: BatchNormTensors | null;
}

export interface BatchNormTensors { gamma: Float32Array; beta: Float32Array; mean: Float32Array; var: Float32Array }

/** A model in memory with what its inputs and outputs mean (loadModelFile's result is one). */
export type TrainedModel = Pick<LoadedModelFile, 'model' | 'normalization' | 'classNames'>;

/** The source of a model in memory. */
export function sourceOf(m: TrainedModel): ExportSource {
  const params: Record<string, Float32Array> = {};
  for (const e of m.model.entries) params[e.name] = e.value;
  return { spec: m.model.spec, params, normalization: m.normalization, classNames: m.classNames };
}

/**
 * The layers in spec order (not executionOrder's relu/pool swap: the export keeps the layers as
 * the user wrote them), with shapes from the layer factories (which allocate nothing until bound).
 */
export function exportLayers(src: ExportSource): ExportLayer[] {
  const out: ExportLayer[] = [];
  let shape: Shape = src.spec.input;
  let n = 0;
  for (const spec of src.spec.layers) {
    const layer = createLayer(spec, shape);
    const parametric = layer.paramDefs.length > 0;
    if (parametric) n++;
    out.push({
      spec, inShape: shape, n: parametric ? n : 0,
      W: parametric ? src.params[`W${n}`] ?? null : null,
      b: parametric ? src.params[`b${n}`] ?? null : null,
      bn: spec.type === 'batchnorm' ? batchNormOf(src.params, n) : null,
    });
    shape = layer.outShape;
  }
  return out;
}

/**
 * A colour model's normalization as one scale and shift per channel (float32, the values the
 * trainer's gather multiplies and adds: x = pixel * scale[c] + shift[c]), or null for a model
 * with one scale and shift for all pixels.
 */
export function channelAffine(src: ExportSource): { scale: Float32Array; shift: Float32Array } | null {
  const n = src.normalization, C = src.spec.input[0];
  if (!n.mean || !n.std) return null;
  if (n.mean.length !== C || n.std.length !== C) {
    throw new UserError(`the model normalizes ${n.mean.length} channels but its input has ${C}; the file is damaged`);
  }
  const t = channelNorm(n, C);
  return { scale: t.filter((_, i) => i % 2 === 0), shift: t.filter((_, i) => i % 2 === 1) };
}

/** The one-line refusal for a layer a format cannot express. */
export function cannotExpress(format: ExportFormat, l: ExportLayer): UserError {
  const what = l.spec.type === 'activation' ? `activation '${String(l.spec.fn)}'` : `layer '${l.spec.type}'`;
  return new UserError(`cannot export to ${format}: the model has ${what}, which it has no counterpart for; ` +
    `export to another format (${FORMATS.filter((f) => f !== format).join(', ')}) or retrain without it`);
}

/**
 * The refusal for an image layer after a dense layer: the engine accepts one (reading the dense
 * output as a 1x1 image), none of the formats does.
 */
export function afterDense(format: ExportFormat, l: ExportLayer): UserError {
  return new UserError(`cannot export to ${format}: layer '${l.spec.type}' follows a dense layer, and the exports ` +
    'keep a flat tensor flat; retrain with the convolutions and pooling before the dense layers');
}

/** A parametric layer's weights, or a UserError when the model lacks them. */
export function weights(l: ExportLayer): { W: Float32Array; b: Float32Array } {
  if (!l.W || !l.b) throw new UserError(`the model has no W${l.n}/b${l.n} for its ${l.spec.type} layer ${l.n}; the file is damaged`);
  return { W: l.W, b: l.b };
}

function batchNormOf(params: Record<string, Float32Array>, n: number): BatchNormTensors | null {
  const [gamma, beta, mean, vr] = ['gamma', 'beta', 'mean', 'var'].map((r) => params[`${r}${n}`]);
  return gamma && beta && mean && vr ? { gamma, beta, mean, var: vr } : null;
}

/** A batch norm layer's tensors, or a UserError when the model lacks them. */
export function normTensors(l: ExportLayer): BatchNormTensors {
  if (!l.bn) throw new UserError(`the model has no gamma${l.n}/beta${l.n}/mean${l.n}/var${l.n} for its batchnorm layer ${l.n}; the file is damaged`);
  return l.bn;
}

/** The metadata every format carries (string values). */
export function metadata(src: ExportSource): Record<string, string> {
  return {
    class_names: JSON.stringify(src.classNames),
    normalization: JSON.stringify(src.normalization),
    arch: src.spec.arch,
    contract: CONTRACT,
  };
}
