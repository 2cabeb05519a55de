// npm run bench [-- --quick] [-- --threads N] [-- --peers] [-- --filter REGEX]
//
// First checks every kernel of every implementation against the TypeScript reference (ts-ref) and
// prints OK / NOT OK with the largest difference; only what passes is timed. Then times each case
// on ts-ref, ts-fast (register-blocked plain TS gemm), wasm-scalar (the naive AssemblyScript twins),
// wasm-simd and wasm-relaxed (FMA), with warm-up first, and reports median / min / max, GFLOP/s
// where FLOPs are defined, and speedups. Writes the same as JSON to bench/results/latest.json.
import { mkdirSync, writeFileSync, existsSync, realpathSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Backend } from '../src/engine/backend.js';
import { createBackend } from '../src/engine/index.js';
import { TsFastBackend } from '../src/engine/fast/matmul.js';
import { enableRelaxedSimd, relaxedSupported, simdSupported } from '../src/engine/wasm.js';
import { projectRoot } from '../src/engine/root.js';
import { allCases } from './cases.js';
import { loadModelLib } from './step.js';
import { isSlow, sampleRound, summarize } from './timing.js';
import { verifyCase, type Checked } from './verify.js';
import { peerTable, tableHeader, tableRow, verifyLine } from './table.js';
import type { PeerRow, Row } from './types.js';

interface Args { quick: boolean; peers: boolean; threads: number; filter: RegExp | null }

function parseArgs(argv: string[]): Args {
  const a: Args = { quick: false, peers: false, threads: 1, filter: null };
  for (let i = 0; i < argv.length; i++) {
    const s = argv[i];
    if (s === '--quick') a.quick = true;
    else if (s === '--peers') a.peers = true;
    else if (s === '--threads' || s === '--filter') {
      const v = argv[++i];
      if (v === undefined) fail(`${s} needs a value`);
      if (s === '--threads') {
        a.threads = Number(v);
        if (!Number.isInteger(a.threads) || a.threads < 1) fail(`--threads must be a whole number >= 1, got '${v}'`);
      } else a.filter = new RegExp(v);
    } else if (s === '--help' || s === '-h') {
      console.log('usage: npm run bench -- [--quick] [--threads N] [--peers] [--filter REGEX]');
      process.exit(0);
    } else fail(`unknown option '${s}'; use --quick, --threads N, --peers or --filter REGEX`);
  }
  return a;
}

function fail(msg: string): never {
  console.error(`bench: ${msg}`);
  process.exit(2);
}

/** The speed targets of the matmul (README), checked on this run's rows. */
function targets(rows: Row[]): { target: string; value: number | undefined; met: boolean }[] {
  const out: { target: string; value: number | undefined; met: boolean }[] = [];
  for (const form of ['nn', 'fwd']) {
    const find = (be: string) => rows.find((r) => r.backend === be && r.case.startsWith(`gemm ${form} 128x784x512`));
    const simd = find('wasm-simd'), relaxed = find('wasm-relaxed');
    const add = (target: string, value: number | undefined, min: number) =>
      out.push({ target: `gemm ${form} 128x784x512: ${target}`, value, met: value !== undefined && value >= min });
    add('wasm-simd >= 27 GFLOP/s', simd?.gflops, 27);
    add('wasm-relaxed >= 40 GFLOP/s', relaxed?.gflops, 40);
    add('wasm-simd >= 7x ts-fast', simd?.vsFast, 7);
    add('wasm-simd >= 30x ts-ref', simd?.vsRef, 30);
  }
  return out;
}

