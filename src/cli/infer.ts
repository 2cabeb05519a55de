// `npm run infer -- img.png [more files or folders]`: read handwritten digits from real pictures.
// One line per file (prediction, confidence, top 3) or --json; an annotated PNG beside each input
// (or in --out). Exit code 1 when any file failed, after answering all the others.
import { basename } from 'node:path';
import { Command } from 'commander';
import type { FileResult } from '../infer/run.js';
import { EXIT, makeBackend, runMain } from './common.js';

const pct = (p: number) => (p >= 0.9995 ? '100%' : p < 0.001 ? '<0.1%' : `${(p * 100).toFixed(1)}%`);

/** One readable line for a result. */
export function formatLine(r: FileResult, width: number): string {
  const name = r.file.padEnd(width);
  if (!r.ok) return `${name}  error: ${r.error}`;
  const top = r.top.map((t) => `${t.label} ${pct(t.p)}`).join(', ');
  const flag = r.confidence < 0.8 ? '  (unsure)' : ''; // UNSURE_BELOW of the annotated picture
  const pic = r.annotated ? `  -> ${r.annotated}` : '';
  return `${name}  ${r.label}  ${pct(r.confidence).padStart(6)}  top 3: ${top}${flag}${pic}`;
}

async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name('npm run infer --')
    .description('Read handwritten digits from PNG, JPEG or GIF files (one digit per picture).')
    .argument('<images...>', 'image files or folders of images')
    .option('--model <file>', 'checkpoint from `npm run train` (default: the model shipped in models/)')
    .option('--out <dir>', 'write the annotated <name>.pred.png files here (default: beside each input)')
    .option('--json', 'print a JSON array, one object per file, instead of lines')
    .option('--no-annotate', 'do not write annotated images')
    .option('--timing', 'print where the time went (ms since the process started) to stderr')
    .option('--backend <name>', 'compute backend: wasm (default), wasm-simd, wasm-scalar, ts', 'wasm')
    .exitOverride()
    .configureOutput({ outputError: () => { /* runMain prints one line */ } });
  program.parse(argv, { from: 'user' });
  const opts = program.opts<{ model?: string; out?: string; json?: boolean; annotate: boolean; backend: string; timing?: boolean }>();

  const [{ loadInferenceModel, defaultModelPath }, { expandInputs, inferFiles }] = await Promise.all([
    import('../infer/model.js'), import('../infer/run.js'),
  ]);
  const { files, errors } = expandInputs(program.args);
  // One thread: a single forward pass takes microseconds, a worker pool would take milliseconds to start.
  const backend = makeBackend(opts.backend, { threads: 1, initialBytes: 8 << 20 });
  const modelPath = opts.model ?? defaultModelPath();
  const model = await loadInferenceModel(modelPath, backend);
  const tModel = performance.now();
  const answered = await inferFiles(model, files, { outDir: opts.out, annotate: opts.annotate, modelName: basename(modelPath) });
  // Keep the command line's order: path errors (missing, empty folder) sit where the path was.
  const results: FileResult[] = [...errors.map((e) => ({ ...e, ok: false as const })), ...answered];
  const order = (f: string) => {
    const i = program.args.findIndex((a) => f === a || f.startsWith(a.replace(/\/+$/, '') + '/'));
    return i < 0 ? program.args.length : i;
  };
  results.sort((a, b) => order(a.file) - order(b.file));

  if (opts.json) {
    const out = results.map((r) => r.ok
      ? { file: r.file, ok: true, label: r.label, confidence: r.confidence, top: r.top, probs: r.probs,
        classNames: model.classNames, inverted: r.inverted, annotated: r.annotated }
      : { file: r.file, ok: false, error: r.error });
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } else {
    const width = Math.min(40, Math.max(...results.map((r) => r.file.length)));
    for (const r of results) (r.ok ? process.stdout : process.stderr).write(formatLine(r, width) + '\n');
  }
  if (opts.timing) {
    // performance.now() counts from process start, so this includes Node's own startup.
    process.stderr.write(`timing: model ready at ${tModel.toFixed(0)} ms, all ${results.length} answered ` +
      `and written at ${performance.now().toFixed(0)} ms since process start\n`);
  }
  return results.every((r) => r.ok) ? EXIT.ok : EXIT.user;
}

runMain(() => main(process.argv.slice(2)));
