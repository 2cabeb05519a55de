// A model: a list of layers over one flat parameter arena and one gradient arena (so a single
// optimizerStep call updates everything), with activations allocated once for the largest batch.
// Parameters are named W1, b1, W2, b2, ... over the parametric layers, as in the seed.
import { hasSparseOps, type Backend } from '../engine/backend.js';
import { UserError } from '../errors.js';
import type { Rng } from '../util/rng.js';
import { initParam } from './init.js';
import type { ForwardContext, InitRule, Layer, LayerSpec, ParamDef, Shape } from './layer.js';
import { shapeSize } from './layer.js';
import { createLayer, fuseLayers } from './layers/index.js';
import { SparseDense } from './layers/sparse_dense.js';
import { Dense } from './layers/dense.js';
import type { ModelSpec } from './spec.js';

/** One named parameter tensor: where it sits in the arenas and its views. */
export interface ParamEntry {
  name: string;
  shape: number[];
  def: ParamDef;
  /** Offset in floats into the arenas. */
  offset: number;
  size: number;
  value: Float32Array;
  grad: Float32Array;
}

/** Views start on 16-float (64-byte) boundaries so SIMD rows of every tensor are aligned. */
const ALIGN_FLOATS = 16;

export class Model {
  readonly layers: Layer[] = [];
  /** All parameters, flat (the optimizer's view); grads has the same layout. */
  readonly params: Float32Array;
  readonly grads: Float32Array;
  readonly entries: ParamEntry[] = [];
  /** The arena's first `decayed` floats take weight decay; its first `trained` floats are trained. */
  readonly decayed: number;
  readonly trained: number;
  readonly inputSize: number;
  readonly classes: number;
  private readonly xbuf: Float32Array;
  private readonly probs: Float32Array;
  /** The backend's allocation mark before this model's first buffer (dispose releases to it). */
  private readonly start: number;

  /**
   * Builds the layers of spec on backend, with activations for up to maxB samples per call.
   * sparseInput (default on): a first dense layer is a SparseDense, which multiplies only the
   * input's nonzeros when a batch is mostly zeros (same results; layers/sparse_dense.ts); off, or
   * on a backend without the sparse kernels, a plain Dense.
   */
  constructor(readonly backend: Backend, readonly spec: ModelSpec, readonly maxB: number,
    opts: { sparseInput?: boolean } = {}) {
    this.start = backend.mark();
    const sparseFirst = (opts.sparseInput ?? true) && hasSparseOps(backend);
    let shape: Shape = spec.input;
    for (const ls of executionOrder(spec.layers)) {
      let layer = createLayer(ls, shape);
      if (sparseFirst && this.layers.length === 0 && layer instanceof Dense) layer = new SparseDense(layer.spec, shape);
      this.layers.push(layer);
      shape = layer.outShape;
    }
    fuseLayers(this.layers);
    this.inputSize = shapeSize(spec.input);
    this.classes = shapeSize(shape);
    if (this.classes !== spec.classes) {
      throw new UserError(`bad model spec: the last layer gives ${this.classes} outputs for ${spec.classes} classes`);
    }
    // Lay out the arenas from one size table, then carve the views. The arena holds the weights
    // (weight decay), then the norm tensors (trained without decay), then the state (not trained),
    // so that the optimizer's calls cover prefixes; entries stay in layer order (the init order).
    let n = 0;
    const layout: { layer: number; name: string; def: ParamDef; offset: number; size: number }[] = [];
    this.layers.forEach((layer, li) => {
      if (layer.paramDefs.length > 0) n++;
      for (const def of layer.paramDefs) {
        layout.push({ layer: li, name: `${def.role}${n}`, def, offset: 0, size: def.shape.reduce((a, b) => a * b, 1) });
      }
    });
    let total = 0;
    const ends: number[] = [];
    for (const kind of ['weight', 'norm', 'state'] as const) {
      for (const e of layout) {
        if ((e.def.kind ?? 'weight') !== kind) continue;
        e.offset = total;
        total += Math.ceil(e.size / ALIGN_FLOATS) * ALIGN_FLOATS;
      }
      ends.push(total);
    }
    this.decayed = ends[0];
    this.trained = ends[1];
    this.params = backend.f32(Math.max(total, ALIGN_FLOATS));
    this.grads = backend.f32(Math.max(total, ALIGN_FLOATS));
    for (const e of layout) {
      this.entries.push({
        name: e.name, shape: e.def.shape, def: e.def, offset: e.offset, size: e.size,
        value: this.params.subarray(e.offset, e.offset + e.size),
        grad: this.grads.subarray(e.offset, e.offset + e.size),
      });
    }
    this.layers.forEach((layer, li) => {
      const mine = this.entries.filter((_, k) => layout[k].layer === li);
      layer.bind(backend, mine.map((e) => e.value), mine.map((e) => e.grad), maxB, li > 0);
    });
    this.xbuf = backend.f32(maxB * this.inputSize);
    this.probs = backend.f32(maxB * this.classes);
  }

