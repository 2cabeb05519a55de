// The trained model as inference sees it: a checkpoint loaded through src/io/checkpoint.ts, and a
// classify() that normalizes prepared pictures exactly as training did (per channel for colour
// models) and returns sorted class probabilities. A model of 1x28x28 inputs is taken for an
// MNIST-style digit reader (pictures get the digit preparation); any other reads plain pictures.
import { existsSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { Backend } from '../engine/backend.js';
import { projectRoot } from '../engine/root.js';
import { UserError } from '../errors.js';
import { channelNorm, type Normalization } from '../data/normalize.js';

/** What src/io/checkpoint.ts loadCheckpointModel gives back (the part inference uses). */
export interface LoadedModel {
  model: { predict(x: Float32Array, B: number): Float32Array };
  normalization: Normalization;
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

/** True for a model of 1x28x28 inputs: pictures get the MNIST digit preparation (ink, crop, centre). */
export function isDigitModel(m: Pick<LoadedModel, 'inputShape'>): boolean {
  const [C, H, W] = m.inputShape;
  return C === 1 && H === 28 && W === 28;
}

/** Loads a checkpoint (or a seed-layout .npz) for inference. */
export async function loadInferenceModel(path: string, backend: Backend): Promise<LoadedModel> {
  if (!existsSync(path)) {
    throw new UserError(`model not found: ${path}; train one with \`npm run train\` or leave out --model to use the shipped one`);
  }
  const loaded: LoadedModel = extname(path).toLowerCase() === '.npz'
    ? (await import('../io/model-file.js')).loadModelFile(path, backend)
    : (await import('../io/checkpoint.js')).loadCheckpointModel(path, backend); // no zip code to load
  return loaded;
}

/** Runs the model on B prepared pictures (u8 C x H x W each) at once; one Classification per picture. */
export function classify(m: LoadedModel, digits: Uint8Array[]): Classification[] {
  const [C, H, W] = m.inputShape;
  const P = H * W, D = C * P;
  const B = digits.length;
  if (B === 0) return [];
  const x = new Float32Array(B * D);
  const norm = channelNorm(m.normalization, C);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < D; i++) { const c = Math.floor(i / P); x[b * D + i] = digits[b][i] * norm[2 * c] + norm[2 * c + 1]; }
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
