// Loader fuzzing: seeded mutations of valid IDX, CSV, PNG, JPEG, GIF, checkpoint (safetensors)
// and .npz files go through the loaders the CLIs use; every case must end in a correct result or
// a UserError, never another exception, a raw WASM trap, a hang or an allocation out of
// proportion to the input (see test/fuzz/runner.ts). Prints a tally per format.
// CI: FUZZ_CASES per format (default 250). Soak (`npm run test:soak`): 5000 per format.
// Replay: FUZZ_SEED=<base> FUZZ_CASES=<n> npx vitest run test/fuzz.test.ts (failing inputs are saved
// under $TMPDIR/wasmnist-fuzz-failures/).
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModelFile } from '../src/io/model-file.js';
import { WasmBackend } from '../src/engine/wasm.js';
import { UserError } from '../src/errors.js';
import { decodeImage } from '../src/infer/decode.js';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.js';
import { validateConfig } from '../src/train/config.js';
import { Rng } from '../src/util/rng.js';
import { caseSeed, mutate } from './fuzz/mutate.js';
import { fuzz, formatKinds, formatTallies, type FuzzTarget, type Tally } from './fuzz/runner.js';
import { csvTarget, idxTarget, imageTarget, modelTargets } from './fuzz/targets.js';

const SOAK = process.env.SOAK === '1';
const CASES = Number(process.env.FUZZ_CASES ?? (SOAK ? 5000 : 250));
const BASE_SEED = Number(process.env.FUZZ_SEED ?? 20261125);
const opts = {
  cases: CASES, baseSeed: BASE_SEED,
  timeoutMs: 5000,
  // Inputs are at most a few hundred KB; a loader that trusts a damaged size field allocates far more.
  maxAllocBytes: 64 << 20,
  failDir: join(tmpdir(), 'wasmnist-fuzz-failures'),
};

const tallies: Tally[] = [];
afterAll(() => {
  // eslint-disable-next-line no-console
  console.log(`\nfuzz tally (seed ${BASE_SEED}, ${CASES} cases per format):\n${formatTallies(tallies)}`);
  if (SOAK || process.env.FUZZ_KINDS) for (const t of tallies) console.log(`  ${t.format}: ${formatKinds(t)}`);
  const rss = tallies.length ? `${(tallies[0].peakRssBefore / 2 ** 20).toFixed(0)} -> ${(tallies[tallies.length - 1].peakRssAfter / 2 ** 20).toFixed(0)} MiB` : '-';
  console.log(`  peak RSS over the fuzz run: ${rss}`);
});

async function check<R>(target: FuzzTarget<R>): Promise<void> {
  const t = await fuzz(target, opts);
  tallies.push(t);
  console.log(`fuzz ${t.format}: ${t.cases} cases, ${t.ok} ok, ${t.clean} clean errors, ${t.failures.length} failures (${t.seconds.toFixed(1)} s)`);
  expect(t.cases).toBe(CASES);
  const fails = t.failures.slice(0, 5).map((f) => `case ${f.caseIndex} (${f.kind}): ${f.why}`);
  expect(fails, `${t.failures.length} of ${t.cases} ${t.format} cases failed`).toEqual([]);
  // The mutations must reach past the first check: some cases load, most are refused cleanly.
  expect(t.clean).toBeGreaterThan(0);
}

const shipped = decodeSafetensors(new Uint8Array(readFileSync('models/mnist-mlp.safetensors')), 'shipped');

describe('a checkpoint whose model spec claims huge sizes is refused before allocating', () => {
  // Found by the checkpoint fuzz: the Model was built (and its arenas allocated) from the stored
  // spec before the tensors were compared with it; units 1e5 grabbed 1.7 GB, 1e9 threw a raw Error.
  const cases: [string, (spec: any) => void][] = [
    ['dense units 1e9', (s) => { s.layers[0].units = 1e9; }],
    ['dense units 1e5', (s) => { s.layers[0].units = 100000; }],
    ['input 1x1x1e6', (s) => { s.input = [1, 1, 1e6]; }],
    ['conv with 1e6 filters', (s) => { s.layers[0] = { type: 'conv2d', filters: 1e6, kernel: 1, stride: 1, pad: 0 }; }],
    // Every stored tensor still fits: only the activation bound refuses it.
    ['input 28000x28000 pooled down to 28x28', (s) => { s.input = [1, 28000, 28000]; s.layers.unshift({ type: 'pool', mode: 'max', size: 1000, stride: 1000 }); }],
  ];
  for (const [what, damage] of cases) {
    it(what, () => {
      const spec = JSON.parse(shipped.metadata.model);
      damage(spec);
      const path = join(tmpdir(), `wasmnist-fuzz-spec-${what.replace(/\W+/g, '-')}.safetensors`);
      writeFileSync(path, encodeSafetensors(shipped.tensors, { ...shipped.metadata, model: JSON.stringify(spec) }));
      const backend = new WasmBackend('simd', 16 << 20);
      const before = backend.memory.buffer.byteLength, buffers = process.memoryUsage().arrayBuffers;
      let err: unknown = null;
      try { loadModelFile(path, backend); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(UserError);
      expect(backend.memory.buffer.byteLength).toBe(before);
      expect(process.memoryUsage().arrayBuffers - buffers).toBeLessThan(16 << 20);
    });
  }
});

describe('other inputs the fuzz found (regressions)', () => {
  it('a GIF whose LZW codes sent omggif into an endless loop (gif case 746) is refused', { timeout: 20_000 }, async () => {
    const t = imageTarget('gif');
    const rng = new Rng(caseSeed(20261125, 'gif', 746));
    const seed = t.seeds[rng.int(t.seeds.length)];
    const m = mutate(seed, rng);
    await expect(decodeImage(m.bytes)).rejects.toThrow(/invalid LZW/);
  });

  it('a checkpoint or npz holding NaN weights is refused', () => {
    const nan = { ...shipped.tensors, W1: { ...shipped.tensors.W1, data: (shipped.tensors.W1.data as Float32Array).slice() } };
    (nan.W1.data as Float32Array)[7] = NaN;
    const path = join(tmpdir(), 'wasmnist-fuzz-nan.safetensors');
    writeFileSync(path, encodeSafetensors(nan, shipped.metadata));
    expect(() => loadModelFile(path, new WasmBackend('simd', 16 << 20))).toThrow(/W1 holds NaN at index 7/);
  });

  it('a checkpoint config with a negative --limit-train is refused', () => {
    const config = { ...JSON.parse(shipped.metadata.config), limitTrain: -(2 ** 31) };
    expect(() => validateConfig(config)).toThrow(UserError);
  });
});

describe('fuzzed loaders end in a result or a UserError', () => {
  it('IDX (raw and gzip)', () => check(idxTarget()));
  it('CSV', () => check(csvTarget()));
  it('PNG', () => check(imageTarget('png')));
  it('JPEG', () => check(imageTarget('jpeg')));
  it('GIF', () => check(imageTarget('gif')));
  describe('model files', async () => {
    const m = await modelTargets();
    it('checkpoint (safetensors)', () => check(m.checkpoint));
    it('npz', () => check(m.npz));
  });
});
