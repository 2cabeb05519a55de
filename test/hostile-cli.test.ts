// Hostile use of the train, eval and infer commands (issue #22, classes 1, 2, 3, 7, 9 and 10): absurd
// thread counts, a closed stdout, a run folder that holds another run (or is being written by
// one), a learning rate that explodes without reaching NaN, bad flag values, a read-only or
// special folder, a one-class dataset, SIGTERM, and a resumed run's --checkpoint-every. Each runs
// the compiled CLI in a child process; exit code, the one line it prints, and what is on disk
// afterwards are asserted, and peak memory where memory is the point.
import { readFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../src/io/checkpoint.js';
import { LOCK_FILE } from '../src/cli/guard.js';
import { dirUserReason } from '../src/io/atomic.js';
import { DivergenceWatch, suggestLr } from '../src/train/divergence.js';
import { clampThreads } from '../src/util/threads.js';
import { encodeIdx } from './helpers.js';
import { writeTinyMnist } from './fuzz/train_cli.js';
import { CLI, MAX_RSS_MB, expectOneLine, expectRssBelow, runCli } from './hostile.js';

const dir = mkdtempSync(join(tmpdir(), 'wasmnist-hostile-cli-'));
let data = '';
const SMALL = () => ['--data', data, '--arch', '784-16-10', '--batch', '32', '--epochs', '2'];
const RUN_FILES = ['checkpoint.safetensors', 'weights.npz', 'metrics.csv', 'metrics.json', 'loss.svg', 'accuracy.svg',
  'confusion.svg', 'misclassified.png'];

beforeAll(() => { data = writeTinyMnist(join(dir, 'data'), 512, 128); });

describe('class 1: thread counts are clamped to the cores', () => {
  it('--threads 9999 trains on the cores there are, says so in one line, in bounded memory', async () => {
    const r = await runCli(dir, CLI('train'), [...SMALL(), '--threads', '9999', '--out', join(dir, 'threads'), '--quiet']);
    expect(r.code, r.err).toBe(0);
    expect(r.err.trim().split('\n')).toEqual([expect.stringMatching(/^note: --threads 9999 is more than the \d+ cores? here; using \d+$/)]);
    expectRssBelow(r, MAX_RSS_MB);
  });

  it('clampThreads: the rule', () => {
    const notes: string[] = [];
    expect(clampThreads(9999, (l) => notes.push(l), 2)).toBe(2);
    expect(clampThreads(2, (l) => notes.push(l), 2)).toBe(2);
    expect(clampThreads(1, (l) => notes.push(l), 16)).toBe(1);
    expect(notes).toEqual(['note: --threads 9999 is more than the 2 cores here; using 2']);
  });
});

describe('class 2: a closed stdout never aborts training nor loses the run folder', () => {
  it('the reader goes away after the first line (like `| head -1`): exit 0 and a whole run folder', async () => {
    const out = join(dir, 'epipe');
    const r = await runCli(dir, CLI('train'), [...SMALL(), '--threads', '1', '--out', out], {
      onOut: (_text, child) => { if (!child.stdout!.destroyed) child.stdout!.destroy(); },
    });
    expect(r.code, r.err).toBe(0);
    expect(r.err).toBe('');
    for (const f of RUN_FILES) expect(existsSync(join(out, f)), f).toBe(true);
    expect(readCheckpoint(join(out, 'checkpoint.safetensors')).state.epoch).toBe(2);
  });
});

describe('class 3: a run folder that holds another run is not replaced', () => {
  it('a second run into the same --out is refused (exit 2) and leaves every file as it was; --force writes over it', async () => {
    const out = join(dir, 'taken');
    const first = await runCli(dir, CLI('train'), [...SMALL(), '--threads', '1', '--out', out, '--quiet']);
    expect(first.code, first.err).toBe(0);
    const before = Object.fromEntries(RUN_FILES.map((f) => [f, readFileSync(join(out, f))]));
    const again = await runCli(dir, CLI('train'), [...SMALL(), '--arch', '784-8-10', '--threads', '1', '--out', out]);
    expectOneLine(again, 2, /taken already holds a run \(checkpoint\.safetensors, .*\); continue it with --resume .*, pass --force to write over it, or choose another --out/);
    for (const f of RUN_FILES) expect(Buffer.compare(readFileSync(join(out, f)), before[f]), f).toBe(0);
    expect(readdirSync(out)).not.toContain(LOCK_FILE);
    // Resuming another run's checkpoint into it is refused the same way.
    const other = await runCli(dir, CLI('train'), [...SMALL(), '--epochs', '1', '--threads', '1', '--out', join(dir, 'other'), '--quiet']);
    expect(other.code, other.err).toBe(0);
    const cross = await runCli(dir, CLI('train'), ['--resume', join(dir, 'other', 'checkpoint.safetensors'), '--epochs', '2', '--out', out]);
    expectOneLine(cross, 2, /already holds a run/);
    const forced = await runCli(dir, CLI('train'), [...SMALL(), '--arch', '784-8-10', '--threads', '1', '--out', out, '--force', '--quiet']);
    expect(forced.code, forced.err).toBe(0);
    expect(readCheckpoint(join(out, 'checkpoint.safetensors')).spec.arch).toBe('784-8-10');
  });

  it('a folder another live run is writing is refused even with --force; a dead run\'s lock is taken over', async () => {
    const out = join(dir, 'locked');
    mkdirSync(out);
    writeFileSync(join(out, LOCK_FILE), String(process.pid)); // this test process: alive
    const r = await runCli(dir, CLI('train'), [...SMALL(), '--threads', '1', '--out', out, '--force']);
    expectOneLine(r, 2, new RegExp(`is in use by another training run \\(process ${process.pid}\\)`));
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!; // exited: its pid is free
    writeFileSync(join(out, LOCK_FILE), String(gone));
    const ok = await runCli(dir, CLI('train'), [...SMALL(), '--threads', '1', '--out', out, '--quiet']);
    expect(ok.code, ok.err).toBe(0);
    expect(existsSync(join(out, LOCK_FILE))).toBe(false);
  });
});

describe('class 7: one divergence rule, a true message', () => {
  /** The lr the message suggests and the lr the diverging step ran at. */
  function lrs(err: string): { suggested: number; atStep: number } {
    const m = /\(([\d.e+-]+) at that step\) is too high for this model; try --lr ([\d.e+-]+)\./.exec(err);
    expect(m, err).not.toBeNull();
    return { atStep: Number(m![1]), suggested: Number(m![2]) };
  }

  it('--lr 1e9 ends with exit 3 before any NaN, says no checkpoint was written, and suggests a smaller lr', async () => {
    const out = join(dir, 'diverge');
    const r = await runCli(dir, CLI('train'), [...SMALL(), '--lr', '1e9', '--threads', '1', '--out', out]);
    expectOneLine(r, 3, /the loss became [\d.e+]+ at epoch 1, step \d+ \(mean .* more than 10x its start .*\).* No checkpoint was written\.$/);
    const { suggested, atStep } = lrs(r.err);
    expect(suggested).toBeLessThan(atStep);
    expect(existsSync(join(out, 'checkpoint.safetensors'))).toBe(false);
  });

  it('with --checkpoint-every 1 the message names the checkpoint that was written; under warmup it suggests below the warmed lr', async () => {
    const out = join(dir, 'diverge-ck');
    const r = await runCli(dir, CLI('train'), [...SMALL(), '--lr', '1e9', '--warmup', '1', '--threads', '1',
      '--checkpoint-every', '1', '--out', out]);
    expectOneLine(r, 3, /Last checkpoint: .*diverge-ck\/checkpoint\.safetensors \(epoch 0, step \d+/);
    const step = Number(/Last checkpoint: .* \(epoch 0, step (\d+)/.exec(r.err)![1]);
    expect(readCheckpoint(join(out, 'checkpoint.safetensors')).state.step).toBe(step);
    const { suggested, atStep } = lrs(r.err);
    expect(atStep).toBeLessThan(1e9); // the warmup had not reached the peak
    expect(suggested).toBeLessThan(atStep);
  });

  it('DivergenceWatch: non-finite or 10x the start over a window; batch-1 outliers are not divergence', () => {
    const w = new DivergenceWatch(10);
    expect(w.check(2.3 * 128, 128)).toBeNull();
    expect(w.check(2.0 * 128, 128)).toBeNull();
    expect(w.check(NaN, 128)).toMatch(/not a finite number/);
    const rising = new DivergenceWatch(10);
    rising.check(2.3 * 128, 128);
    expect(rising.check(60 * 128, 128)).toMatch(/more than 10x its start 2\.3/);
    const one = new DivergenceWatch(10);
    for (const loss of [2.3, 30, 0.1, 0.2, 25, 0.1, 0.3, 0.2, 0.1, 0.2, 40, 0.1]) expect(one.check(loss, 1)).toBeNull();
    const resumed = new DivergenceWatch(10); // starts low: judged against a uniform guess, ln 10
    for (const loss of [0.05, 0.9, 0.04, 1.5]) expect(resumed.check(loss * 128, 128)).toBeNull();
    expect(suggestLr(9.9e8)).toBe(9e7);
    expect(suggestLr(0.0035)).toBe(0.0003);
    expect(suggestLr(0.1)).toBe(0.01);
  });
});

describe('class 9: exit codes and messages as the README promises', () => {
  const flags: [string, string[], RegExp][] = [
    ['--dropout 1.5', ['--dropout', '1.5'], /--dropout must be in \[0, 1\), got 1\.5/],
    ['--arch abc', ['--arch', 'abc'], /--arch 'abc' needs at least an input and an output size/],
    ['--warmup -1', ['--warmup', '-1'], /--warmup must be a number of epochs/],
    ['--arch 784--10', ['--arch', '784--10'], /--arch '784--10' has an empty layer between dashes/],
    ['--arch 784-10-', ['--arch', '784-10-'], /has an empty layer between dashes/],
    ['--arch 784-x-10', ['--arch', '784-x-10'], /--arch token 'x' is not understood/],
    ['--momentum 1', ['--momentum', '1'], /--momentum must be in \[0, 1\)/],
    ['--threads 0', ['--threads', '0'], /--threads/],
  ];
  for (const [what, args, re] of flags) {
    it(`train ${what}: exit 2, one line, no run folder`, async () => {
      const out = join(dir, `flag-${what.replace(/\W+/g, '_')}`);
      const r = await runCli(dir, CLI('train'), [...SMALL(), ...args, '--out', out]);
      expectOneLine(r, 2, re);
      expect(existsSync(out)).toBe(false);
    });
  }

  it('infer prints an argument error once', async () => {
    expectOneLine(await runCli(dir, CLI('infer'), []), 2, /missing required argument 'images'/);
    expectOneLine(await runCli(dir, CLI('infer'), ['--bogus', 'x.png']), 2, /unknown option '--bogus'/);
  });

  it('a folder that cannot be made says why (not "does not exist"); a read-only file system is named', async () => {
    const r = await runCli(dir, CLI('train'), [...SMALL(), '--out', '/proc/wasmnist-nope/run']);
    expectOneLine(r, 1, /cannot create the run folder \/proc\/wasmnist-nope\/run: the system refuses to create \/proc\/wasmnist-nope/);
    expect(dirUserReason('EROFS', '/mnt/ro/run')).toBe('/mnt/ro is on a read-only file system');
    expect(dirUserReason('EACCES', '/root/run')).toBe('no permission to create /root/run');
  });

  it('a dataset whose training labels are all one class is refused in one line', async () => {
    const d = join(dir, 'oneclass');
    writeTinyMnist(d, 64, 16);
    writeFileSync(join(d, 'train-labels-idx1-ubyte'), encodeIdx([64], new Uint8Array(64).fill(3)));
    const r = await runCli(dir, CLI('train'), ['--data', d, '--arch', '784-16-10', '--out', join(dir, 'run-oneclass')]);
    expectOneLine(r, 1, /every one of the 64 training rows of .* has label 3; training needs at least two classes/);
  });
});

describe('class 10: SIGTERM is handled like Ctrl-C; a resumed run keeps --checkpoint-every', () => {
  it('SIGTERM finishes the step, saves a checkpoint, says how to resume and exits 130; the resume keeps --checkpoint-every', async () => {
    const out = join(dir, 'sigterm');
    let sent = false;
    const r = await runCli(dir, CLI('train'), [...SMALL(), '--epochs', '500', '--threads', '1', '--checkpoint-every', '3', '--out', out], {
      onOut: (text, child) => { if (!sent && /^epoch\s+2\//m.test(text)) { sent = true; child.kill('SIGTERM'); } },
    });
    expect(r.code, r.err).toBe(130);
    expect(r.err).toMatch(/SIGTERM received\. Stopping after this step and saving a checkpoint/);
    expect(r.err).toMatch(/Interrupted at epoch \d+, step \d+\/16; checkpoint saved to .*Resume with: npm run train -- --resume /);
    const ck = join(out, 'checkpoint.safetensors');
    const stopped = readCheckpoint(ck);
    expect(stopped.config.checkpointEvery).toBe(3);
    expect(readdirSync(out)).not.toContain(LOCK_FILE);
    // Resume to the end of the next epoch without the flag: the checkpoint still says 3.
    const next = stopped.state.epoch + 1;
    const more = await runCli(dir, CLI('train'), ['--resume', ck, '--epochs', String(next), '--threads', '1', '--quiet']);
    expect(more.code, more.err).toBe(0);
    const done = readCheckpoint(ck);
    expect(done.state.epoch).toBe(next);
    expect(done.config.checkpointEvery).toBe(3);
  });
});