async function runPeersIfPresent(quick: boolean): Promise<PeerRow[] | string> {
  const here = dirname(fileURLToPath(import.meta.url));
  if (!existsSync(join(here, 'peers.js'))) return 'bench/peers.ts is not written yet: no peer comparison';
  const spec = './peers.js'; // a variable, so tsc does not require the file to exist
  const mod = (await import(spec)) as { runPeers(opts: { quick: boolean }): Promise<PeerRow[]> };
  return mod.runPeers({ quick });
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  enableRelaxedSimd();
  const hasRelaxed = relaxedSupported();
  const backends: Backend[] = [
    createBackend('ts'), new TsFastBackend(),
    createBackend('wasm-scalar', { threads: args.threads }), createBackend('wasm-simd', { threads: args.threads }),
  ];
  const labels = ['ts-ref', 'ts-fast', 'wasm-scalar', 'wasm-simd'];
  if (hasRelaxed) { backends.push(createBackend('wasm-relaxed', { threads: args.threads })); labels.push('wasm-relaxed'); }
  const cases = allCases(args.quick, await loadModelLib()).filter((c) => !args.filter || args.filter.test(c.name));

  const env = {
    node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length,
    simd: simdSupported(), relaxedSimd: hasRelaxed, threads: args.threads, quick: args.quick,
  };
  console.log(`wasmnist bench${args.quick ? ' --quick' : ''}: Node ${env.node}, ${env.cpu} (${env.cores} cores), ` +
    `SIMD ${env.simd ? 'on' : 'off'}, relaxed SIMD ${hasRelaxed ? 'on' : 'absent'}, threads ${args.threads}`);

  // 1. Verify everything before timing anything.
  console.log('\nverification against ts-ref (atol + rtol |ref| per case)');
  const checked: Checked[][] = [];
  for (const c of cases) {
    const res = verifyCase(c, backends, labels, args.quick);
    if (!hasRelaxed) res.push({ row: { group: c.group, case: c.name, backend: 'wasm-relaxed', status: 'missing', note: 'relaxed SIMD does not validate in this Node' } });
    for (const r of res.slice(1)) console.log(verifyLine(r.row));
    checked.push(res);
  }
  const bad = checked.flat().filter((r) => r.row.status === 'NOT OK' || r.row.status === 'error');
  if (bad.length) console.log(`\n${bad.length} implementation(s) failed verification and are not timed`);

  // Let V8's background threads (TurboFan tier-up of the WASM, GC of the reference outputs)
  // finish before the clock starts: on a 2-core machine they would slow the first rows.
  await new Promise((r) => setTimeout(r, 500));

  // 2. Time what passed, case by case so the ratios of one case are measured close together.
  console.log('\nmedian / min / max per call, sizes of gemm are MxKxN, GB/s the least bytes a case moves over its median' + (args.quick ? ' (quick: fewer sizes and samples)' : ''));
  console.log(tableHeader());
  const rows: Row[] = [];
  let group = '';
  for (const res of checked) {
    const c = cases[checked.indexOf(res)];
    if (c.group !== group) { group = c.group; console.log(`[${group}]`); }
    const caseRows = res.map((r) => r.row);
    const rounds = args.quick ? 1 : 3;
    const samples = new Map<Row, number[]>();
    for (let round = 0; round < rounds; round++) {
      for (const { row, inst } of res) {
        if (!inst || row.status !== 'ok') continue;
        const first = row.first ?? 0;
        if (round > 0 && isSlow(first, args.quick)) continue;
        try {
          const s = sampleRound(inst.run, { quick: args.quick, first, round, rounds });
          samples.set(row, [...(samples.get(row) ?? []), ...s]);
        } catch (e) {
          row.status = 'error';
          row.note = String(e).split('\n')[0];
          samples.delete(row);
        }
      }
    }
    for (const [row, s] of samples) {
      row.timing = summarize(s);
      if (c.flops) row.gflops = c.flops / row.timing.median / 1e9;
      if (c.bytes) row.gbps = c.bytes / row.timing.median / 1e9;
    }
    const ref = caseRows.find((r) => r.backend === 'ts-ref')?.timing?.median;
    const fast = caseRows.find((r) => r.backend === 'ts-fast')?.timing?.median;
    caseRows.forEach((r, i) => {
      if (r.timing && ref && r.backend !== 'ts-ref') r.vsRef = ref / r.timing.median;
      if (r.timing && fast && (c.group === 'matmul' || c.group === 'step') && r.backend.startsWith('wasm')) {
        r.vsFast = fast / r.timing.median;
      }
      console.log(tableRow(r, i === 0));
    });
    rows.push(...caseRows);
  }

  const tg = targets(rows);
  if (tg.some((t) => t.value !== undefined)) {
    console.log('\ntargets (single thread)');
    for (const t of tg) {
      console.log(`  ${t.met ? 'met    ' : 'NOT met'}  ${t.target.padEnd(48)} ${t.value === undefined ? '-' : t.value.toFixed(1)}`);
    }
  }

  // Batch inference through the shipped model's predict (src/infer/bench.ts), one thread.
  let inference: { imagesPerSecond: number; msPerBatch: number; backend: string } | string;
  try {
    const { benchInferenceDetailed } = await import('../src/infer/bench.js');
    const r = await benchInferenceDetailed(1000, { samples: args.quick ? 10 : 30 });
    inference = { imagesPerSecond: r.imagesPerSecond, msPerBatch: r.msPerBatch, backend: r.backend };
    const met = r.imagesPerSecond >= 150_000 ? 'met    ' : 'NOT met';
    console.log(`
batch inference, models/mnist-mlp.safetensors (784-128-10), batches of 1000, ${r.backend}, 1 thread:` +
      ` ${Math.round(r.imagesPerSecond).toLocaleString('en-US')} images/s (${r.msPerBatch.toFixed(2)} ms per batch)` +
      `
  ${met}  >= 150,000 images/s`);
  } catch (e) {
    inference = `inference bench failed: ${String(e).split('\n')[0]}`;
    console.log(`\n${inference}`);
  }

  let peers: PeerRow[] | string | undefined;
  if (args.peers) {
    console.log('\npeers');
    try {
      peers = await runPeersIfPresent(args.quick);
      console.log(typeof peers === 'string' ? `  ${peers}` : peerTable(peers));
    } catch (e) {
      peers = `peers failed: ${String(e).split('\n')[0]}`;
      console.log(`  ${peers}`);
    }
  }

  const outDir = join(projectRoot(), 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, 'latest.json');
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), env, rows, targets: tg, inference, peers }, null, 1) + '\n');
  console.log(`\nwrote ${file}`);
  return bad.length ? 1 : 0;
}

// Run when started as a script (npm run bench); the `wasmnist bench` bin imports main instead.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
    console.error(e);
    process.exit(1);
  });
}
