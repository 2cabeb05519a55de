// Checkpoints: one safetensors file per run (JSON header + raw little-endian tensors, readable
// from Python with `safetensors.numpy.load_file`), written atomically, holding everything a run
// needs to continue bit for bit, and the loader that eval and infer use.
//
// Format "wasmnist-checkpoint", version 1:
//   tensors   W1, b1, W2, b2, ...       parameters (F32), W as (O,I), b as (O)
//             m.W1, v.W1, ...           optimizer state (m: momentum / Adam first moment,
//                                       v: Adam second moment), only those the optimizer uses
//             live.W1, live.b1, ...     with --ema only: the training weights; W1, b1, ... are then
//                                       the moving average (what eval, infer and export use)
//             perm                      (I32) this epoch's row order, only when stopped mid-epoch
//   metadata  format, format_version    "wasmnist-checkpoint", "1"
//             model                     JSON ModelSpec: input [C,H,W], classes, layers [{type,...}]
//             config                    JSON TrainConfig (every training setting, seed included)
//             state                     JSON TrainState: epoch, step, stepInEpoch, rng (4 u32),
//                                       partial epoch sums, seconds, per-epoch metrics history
//             normalization             JSON {scale, shift}: x = u8 * scale + shift; with colour
//                                       data also {mean: [C], std: [C]}: x = (u8/255 - mean[c]) / std[c]
//                                       per channel instead (older checkpoints have no mean/std)
//             class_names               JSON ["0", "1", ...]
//             optimizer                 JSON {kind, step}
//
// The seed's .npz layout lives in model-file.ts, apart, so loading a checkpoint (infer's start-up)
// does not load the zip code.
import type { Backend } from '../engine/backend.js';
import { UserError } from '../errors.js';
import { decodeSafetensors, encodeSafetensors, readSafetensors, writeSafetensors, type Tensor } from './safetensors.js';
import { Model } from '../model/model.js';
import { validateSpec, type ModelSpec } from '../model/spec.js';
import { shapeSize, type Shape } from '../model/layer.js';
import { createLayer } from '../model/layers/index.js';
import { EVAL_BATCH, optimizerSlots, type TrainConfig } from '../train/config.js';
import { normalizationOf, type Normalization } from '../data/normalize.js';
import type { ResumeData, TrainState, Trainer } from '../train/trainer.js';

export const CHECKPOINT_FORMAT = 'wasmnist-checkpoint';
export const CHECKPOINT_VERSION = 1;

export type { Normalization } from '../data/normalize.js';

/** A checkpoint as read back. */
export interface Checkpoint {
  spec: ModelSpec;
  config: TrainConfig;
  normalization: Normalization;
  classNames: string[];
  state: TrainState;
  params: Record<string, Float32Array>;
  /** Optimizer state per parameter name (m.W1 -> m.W1), as stored. */
  m: Record<string, Float32Array>;
  v: Record<string, Float32Array>;
  /** With config.ema: the training weights (params is then their moving average); else null or absent. */
  live?: Record<string, Float32Array> | null;
  perm: Int32Array | null;
}

/** Writes the trainer's whole state to path (atomically: a crash leaves the old file). */
export function saveCheckpoint(path: string, t: Trainer, classNames: string[]): void {
  writeCheckpoint(path, checkpointOf(t, classNames));
}

/** A trainer's whole state as a Checkpoint (copies, in the order the file stores them). */
export function checkpointOf(t: Trainer, classNames: string[]): Checkpoint {
  const slots = optimizerSlots(t.config.optimizer);
  const params: Record<string, Float32Array> = {};
  const m: Record<string, Float32Array> = {};
  const v: Record<string, Float32Array> = {};
  const live: Record<string, Float32Array> | null = t.ema ? {} : null;
  for (const e of t.model.entries) {
    // With EMA the average is the model (params) and the training weights ride along for resume.
    params[e.name] = t.ema ? t.ema.slice(e.offset, e.offset + e.size) : e.value.slice();
    if (live) live[e.name] = e.value.slice();
    if (e.def.kind === 'state') continue; // running statistics: not trained, no optimizer state
    if (slots.includes('m')) m[e.name] = t.m.slice(e.offset, e.offset + e.size);
    if (slots.includes('v')) v[e.name] = t.v.slice(e.offset, e.offset + e.size);
  }
  const state: TrainState = { ...t.state, rng: t.rng.getState() };
  return {
    spec: t.spec, config: t.config, normalization: normalizationOf(t.config), classNames,
    state, params, m, v, live, perm: state.stepInEpoch > 0 ? t.perm.slice() : null,
  };
}

