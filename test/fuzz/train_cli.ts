// Helpers for the tests that run the train CLI as a person does (the compiled dist/src/cli/train.js;
// `npm run build` first, as `npm ci` does): a tiny IDX dataset in a temp folder, and a spawn that
// can be SIGKILLed at a seeded moment once training is under way.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadIdxImages, loadIdxLabels } from '../../src/data/idx.js';
import { projectRoot } from '../../src/engine/root.js';
import { encodeIdx } from '../helpers.js';

export const TRAIN = join(projectRoot(), 'dist', 'src', 'cli', 'train.js');


/** Writes the first nTrain/nTest MNIST rows as raw IDX files into dir (an MNIST-style folder). */
export function writeTinyMnist(dir: string, nTrain: number, nTest: number): string {
  mkdirSync(dir, { recursive: true });
  const src = join(projectRoot(), 'data', 'mnist');
  for (const [stem, n] of [['train', nTrain], ['t10k', nTest]] as const) {
    const im = loadIdxImages(join(src, `${stem}-images-idx3-ubyte.gz`));
    const lb = loadIdxLabels(join(src, `${stem}-labels-idx1-ubyte.gz`));
    writeFileSync(join(dir, `${stem}-images-idx3-ubyte`), encodeIdx([n, 28, 28], im.images.subarray(0, n * 784)));
    writeFileSync(join(dir, `${stem}-labels-idx1-ubyte`), encodeIdx([n], lb.subarray(0, n)));
  }
  return dir;
}

export interface RunResult { code: number | null; signal: NodeJS.Signals | null; out: string; err: string; pid: number; killedAt: number | null }

/**
 * Runs the train CLI with args. With killAfterMs, SIGKILLs it that long after its first epoch line
 * (training under way: checkpoints are being written); resolves when it has exited.
 */
export function runTrain(args: string[], killAfterMs: number | null = null, timeoutMs = 120_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TRAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    let killedAt: number | null = null;
    let armed = false;
    const t0 = performance.now();
    const guard = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => {
      out += d;
      if (killAfterMs !== null && !armed && /^epoch\s/m.test(out)) {
        armed = true;
        setTimeout(() => {
          if (child.exitCode === null && child.signalCode === null) { killedAt = performance.now() - t0; child.kill('SIGKILL'); }
        }, killAfterMs);
      }
    });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, out, err, pid: child.pid!, killedAt });
    });
  });
}
