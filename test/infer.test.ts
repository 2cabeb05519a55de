// End to end: realistic picture files made from MNIST test digits (big canvases, dark ink on
// light paper, off-centre, enlarged, every format) read by the shipped default model; the
// annotated output; the CLI's answers for good and bad inputs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBackend } from '../src/engine/index.js';
import { projectRoot } from '../src/engine/root.js';
import { writeNpz } from '../src/io/npz.js';
import { benchInferenceDetailed } from '../src/infer/bench.js';
import { decodeImage } from '../src/infer/decode.js';
import { defaultModelPath, loadInferenceModel, type LoadedModel } from '../src/infer/model.js';
import { inferFiles } from '../src/infer/run.js';
import {
  encodeGif, encodeJpeg, encodePalettePng, encodePng, mnistTest, scene, varietyScene,
} from './infer-fixtures.js';

const N = 100;
const KINDS = ['rgb', 'gray', 'rgba', 'palette', 'png16', 'jpeg', 'gif'] as const;
let dir: string;
let labels: number[];
let model: LoadedModel;

/** The i-th realistic picture file: its name and bytes. */
function pictureFile(digit: Uint8Array, i: number): [string, Uint8Array] {
  const kind = KINDS[i % KINDS.length];
  const o = varietyScene(digit, i);
  const img = scene(digit, kind === 'rgba' ? { ...o, transparent: true } : o);
  const bytes = kind === 'rgb' ? encodePng(img, 2) : kind === 'gray' ? encodePng(img, 0)
    : kind === 'rgba' ? encodePng(img, 6) : kind === 'palette' ? encodePalettePng(img)
      : kind === 'png16' ? encodePng(img, 0, true) : kind === 'jpeg' ? encodeJpeg(img, 85) : encodeGif(img);
  // Extensions deliberately say nothing true: the format is sniffed from the bytes.
  return [`${String(i).padStart(3, '0')}_${kind}.img`, bytes];
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wasmnist-infer-'));
  const t = mnistTest(N);
  labels = t.labels;
  mkdirSync(join(dir, 'set'));
  t.images.forEach((d, i) => {
    const [name, bytes] = pictureFile(d, i);
    writeFileSync(join(dir, 'set', name), bytes);
  });
  model = await loadInferenceModel(defaultModelPath(), createBackend('wasm', { threads: 1 }));
});

describe('default model on realistic picture files', () => {
  it('ships in models/ and takes 1x28x28', () => {
    expect(existsSync(defaultModelPath())).toBe(true);
    expect(model.inputShape).toEqual([1, 28, 28]);
    expect(model.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  });

  it(`reads >= 90% of ${N} pictures in 7 formats correctly`, async () => {
    const files = Array.from({ length: N }, (_, i) => join(dir, 'set', pictureFile(new Uint8Array(784), i)[0]));
    const results = await inferFiles(model, files, { annotate: false });
    let correct = 0;
    const perKind = new Map<string, number>();
    results.forEach((r, i) => {
      expect(r.ok, r.ok ? '' : `${r.file}: ${r.error}`).toBe(true);
      if (r.ok && r.label === String(labels[i])) {
        correct++;
        perKind.set(KINDS[i % KINDS.length], (perKind.get(KINDS[i % KINDS.length]) ?? 0) + 1);
      }
    });
    console.log(`synthetic real-image accuracy: ${correct}/${N}`, Object.fromEntries(perKind));
    expect(correct).toBeGreaterThanOrEqual(90);
    for (const k of KINDS) expect(perKind.get(k) ?? 0).toBeGreaterThanOrEqual(Math.floor(N / KINDS.length * 0.8));
  }, 60_000);

  it('writes an annotated PNG showing the 28x28 the model saw', async () => {
    const out = join(dir, 'annotated');
    const [r] = await inferFiles(model, [join(dir, 'set', pictureFile(new Uint8Array(784), 0)[0])], { outDir: out });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.annotated).toBe(join(out, '000_rgb.pred.png'));
    const img = await decodeImage(readFileSync(r.annotated!));
    expect(img.width).toBeGreaterThan(600);
    // The enlarged 28x28 sits in the second panel, 9x9 blocks: sample each block's centre.
    const x2 = 28 + 252 + 28, y0 = 58 + 30;
    for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
      const o = ((y0 + y * 9 + 4) * img.width + x2 + x * 9 + 4) * 4;
      expect(img.data[o]).toBe(r.prepared[y * 28 + x]);
    }
  });
});

