// Crash safety: the train CLI is SIGKILLed at seeded random moments, again and again (each restart
// resumes from the newest checkpoint), on a tiny IDX dataset with a checkpoint every 5 steps
// (--checkpoint-every 5: mid-epoch ones too) and at every epoch (16 steps); most of the wall time
// is the fsyncs of the checkpoint and metrics files, so many kills land inside a write. After every kill the checkpoint on disk must load, and a
// resume from it must take two steps. At the end the run is resumed to completion: its weights
// and optimizer state must equal an uninterrupted run's bit for bit.
// Needs the compiled CLI (dist/, built by `npm ci` / `npm run build`). CI: 5 kills; soak: 60.
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint, resumeData } from '../src/io/checkpoint.js';
import { loadData } from '../src/data/index.js';
import { WasmBackend } from '../src/engine/wasm.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { Trainer } from '../src/train/trainer.js';
import { Rng } from '../src/util/rng.js';
import { runTrain, writeTinyMnist } from './fuzz/train_cli.js';

const SOAK = process.env.SOAK === '1';
const KILLS = Number(process.env.CRASH_KILLS ?? (SOAK ? 60 : 5));
const EPOCHS = KILLS * 8 + 10; // each life trains a few epochs (up to ~10 in 200 ms); the run must outlive the kills
const dir = mkdtempSync(join(tmpdir(), 'wasmnist-crash-'));
let data = '';
const args = (out: string) => ['--data', data, '--arch', '784-32-10', '--batch', '32', '--epochs', String(EPOCHS),
  '--threads', '1', '--seed', '11', '--checkpoint-every', '5', '--out', out];

/** Tensor bytes of a checkpoint (weights and optimizer state), by name. */
function tensors(path: string): Map<string, Uint8Array> {
  const { tensors: t } = readSafetensors(path);
  return new Map(Object.entries(t).map(([k, v]) => [k, new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength)]));
}

beforeAll(() => { data = writeTinyMnist(join(dir, 'data'), 512, 128); });

describe('SIGKILL at random moments', () => {
  it(`${KILLS} kills: the newest checkpoint always loads and resumes; the end equals an uninterrupted run`, async () => {
    const run = join(dir, 'killed');
    const ck = join(run, 'checkpoint.safetensors');
    const rng = new Rng(2026);
    let lastStep = 0, kills = 0, midWrite = 0, midEpoch = 0, finishedEarly = 0, resumes = 0;
    const epochsAtKill: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      const fresh = !existsSync(ck);
      const r = await runTrain(fresh ? args(run) : ['--resume', ck, '--data', data, '--threads', '1', '--checkpoint-every', '5'], rng.int(200));
      if (r.killedAt === null) { // it finished (or failed) before the kill
        expect(r.code, r.err).toBe(0);
        finishedEarly++;
        break;
      }
      expect(r.signal).toBe('SIGKILL');
      kills++;
      // A kill inside writeFileAtomic leaves its temp file (named after the pid) behind, never a torn target.
      const left = readdirSync(run).filter((f) => f.includes(`.${r.pid}.`) && f.endsWith('.tmp'));
      if (left.some((f) => f.startsWith('.checkpoint.safetensors.'))) midWrite++;
      expect(existsSync(ck), 'a checkpoint is written before the first epoch line').toBe(true);
      const c = readCheckpoint(ck);
      expect(c.state.step).toBeGreaterThanOrEqual(lastStep);
      lastStep = c.state.step;
      epochsAtKill.push(c.state.epoch + c.state.stepInEpoch / 16);
      if (c.state.epoch === EPOCHS) { finishedEarly++; break; } // killed after the last step: nothing to resume
      if (c.state.stepInEpoch > 0) midEpoch++;
      // Resume it in process for two steps.
      const t = new Trainer(new WasmBackend('simd', 24 << 20), c.config, loadData({ data }), resumeData(c), c.spec);
      let steps = 0;
      const end = await t.run({ onStep: () => { steps++; }, shouldStop: () => steps >= 2 });
      expect(end.status).toBe('stopped');
      expect(t.state.step).toBe(c.state.step + 2);
      resumes++;
    }
    // Finish the killed run, and run the same command without kills.
    const done = await runTrain(['--resume', ck, '--data', data, '--threads', '1', '--checkpoint-every', '5']);
    expect(done.code, done.err).toBe(0);
    const ref = join(dir, 'reference');
    const whole = await runTrain(args(ref));
    expect(whole.code, whole.err).toBe(0);
    const a = tensors(ck), b = tensors(join(ref, 'checkpoint.safetensors'));
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    for (const [name, bytes] of a) expect(Buffer.compare(bytes, b.get(name)!), `tensor ${name}`).toBe(0);
    expect(readCheckpoint(ck).state.epoch).toBe(EPOCHS);
    console.log(`crash: ${kills} SIGKILLs survived (${midWrite} inside a checkpoint write, ${midEpoch} resumed from a mid-epoch checkpoint, ${finishedEarly ? 'run finished before the last kill' : 'all during training'}); ` +
      `${resumes} in-process resumes ok; checkpoint epoch at each kill: ${epochsAtKill.map((e) => e.toFixed(2)).join(' ')}; ` +
      `final weights and optimizer state identical to an uninterrupted ${EPOCHS}-epoch run`);
    expect(kills).toBeGreaterThanOrEqual(Math.min(KILLS, 3));
  });
});