/** Writes a checkpoint (atomically): each parameter followed by its optimizer state, then perm. */
export function writeCheckpoint(path: string, ck: Checkpoint): void {
  writeSafetensors(path, ...checkpointTensors(ck));
}

/** A checkpoint file's bytes (what writeCheckpoint writes), for a host with no files (the page). */
export function encodeCheckpoint(ck: Checkpoint): Uint8Array {
  return encodeSafetensors(...checkpointTensors(ck));
}

function checkpointTensors(ck: Checkpoint): [Record<string, Tensor>, Record<string, string>] {
  const tensors: Record<string, Tensor> = {};
  const shapes = paramShapes(ck.spec);
  for (const [name, data] of Object.entries(ck.params)) {
    const shape = shapes.get(name) ?? [data.length];
    tensors[name] = { dtype: 'F32', shape, data };
    if (ck.live?.[name]) tensors[`live.${name}`] = { dtype: 'F32', shape, data: ck.live[name] };
    if (ck.m[name]) tensors[`m.${name}`] = { dtype: 'F32', shape, data: ck.m[name] };
    if (ck.v[name]) tensors[`v.${name}`] = { dtype: 'F32', shape, data: ck.v[name] };
  }
  if (ck.perm) tensors.perm = { dtype: 'I32', shape: [ck.perm.length], data: ck.perm };
  return [tensors, {
    format: CHECKPOINT_FORMAT,
    format_version: String(CHECKPOINT_VERSION),
    model: JSON.stringify(ck.spec),
    config: JSON.stringify(ck.config),
    state: JSON.stringify(ck.state),
    normalization: JSON.stringify(ck.normalization),
    class_names: JSON.stringify(ck.classNames),
    optimizer: JSON.stringify({ kind: ck.config.optimizer, step: ck.state.step }),
  }];
}

/** Each parameter's name (W1, b1, ...) and shape, from the spec alone (builds no buffers). */
function paramShapes(spec: ModelSpec): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  let shape: Shape = spec.input;
  let n = 0;
  for (const ls of spec.layers) {
    const layer = createLayer(ls, shape);
    if (layer.paramDefs.length > 0) n++;
    for (const def of layer.paramDefs) shapes.set(`${def.role}${n}`, def.shape);
    shape = layer.outShape;
  }
  return shapes;
}

/** Reads and checks a checkpoint; every problem is a UserError naming the file and the fix. */
export function readCheckpoint(path: string): Checkpoint {
  return checkpointFrom(readSafetensors(path), path);
}

/** A checkpoint from a file's bytes (a host with no files: the page); `path` names it in messages. */
export function decodeCheckpoint(bytes: Uint8Array, path: string): Checkpoint {
  return checkpointFrom(decodeSafetensors(bytes, path), path);
}

function checkpointFrom({ tensors, metadata }: ReturnType<typeof decodeSafetensors>, path: string): Checkpoint {
  const fmt = metadata.format;
  if (fmt !== CHECKPOINT_FORMAT) {
    throw new UserError(`${path} is not a wasmnist checkpoint (format ${fmt ? `'${fmt}'` : 'missing'}); ` +
      'pass a checkpoint.safetensors written by npm run train');
  }
  const ver = Number(metadata.format_version);
  if (!Number.isInteger(ver) || ver < 1 || ver > CHECKPOINT_VERSION) {
    throw new UserError(`${path} is checkpoint format version ${metadata.format_version}, but this build reads ` +
      `version ${CHECKPOINT_VERSION}; use the wasmnist version that wrote it`);
  }
  const json = (key: string): any => {
    try {
      return JSON.parse(metadata[key]);
    } catch {
      throw new UserError(`${path}: metadata '${key}' is missing or not JSON; the checkpoint is damaged`);
    }
  };
  const spec = validateSpec(json('model'), path);
  const config = json('config') as TrainConfig;
  const state = json('state') as TrainState;
  const normalization = json('normalization') as Normalization;
  const classNames = json('class_names') as string[];
  const perChannel = (a: unknown) => a === undefined || (Array.isArray(a) && a.length === spec.input[0] && a.every((v) => Number.isFinite(v)));
  if (!Array.isArray(state?.rng) || state.rng.length !== 4 || typeof normalization?.scale !== 'number' ||
    !perChannel(normalization.mean) || !perChannel(normalization.std) || normalization.std?.some((v) => !(v > 0))) {
    throw new UserError(`${path}: the training state is malformed; the checkpoint is damaged`);
  }
  const f32 = (name: string): Float32Array | null => {
    const t = tensors[name];
    if (!t) return null;
    if (t.dtype !== 'F32') throw new UserError(`${path}: tensor ${name} is ${t.dtype}, expected F32; the checkpoint is damaged`);
    return finite(t.data as Float32Array, name, `${path}: the checkpoint is damaged`);
  };
  const params: Record<string, Float32Array> = {};
  const mParts: Record<string, Float32Array> = {};
  const vParts: Record<string, Float32Array> = {};
  let live: Record<string, Float32Array> | null = null;
  for (const name of Object.keys(tensors)) {
    if (/^[A-Za-z]+\d+$/.test(name)) params[name] = f32(name)!;
    else if (name.startsWith('m.')) mParts[name.slice(2)] = f32(name)!;
    else if (name.startsWith('v.')) vParts[name.slice(2)] = f32(name)!;
    else if (name.startsWith('live.')) (live ??= {})[name.slice(5)] = f32(name)!;
  }
  checkSpecSizes(spec, params, path);
  const perm = tensors.perm ? new Int32Array(tensors.perm.data as Int32Array) : null;
  return { spec, config, normalization, classNames, state, params, m: mParts, v: vParts, live, perm };
}