describe('model checks', () => {
  it('reads a model whose input is not 1x28x28 with the plain preparation (no digit steps)', async () => {
    const path = join(dir, 'small-input.npz');
    // class j's weight is 1 on pixel j of the 10x10 input: the brightest of the first ten pixels wins
    const W = new Float32Array(1000);
    for (let j = 0; j < 10; j++) W[j * 100 + j] = 1;
    writeNpz(path, {
      W1: { dtype: '<f4', shape: [10, 100], data: W },
      b1: { dtype: '<f4', shape: [10, 1], data: new Float32Array(10) },
    });
    const m = await loadInferenceModel(path, createBackend('ts'));
    expect(m.inputShape).toEqual([1, 10, 10]);
    // a 20x20 white picture with a black 2x2 block in its top-left corner: the 10x10 resize keeps
    // pixel 0 dark (no ink inversion, no crop), so class 0 has the lowest score and is never chosen
    const px = new Uint8Array(20 * 20 * 4).fill(255);
    for (const i of [0, 1, 20, 21]) px.set([0, 0, 0, 255], 4 * i);
    const file = join(dir, 'corner.png');
    writeFileSync(file, encodePng({ width: 20, height: 20, data: px }, 6));
    const [r] = await inferFiles(m, [file], { annotate: false });
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.prepared[0]).toBe(0);
      expect(r.prepared[1]).toBe(255);
      expect(r.label).not.toBe('0');
    }
  });
  it('benchInference measures a positive rate', async () => {
    const r = await benchInferenceDetailed(64, { model, samples: 3 });
    expect(r.imagesPerSecond).toBeGreaterThan(0);
    expect(r.batch).toBe(64);
  });
});

describe('CLI (npm run infer)', () => {
  const cli = join(projectRoot(), 'dist', 'src', 'cli', 'infer.js');
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

  it('answers good files and gives one clear line per bad one, exit code 1', () => {
    const bad = join(dir, 'bad');
    mkdirSync(bad, { recursive: true });
    mkdirSync(join(bad, 'empty-folder'), { recursive: true });
    writeFileSync(join(bad, 'notes.png'), 'this is text, not a picture\n');
    writeFileSync(join(bad, 'empty.png'), '');
    const good = readFileSync(join(dir, 'set', pictureFile(new Uint8Array(784), 0)[0]));
    writeFileSync(join(bad, 'cut.png'), good.subarray(0, good.length >> 1));
    writeFileSync(join(bad, 'blank.png'), encodePng(scene(new Uint8Array(784), {
      width: 50, height: 40, side: 28, x: 0, y: 0, paper: [255, 255, 255], ink: [0, 0, 0], noise: 0, seed: 1,
    }), 2));
    writeFileSync(join(bad, 'good.png'), good);
    const r = run('--no-annotate', join(bad, 'good.png'), join(bad, 'missing.png'), join(bad, 'notes.png'),
      join(bad, 'empty.png'), join(bad, 'cut.png'), join(bad, 'blank.png'), join(bad, 'empty-folder'));
    expect(r.status).toBe(1);
    const out = r.stdout.trim().split('\n');
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(new RegExp(`good\\.png\\s+${labels[0]}\\s+\\d+(\\.\\d)?%\\s+top 3: `));
    const err = r.stderr.trim().split('\n');
    expect(err).toHaveLength(6);
    expect(err[0]).toMatch(/missing\.png\s+error: no such file or folder/);
    expect(err[1]).toMatch(/notes\.png\s+error: not an image/);
    expect(err[2]).toMatch(/empty\.png\s+error: empty file/);
    expect(err[3]).toMatch(/cut\.png\s+error: .*(truncated|corrupt)/);
    expect(err[4]).toMatch(/blank\.png\s+error: no ink found/);
    expect(err[5]).toMatch(/empty-folder\s+error: this folder holds no PNG, JPEG or GIF images/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack traces
  }, 30_000);

  it('wasmnist infer (the bin, which loads the bundled command) answers and draws exactly as the unbundled module', () => {
    const bin = join(projectRoot(), 'dist', 'src', 'cli', 'bin.js');
    const one = join(dir, 'set', pictureFile(new Uint8Array(784), 0)[0]);
    const outA = join(dir, 'bin-a'), outB = join(dir, 'bin-b');
    const a = spawnSync(process.execPath, [bin, 'infer', '--json', '--out', outA, one], { encoding: 'utf8' });
    const b = run('--json', '--out', outB, one);
    expect(a.status).toBe(0);
    const strip = (s: string) => JSON.parse(s).map((r: { annotated: string }) => ({ ...r, annotated: basename(r.annotated) }));
    expect(strip(a.stdout)).toEqual(strip(b.stdout));
    const pic = basename(JSON.parse(a.stdout)[0].annotated);
    expect(Buffer.compare(readFileSync(join(outA, pic)), readFileSync(join(outB, pic)))).toBe(0);
  }, 30_000);

  it('--json gives one object per file; a folder is expanded', () => {
    const r = run('--json', '--out', join(dir, 'json-out'), join(dir, 'set'));
    expect(r.status).toBe(0);
    const arr = JSON.parse(r.stdout) as { file: string; ok: boolean; label: string; confidence: number; top: unknown[]; annotated: string }[];
    expect(arr).toHaveLength(N);
    expect(arr.every((a) => a.ok && a.top.length === 3 && a.confidence > 0 && existsSync(a.annotated))).toBe(true);
    const correct = arr.filter((a, i) => a.label === String(labels[i])).length;
    expect(correct).toBeGreaterThanOrEqual(90);
  }, 60_000);

  it('answers with a model of another input shape (plain preparation, no annotated picture)', () => {
    const r = run('--model', join(dir, 'small-input.npz'), join(dir, 'corner.png'));
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/corner\.png\s+\d\s+\d+(\.\d)?%\s+top 3: /);
    expect(r.stdout).not.toMatch(/->/);
  });
});
