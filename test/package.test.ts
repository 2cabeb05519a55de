// The package as a user gets it: `npm pack`, then the tarball installed into a fresh project, with
// no compiler there and no install script run. There: the README's library example runs verbatim
// (taken from README.md, so the two cannot drift), `npx wasmnist train` trains, and a TypeScript
// file type-checks against the shipped declarations (and one with a type error does not).
// Packs the dist/ and build/ that `npm ci` built (WASMNIST_PREBUILT=1 skips prepack's build).
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../src/engine/root.js';

const root = projectRoot();
const dir = mkdtempSync(join(tmpdir(), 'wasmnist-pkg-'));
const app = join(dir, 'app');
const pkgDir = join(app, 'node_modules', 'wasmnist');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}) {
  const r = spawnSync(cmd, args, { cwd: app, encoding: 'utf8', timeout: 90_000, ...opts });
  return { code: r.status, out: String(r.stdout), err: String(r.stderr) };
}

/** The README's library quick start: the ```js block that imports from 'wasmnist'. */
function readmeExample(): string {
  const blocks = [...readFileSync(join(root, 'README.md'), 'utf8').matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
  const ex = blocks.find((b) => b.includes("from 'wasmnist'"));
  if (!ex) throw new Error("README.md has no ```js block importing from 'wasmnist'");
  return ex;
}

let install: { code: number | null; out: string; err: string };

beforeAll(() => {
  const pack = run(npm, ['pack', '--pack-destination', dir], { cwd: root, env: { ...process.env, WASMNIST_PREBUILT: '1' } });
  expect(pack.code, pack.err).toBe(0);
  const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  expect(tgz, 'npm pack wrote no tarball').toBeDefined();
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }));
  install = run(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', join(dir, tgz!)]);
}, 150_000);

describe('the packed package', () => {
  it('installs without a compiler or an install script', () => {
    expect(install.code, install.err).toBe(0);
    expect(install.err).not.toMatch(/install-scripts/);
    const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
    for (const s of ['preinstall', 'install', 'postinstall', 'prepare']) expect(pkg.scripts?.[s], s).toBeUndefined();
    expect(existsSync(join(app, 'node_modules', 'assemblyscript')), 'a compiler was installed').toBe(false);
  });

  it('ships the built JS, declarations, kernels, default model, MNIST and the demo page, and no sources or tests', () => {
    for (const f of ['dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/bin.js', 'build/kernels.wasm',
      'build/kernels-relaxed.wasm', 'models/mnist-mlp.safetensors', 'data/mnist/train-images-idx3-ubyte.gz',
      'dist/web/index.html', 'dist/web/page.js', 'dist/web/worker.js']) {
      expect(existsSync(join(pkgDir, f)), f).toBe(true);
    }
    for (const f of ['src', 'test', 'assembly', '.ci', 'bench/bench.ts']) expect(existsSync(join(pkgDir, f)), f).toBe(false);
  });

  it("runs the README's library example verbatim", () => {
    writeFileSync(join(app, 'example.mjs'), readmeExample());
    const r = run(process.execPath, ['example.mjs']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/test accuracy/);
  });

  it('npx wasmnist train --epochs 1 --limit-train 2000 --json', () => {
    const r = run(process.platform === 'win32' ? 'npx.cmd' : 'npx', ['--no', 'wasmnist', 'train', '--epochs', '1', '--limit-train', '2000', '--json']);
    expect(r.code, r.err).toBe(0);
    const summary = JSON.parse(r.out.trim().split('\n').pop()!);
    expect(summary.status).toBe('done');
    expect(summary.test_accuracy).toBeGreaterThan(0.5);
    expect(existsSync(join(app, summary.checkpoint))).toBe(true);
  });

  it('type-checks a TypeScript program against the shipped declarations, and rejects a wrong one', () => {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const flags = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022',
      '--types', 'node', '--typeRoots', join(root, 'node_modules', '@types')];
    writeFileSync(join(app, 'good.ts'), `import { sequential, conv2d, relu, maxPool, dense, train, load, loadMnist, UserError,
  type EpochMetrics, type TrainOptions, type TrainResult } from 'wasmnist';
const net = sequential([1, 28, 28], [conv2d(8, 5), relu(), maxPool(2), dense(10)]);
const options: TrainOptions = { epochs: 1, lr: 0.01, signal: new AbortController().signal,
  onEpochEnd: (epoch: number, logs: EpochMetrics) => console.log(epoch, logs.test_acc) };
const done: Promise<TrainResult> = train(net, loadMnist(), options);
const probs: Float32Array = load('model.safetensors').predict(new Uint8Array(784));
const bad: boolean = new UserError('x') instanceof Error;
export { done, probs, bad };
`);
    writeFileSync(join(app, 'bad.ts'), `import { train, sequential, dense } from 'wasmnist';
train(sequential(784, [dense(10)]), { train: 'not a dataset' }, { epochs: 'three' });
`);
    // One compiler run for both files (it takes seconds): errors in bad.ts only.
    const r = run(process.execPath, [tsc, ...flags, 'good.ts', 'bad.ts']);
    expect(r.code).not.toBe(0);
    expect(r.out).not.toMatch(/good\.ts/);
    expect(r.out).not.toMatch(/Cannot find module/);
    expect(r.out).toMatch(/bad\.ts\(2,/);
  });
});
