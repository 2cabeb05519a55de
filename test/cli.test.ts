// The train and eval commands as a person runs them (spawning the compiled dist/src/cli/*.js; run
// `npm run build:ts` first): every bad input gets one line, a non-zero exit code, no stack trace
// and no run folder; a short run writes its folder, resumes, is evaluated, and stops on Ctrl-C.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'wasmnist-cli-'));
const TRAIN = 'dist/src/cli/train.js';
const EVAL = 'dist/src/cli/eval.js';
const SMALL = ['--arch', '784-32-10', '--limit-train', '2000', '--limit-test', '500', '--threads', '1'];

function run(script: string, args: string[]) {
  const r = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function expectOneLineError(r: { code: number | null; err: string }, pattern: RegExp) {
  expect(r.code).not.toBe(0);
  const lines = r.err.trim().split('\n');
  expect(lines, r.err).toHaveLength(1);
  expect(lines[0]).toMatch(/^error/);
  expect(lines[0]).toMatch(pattern);
  expect(r.err).not.toMatch(/^\s+at /m);
}

describe('npm run train: bad input', () => {
  const ck = join(dir, 'good', 'checkpoint.safetensors');
  const cases: [string, string[], RegExp][] = [
    ['negative lr', ['--lr', '-1'], /--lr.*> 0/],
    ['batch 0', ['--batch', '0'], /--batch/],
    ['unknown optimizer', ['--optimizer', 'rmsprop'], /sgd, momentum/],
    ['unknown activation', ['--activation', 'swish'], /relu/],
    ['unknown preset', ['--preset', 'fastest'], /seed/],
    ['fractional epochs', ['--epochs', '2.5'], /--epochs/],
    ['zero epochs', ['--epochs', '0'], /--epochs/],
    ['unknown flag', ['--learning-rate', '1'], /unknown option/],
    ['arch input mismatch', ['--arch', '100-10'], /start --arch with 784/],
    ['arch output mismatch', ['--arch', '784-64-3'], /end --arch with 10/],
    ['bad warmup', ['--warmup', 'soon'], /--warmup/],
    ['missing data folder', ['--data', join(dir, 'nope')], /not found/],
    ['missing checkpoint', ['--resume', join(dir, 'nope.safetensors')], /not found/],
  ];
  for (const [what, args, pattern] of cases) {
    it(what, () => {
      const out = join(dir, `bad-${what.replace(/\W+/g, '-')}`);
      expectOneLineError(run(TRAIN, [...args, '--out', out]), pattern);
      expect(existsSync(out)).toBe(false);
    });
  }

  it('a checkpoint of another format or architecture', () => {
    const first = run(TRAIN, [...SMALL, '--epochs', '1', '--out', join(dir, 'good'), '--quiet']);
    expect(first.code, first.err).toBe(0);
    expectOneLineError(run(TRAIN, ['--resume', join(dir, 'good', 'weights.npz')]), /safetensors/);
    expectOneLineError(run(TRAIN, ['--resume', ck, '--arch', '784-64-10', '--epochs', '3']), /differs from the checkpoint/);
    expectOneLineError(run(TRAIN, ['--resume', ck]), /--epochs N with N > 1/);
  });

  it('a diverging run stops with a hint to lower the learning rate', () => {
    const r = run(TRAIN, [...SMALL, '--optimizer', 'sgd', '--lr', '1e30', '--out', join(dir, 'nan'), '--epochs', '2']);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/loss became .*try --lr/);
    expect(r.err).not.toMatch(/^\s+at /m);
  });
});

describe('npm run train: a short run', () => {
  it('writes the run folder, prints a JSON summary, resumes and evaluates', () => {
    const out = join(dir, 'run');
    const r = run(TRAIN, [...SMALL, '--epochs', '2', '--out', out, '--json']);
    expect(r.code, r.err).toBe(0);
    const s = JSON.parse(r.out.trim());
    expect(s.status).toBe('done');
    expect(s.test_accuracy).toBeGreaterThan(0.5);
    for (const f of ['checkpoint.safetensors', 'weights.npz', 'metrics.csv', 'metrics.json', 'loss.svg', 'accuracy.svg',
      'confusion.svg', 'misclassified.png']) expect(existsSync(join(out, f)), f).toBe(true);
    expect(readFileSync(join(out, 'metrics.csv'), 'utf8').trim().split('\n')).toHaveLength(3);

    const more = run(TRAIN, ['--resume', join(out, 'checkpoint.safetensors'), '--epochs', '3', '--threads', '1']);
    expect(more.code, more.err).toBe(0);
    expect(more.out).toMatch(/resuming at epoch 2/);
    expect(more.out).toMatch(/epoch 3\/3/);
    expect(more.out).toMatch(/Confusion matrix/);
    expect(readFileSync(join(out, 'metrics.csv'), 'utf8').trim().split('\n')).toHaveLength(4);

    for (const model of ['checkpoint.safetensors', 'weights.npz']) {
      const e = run(EVAL, ['--model', join(out, model), '--limit', '500', '--json']);
      expect(e.code, e.err).toBe(0);
      expect(JSON.parse(e.out).accuracy).toBeGreaterThan(0.5);
    }
    expectOneLineError(run(EVAL, ['--model', join(dir, 'none.npz')]), /not found/);
  });

  it('Ctrl-C finishes the step, saves a checkpoint, says how to resume and exits 130', async () => {
    const out = join(dir, 'sigint');
    const child = spawn(process.execPath, [TRAIN, ...SMALL, '--epochs', '200', '--out', out]);
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const code = await new Promise<number | null>((resolve) => {
      child.stdout.on('data', (d) => {
        stdout += d;
        if (/epoch +1\/200/.test(stdout) && !child.killed) child.kill('SIGINT');
      });
      child.on('exit', (c) => resolve(c));
    });
    expect(code).toBe(130);
    expect(stderr).toMatch(/Resume with: npm run train -- --resume .*checkpoint\.safetensors/);
    expect(existsSync(join(out, 'checkpoint.safetensors'))).toBe(true);
    const again = run(TRAIN, ['--resume', join(out, 'checkpoint.safetensors'), '--epochs', '3', '--quiet']);
    expect(again.code, again.err).toBe(0);
  });
});

describe('--help', () => {
  it('shows defaults and examples', () => {
    const r = run(TRAIN, ['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/--lr <x>.*\(default: 0\.002\)/);
    expect(r.out).toMatch(/Examples:/);
    expect(r.out).toMatch(/weights\.npz/);
  });
});
