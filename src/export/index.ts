// exportModel: a trained model (a checkpoint path, or a model already loaded) to ONNX, the
// TensorFlow.js layers format or PyTorch, written so that a failure leaves nothing half-written.
// Every format keeps one contract: float32 pixels 0..255 in, the normalization baked in as the
// first step, class probabilities out, class names in the metadata (see docs/export.md).
//   onnx     out is a file:   model.onnx
//   tfjs     out is a folder: model.json + group1-shard1of1.bin
//   pytorch  out is a folder: model.safetensors + model.py
import { accessSync, constants, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { loadModelFile } from '../io/model-file.js';
import type { Activation } from '../engine/backend.js';
import { createBackend } from '../engine/index.js';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { encodeSafetensors } from '../io/safetensors.js';
import { toOnnx } from './onnx.js';
import { toPytorch } from './pytorch.js';
import { FORMATS, sourceOf, type ExportFormat, type ExportSource, type TrainedModel } from './source.js';
import { toTfjs, TFJS_SHARD } from './tfjs.js';

export { FORMATS, sourceOf, type ExportFormat, type ExportSource, type TrainedModel } from './source.js';
export { toOnnx, ONNX_OPSET } from './onnx.js';
export { toTfjs } from './tfjs.js';
export { toPytorch } from './pytorch.js';

export interface ExportOptions {
  format: ExportFormat;
  /** The .onnx file, or the folder for tfjs and pytorch. */
  out: string;
  /** Replace what is at out (else an existing out is refused). */
  force?: boolean;
  /** Hidden activation of a seed-layout .npz model (it stores none); default relu. */
  activation?: Activation;
}

export interface ExportResult {
  format: ExportFormat;
  /** The files written, under out. */
  files: string[];
  bytes: number;
}

/** Bytes of the files each format writes (relative names), for a source. */
function render(src: ExportSource, format: ExportFormat): Record<string, Uint8Array | string> {
  switch (format) {
    case 'onnx':
      return { '': toOnnx(src) };
    case 'tfjs': {
      const { modelJson, shard } = toTfjs(src);
      return { 'model.json': JSON.stringify(modelJson), [TFJS_SHARD]: shard };
    }
    case 'pytorch': {
      const { tensors, metadata, modelPy } = toPytorch(src, { weightsFile: 'model.safetensors' });
      return { 'model.safetensors': encodeSafetensors(tensors, metadata), 'model.py': modelPy };
    }
  }
}

/**
 * Exports model (a checkpoint.safetensors or seed .npz path, a model in memory, or an
 * ExportSource) as opts.format to opts.out. Refuses (UserError, one line) an unknown format, an
 * existing out without force, and a layer the format cannot express, before writing anything.
 */
export function exportModel(model: string | TrainedModel | ExportSource, opts: ExportOptions): ExportResult {
  const format = checkFormat(opts.format);
  const out = opts.out;
  checkOut(out, format, opts.force ?? false);
  const src = typeof model === 'string' ? sourceOf(loadModelFile(model, createBackend('ts'), { activation: opts.activation }))
    : 'model' in model ? sourceOf(model) : model;
  const files = render(src, format);
  const bytes = Object.values(files).reduce((a, f) => a + (typeof f === 'string' ? Buffer.byteLength(f) : f.length), 0);
  if (format === 'onnx') {
    writeFileAtomic(out, files['']);
    return { format, files: [out], bytes };
  }
  writeFolderAtomic(out, files);
  return { format, files: Object.keys(files).map((f) => join(out, f)), bytes };
}

function checkFormat(f: string): ExportFormat {
  if (!(FORMATS as readonly string[]).includes(f)) {
    throw new UserError(`unknown export format '${f}'; use one of ${FORMATS.join(', ')}`, 2);
  }
  return f as ExportFormat;
}

/** An onnx export is a file and the others a folder; an existing out needs force and the same kind. */
function checkOut(out: string, format: ExportFormat, force: boolean): void {
  const folder = format !== 'onnx';
  const parent = dirname(out);
  if (folder && ['.json', '.bin', '.safetensors', '.py', '.onnx'].includes(extname(out).toLowerCase())) {
    throw new UserError(`--out ${out} looks like a file, but a ${format} export is a folder (it writes ` +
      `${format === 'tfjs' ? 'model.json and a weight shard' : 'model.safetensors and model.py'} in it); give a folder name`);
  }
  if (!existsSync(parent)) throw new UserError(`cannot write ${out}: folder ${parent} does not exist; create it first`);
  try {
    accessSync(parent, constants.W_OK);
  } catch {
    throw new UserError(`cannot write ${out}: no permission to write in ${parent}; choose another --out`);
  }
  if (!existsSync(out)) return;
  const isDir = statSync(out).isDirectory();
  if (isDir !== folder) {
    throw new UserError(`${out} is a ${isDir ? 'folder' : 'file'}, but a ${format} export is a ${folder ? 'folder' : 'file'}; ` +
      'choose another --out');
  }
  if (!force) throw new UserError(`${out} already exists; pass --force to replace it, or choose another --out`);
}

/**
 * Writes files into a temp folder beside out, then renames it to out (after moving an old out
 * aside, removed once the new one is in place): out is never a mix of old and new files.
 */
function writeFolderAtomic(out: string, files: Record<string, Uint8Array | string>): void {
  const tmp = join(dirname(out), `.${basename(out)}.${process.pid}.tmp`);
  const old = join(dirname(out), `.${basename(out)}.${process.pid}.old`);
  rmSync(tmp, { recursive: true, force: true });
  try {
    mkdirSync(tmp);
    for (const [name, data] of Object.entries(files)) writeFileAtomic(join(tmp, name), data);
    if (existsSync(out)) renameSync(out, old);
    renameSync(tmp, out);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(out) && existsSync(old)) renameSync(old, out);
    throw e;
  }
  rmSync(old, { recursive: true, force: true });
}