/**
 * Refuses a spec that does not fit the file before anything is allocated: every parameter the spec
 * implies must be a stored tensor of that size, and the activations of an EVAL_BATCH-row forward
 * pass must fit the 2 GiB WASM memory. A damaged size in the spec would otherwise decide how much
 * memory the Model grabs (found by the loader fuzz tests).
 */
function checkSpecSizes(spec: ModelSpec, params: Record<string, Float32Array>, path: string): void {
  let shape: Shape = spec.input;
  let n = 0;
  let values = shapeSize(shape);
  for (const ls of spec.layers) {
    const layer = createLayer(ls, shape); // builds no buffers (those come with bind())
    if (layer.paramDefs.length > 0) n++;
    for (const def of layer.paramDefs) {
      const name = `${def.role}${n}`;
      const size = def.shape.reduce((a, b) => a * b, 1);
      if (params[name]?.length !== size) {
        throw new UserError(`${path}: tensor ${name} ${params[name] ? `has ${params[name].length} values` : 'is missing'}` +
          ` but the model spec needs ${size}; the checkpoint is damaged`);
      }
    }
    shape = layer.outShape;
    values += shapeSize(shape);
  }
  if (values * EVAL_BATCH * 4 > 2 ** 31) {
    throw new UserError(`${path}: the model spec needs ${Math.round(values * EVAL_BATCH * 4 / 2 ** 20)} MiB of activations ` +
      'for a batch, more than the 2 GiB WASM memory; the checkpoint is damaged');
  }
}

/**
 * data itself, or a UserError if it holds NaN or an infinity: a flipped bit in stored weights would
 * otherwise load silently and predict NaN (found by the loader fuzz tests). No written checkpoint
 * holds one: training stops at the first non-finite loss.
 */
export function finite<T extends Float32Array | Float64Array>(data: T, name: string, where: string): T {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new UserError(`${where}: tensor ${name} holds ${data[i]} at index ${i}`);
  }
  return data;
}

/** The part of a checkpoint a Trainer continues from. */
export function resumeData(ck: Checkpoint): ResumeData {
  return { state: ck.state, params: ck.params, m: ck.m, v: ck.v, live: ck.live, perm: ck.perm };
}

/** What eval and infer need from a model file. */
export interface LoadedModelFile {
  model: Model;
  normalization: Normalization;
  classNames: string[];
  /** Per-sample input shape C,H,W. */
  inputShape: [number, number, number];
}

/** Loads a checkpoint's model for inference (eval, infer, the library's load). */
export function loadCheckpointModel(path: string, backend: Backend): LoadedModelFile {
  const ck = readCheckpoint(path);
  const model = new Model(backend, ck.spec, EVAL_BATCH);
  for (const e of model.entries) {
    const src = ck.params[e.name];
    if (!src || src.length !== e.size) {
      throw new UserError(`${path}: tensor ${e.name} is missing or has the wrong size for ${ck.spec.arch}; the checkpoint is damaged`);
    }
    e.value.set(src);
  }
  return { model, normalization: ck.normalization, classNames: classNamesOf(ck), inputShape: [...ck.spec.input] };
}

/** The stored class names, or "0", "1", ... when they are missing or do not fit the model. */
export function classNamesOf(ck: Checkpoint): string[] {
  return Array.isArray(ck.classNames) && ck.classNames.length === ck.spec.classes
    ? ck.classNames.map(String) : Array.from({ length: ck.spec.classes }, (_, i) => String(i));
}