  /** Fills every parameter by rule, drawing from rng in arena order. */
  init(rng: Rng, rule: InitRule): void {
    for (const e of this.entries) initParam(e.value, e.def, rule, rng);
  }

  /** The named tensor (W1, b1, ...), or undefined. */
  param(name: string): ParamEntry | undefined {
    return this.entries.find((e) => e.name === name);
  }

  /** logits(B, classes) from x(B, inputSize) in backend memory; B <= maxB. */
  forward(x: Float32Array, B: number, ctx: ForwardContext): Float32Array {
    let h = x;
    for (const layer of this.layers) h = layer.forward(h, B, ctx);
    return h;
  }

  /** Whether forward with this ctx reads x (not when the first layer kept ctx.repeat's rows). */
  readsInput(ctx: ForwardContext): boolean {
    return this.layers[0].readsInput?.(ctx) ?? true;
  }

  /**
   * Frees the model's backend memory: each layer drops what it keeps, then the backend releases
   * to the mark taken before the model's first buffer. The backend's memory is a stack (mark,
   * release), so whatever was allocated on it after the model is freed too; the model and those
   * buffers must not be used afterwards.
   */
  dispose(): void {
    for (const layer of this.layers) layer.dispose?.();
    this.backend.release(this.start);
  }

  /** Accumulates parameter gradients from dlogits(B, classes) of the last forward. */
  backward(dlogits: Float32Array, B: number): void {
    let d: Float32Array | null = dlogits;
    for (let i = this.layers.length - 1; i >= 0 && d; i--) d = this.layers[i].backward(d, B);
  }

  /** Sets every gradient to zero (before accumulating a new step). */
  zeroGrad(): void {
    this.backend.fillZero(this.grads, this.grads.length);
  }

  /**
   * Class probabilities (B, classes) for B normalized inputs x (B, inputSize) held anywhere, in
   * batches of maxB, without dropout. For inference.
   */
  predict(x: Float32Array, B: number): Float32Array {
    const I = this.inputSize;
    const C = this.classes;
    if (x.length < B * I) throw new UserError(`predict: expected ${B}x${I} input values, got ${x.length}`);
    const out = new Float32Array(B * C);
    const ctx: ForwardContext = { training: false, rng: null };
    for (let s = 0; s < B; s += this.maxB) {
      const b = Math.min(this.maxB, B - s);
      this.xbuf.set(x.subarray(s * I, (s + b) * I));
      const logits = this.forward(this.xbuf, b, ctx);
      this.backend.softmaxForward(this.probs, logits, b, C);
      out.set(this.probs.subarray(0, b * C), s * C);
    }
    return out;
  }

  /** Number of trained parameters (without alignment padding or running statistics). */
  get paramCount(): number {
    return this.entries.reduce((a, e) => a + (e.def.kind === 'state' ? 0 : e.size), 0);
  }
}

/**
 * The layers in the order they run: `relu` then a max pool runs as the pool then `relu`. Max
 * pooling commutes with any non-decreasing function, and relu keeps the first maximum of every
 * window where it passes a gradient (a window whose maximum is <= 0 passes none either way), so
 * outputs and gradients are the same bits, while the relu touches a quarter of the values (2x2
 * pool). Other activations are left in place: a saturating f (sigmoid, tanh) can round two
 * different inputs to one output and move the first maximum.
 */
export function executionOrder(layers: readonly LayerSpec[]): LayerSpec[] {
  const order = [...layers];
  for (let i = 0; i + 1 < order.length; i++) {
    const a = order[i];
    const b = order[i + 1];
    if (a.type === 'activation' && a.fn === 'relu' && b.type === 'pool' && b.mode === 'max') {
      order[i] = b;
      order[i + 1] = a;
      i++;
    }
  }
  return order;
}
