// Messages between the page (page.ts) and its training worker (worker.ts). The worker owns the
// engine: a page's main thread may not block in Atomics.wait, and the thread pool's calls do.
import type { EpochMetrics } from '../train/trainer.js';

export type PresetName = 'default' | 'cnn';

export type ToWorker =
  | { type: 'train'; preset: PresetName; epochs: number; limit: number; threads: number; seed: number }
  | { type: 'predict'; pixels: Uint8Array }
  | { type: 'load'; bytes: Uint8Array; name: string }
  | { type: 'save' };

/** Accuracy over the test set, with its confusion matrix (row = true class, column = predicted). */
export interface TestResult { accuracy: number; correct: number; n: number; confusion: number[][] }

export type FromWorker =
  | { type: 'status'; text: string }
  | { type: 'begin'; params: number; stepsPerEpoch: number; epochs: number; threads: number; backend: string; arch: string }
  | { type: 'batch'; epoch: number; step: number; stepsPerEpoch: number; loss: number; acc: number; samplesPerSec: number }
  | { type: 'epoch'; metrics: EpochMetrics; test: TestResult }
  | { type: 'done'; test: TestResult; hash: string; firstLossBits: string; msPerStep: number; threads: number }
  | { type: 'loaded'; name: string; arch: string; test: TestResult }
  | { type: 'prediction'; probs: number[]; classNames: string[] }
  | { type: 'checkpoint'; bytes: Uint8Array }
  | { type: 'error'; message: string };
