// The trained model as inference sees it: a checkpoint loaded through src/io/checkpoint.ts, checked
// to take MNIST-shaped input (1x28x28), and a classify() that normalizes prepared digits exactly
// as training did and returns sorted class probabilities.
import { existsSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { Backend } from '../engine/backend.js';
import { projectRoot } from '../engine/root.js';
import { UserError } from '../errors.js';
import { normalize } from './prepare.js';

/** What src/io/checkpoint.ts loadCheckpointModel gives back (the part inference uses). */
export interface LoadedModel {
  model: { predict(x: Float32Array, B: number): Float32Array };
  normalization: { scale: number; shift: number };
  classNames: string[];
  inputShape: [number, number, number];
}

/** One answer: the winning class, its probability and the whole distribution. */
export interface Classification {
  label: string;
  index: number;
  confidence: number;
  probs: number[];
  /** The three most likely classes, best first. */
  top: { label: string; p: number }[];
}

/** The shipped model, used when --model is not given. */
export function defaultModelPath(): string {
  return join(projectRoot(), 'models', 'mnist-mlp.safetensors');
}

/** Loads a checkpoint and refuses one whose input is not a 1x28x28 image. */
export async function loadInferenceModel(path: string, backend: Backend): Promise<LoadedModel> {
  if (!existsSync(path)) {
    throw new UserError(`model not found: ${path}; train one with \`npm run train\` or leave out --model to use the shipped one`);
  }
  const loaded: LoadedModel = extname(path).toLowerCase() === '.npz'
    ? (await import('../io/model-file.js')).loadModelFile(path, backend)
    : (await import('../io/checkpoint.js')).loadCheckpointModel(path, backend); // no zip code to load
  const [C, H, W] = loaded.inputShape;
  if (C !== 1 || H !== 28 || W !== 28) {
    throw new UserError(`${path} expects ${C}x${H}x${W} inputs (${C * H * W} values), but inference prepares ` +
      '1x28x28 (784) MNIST-style digits; use a model trained on 28x28 grayscale images such as MNIST');
  }
  return loaded;
}

/** Runs the model on B prepared 28x28 digits at once; one Classification per digit. */
export function classify(m: LoadedModel, digits: Uint8Array[]): Classification[] {
  const D = 784;
  const B = digits.length;
  if (B === 0) return [];
  const x = new Float32Array(B * D);
  for (let b = 0; b < B; b++) {
    normalize(x.subarray(b * D, (b + 1) * D), digits[b], m.normalization.scale, m.normalization.shift);
  }
  const probs = m.model.predict(x, B);
  const K = probs.length / B;
  const out: Classification[] = [];
  for (let b = 0; b < B; b++) {
    const p = Array.from(probs.subarray(b * K, (b + 1) * K));
    const order = p.map((_, i) => i).sort((i, j) => p[j] - p[i]);
    const name = (i: number) => m.classNames[i] ?? String(i);
    out.push({
      label: name(order[0]), index: order[0], confidence: p[order[0]], probs: p,
      top: order.slice(0, 3).map((i) => ({ label: name(i), p: p[i] })),
    });
  }
  return out;
}
