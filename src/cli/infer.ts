// `wasmnist infer img.png [more files or folders]` (`npm run infer -- ...`): read handwritten digits from real pictures.
// One line per file (prediction, confidence, top 3) or --json; an annotated PNG beside each input
// (or in --out). Exit code 1 when any file failed, after answering all the others.
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { UserError } from '../errors.js';
import type { FileResult } from '../infer/run.js';
import { EXIT, commandName, runIfMain } from './common.js';
import { makeBackend } from './backend.js';

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

/** The flags: [parseArgs type, argument, help]. */
const FLAGS = {
  model: ['string', '<file>', 'checkpoint from `npm run train` (default: the model shipped in models/)'],
  out: ['string', '<dir>', 'write the annotated <name>.pred.png files here (default: beside each input)'],
  json: ['boolean', '', 'print a JSON array, one object per file, instead of lines'],
  'no-annotate': ['boolean', '', 'do not write annotated images'],
  timing: ['boolean', '', 'print where the time went (ms since the process started) to stderr'],
  backend: ['string', '<name>', 'compute backend: wasm (default), wasm-simd, wasm-scalar, ts'],
  help: ['boolean', '', 'display help for command'],
} as const;
const OPTIONS = Object.fromEntries(Object.entries(FLAGS).map(([k, [type]]) => [k, k === 'help' ? { type, short: 'h' } : { type }])) as
  { [K in keyof typeof FLAGS]: { type: (typeof FLAGS)[K][0] } };

function usage(): string {
  const flag = ([k, [, arg]]: [string, readonly string[]]) => `--${k}${arg ? ` ${arg}` : ''}`;
  const rows = Object.entries(FLAGS);
  const w = Math.max(...rows.map((r) => flag(r).length));
  return `Usage: ${commandName('infer')} [options] <images...>\n\n` +
    'Read handwritten digits from PNG, JPEG or GIF files (one digit per picture).\n\n' +
    `Arguments:\n  ${'images'.padEnd(w)}  image files or folders of images\n\nOptions:\n` +
    rows.map((r) => `  ${flag(r).padEnd(w)}  ${r[1][2]}`).join('\n') + '\n';
}

/** The flags, with node's own parser: this command starts without loading commander. */
function parseFlags(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    // node's first sentence ("Unknown option '--x'. To specify a positional ...") in commander's words
    const first = (e as Error).message.split('\n')[0].split('. ')[0].replace(/\.$/, '');
    throw new UserError(`${first.charAt(0).toLowerCase()}${first.slice(1)} (see --help)`, EXIT.usage);
  }
}

export async function main(argv: string[]): Promise<number> {
  const { values: opts, positionals: args } = parseFlags(argv);
  if (opts.help) {
    process.stdout.write(usage());
    return EXIT.ok;
  }
  if (args.length === 0) throw new UserError("missing required argument 'images': give image files or folders (see --help)", EXIT.usage);

  const [{ loadInferenceModel, defaultModelPath }, { expandInputs, inferFiles }] = await Promise.all([
    import('../infer/model.js'), import('../infer/run.js'),
  ]);
  const { files, errors } = expandInputs(args);
  // One thread: a single forward pass takes microseconds, a worker pool would take milliseconds to start.
  const backend = makeBackend(opts.backend ?? 'wasm', { threads: 1, initialBytes: 8 << 20 });
  const modelPath = opts.model ?? defaultModelPath();
  const model = await loadInferenceModel(modelPath, backend);
  const tModel = performance.now();
  const answered = await inferFiles(model, files, { outDir: opts.out, annotate: !opts['no-annotate'], modelName: basename(modelPath) });
  // Keep the command line's order: path errors (missing, empty folder) sit where the path was.
  const results: FileResult[] = [...errors.map((e) => ({ ...e, ok: false as const })), ...answered];
  const order = (f: string) => {
    const i = args.findIndex((a) => f === a || f.startsWith(a.replace(/\/+$/, '') + '/'));
    return i < 0 ? args.length : i;
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

runIfMain(import.meta.url, main);
