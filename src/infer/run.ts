// Inference over files: expand folders, decode and prepare each picture, classify them all in one
// batch, write an annotated PNG per picture. A file that fails gets its own one-line error and
// the others are still answered.
import { readdirSync, statSync, openSync, readSync, closeSync } from 'node:fs';
import { basename, extname, join, dirname } from 'node:path';
import { UserError } from '../errors.js';
import { ensureDir, writeFileAtomic } from '../io/atomic.js';
import { NOT_REGULAR, readBounded, TOO_LARGE } from '../io/files.js';
import { decodeImage, imageFormat, sniffFormat, type DecodedImage } from './decode.js';
import { picturePlanes } from '../data/planes.js';
import { classify, isDigitModel, type Classification, type LoadedModel } from './model.js';
import { prepareDigit, type PreparedDigit } from './prepare.js';

/** The answer for one input file. */
export type FileResult =
  | ({ file: string; ok: true; annotated: string | null; prepared: Uint8Array; inverted: boolean } & Classification)
  | { file: string; ok: false; error: string };

export interface InferOptions {
  /** Folder for the annotated PNGs; default: beside each input. */
  outDir?: string;
  /** Model file name, printed in the annotated picture. */
  modelName?: string;
  /** Write annotated PNGs (default true). */
  annotate?: boolean;
}

/** Annotated images are named <name>.pred.png; folders skip them so a rerun does not read its own output. */
export const ANNOTATED_SUFFIX = '.pred.png';

/**
 * Turns the command line's paths into image files: a file stays itself (even if it is not an
 * image: it then gets its own error), a folder gives its PNG/JPEG/GIF files (sniffed, sorted,
 * not recursive). A missing path or a folder without images is an error entry, not a throw.
 */
export function expandInputs(paths: string[]): { files: string[]; errors: { file: string; error: string }[] } {
  const files: string[] = [];
  const errors: { file: string; error: string }[] = [];
  for (const p of paths) {
    let st;
    try { st = statSync(p); } catch {
      errors.push({ file: p, error: 'no such file or folder; check the path' });
      continue;
    }
    if (!st.isDirectory()) { files.push(p); continue; }
    const found = readdirSync(p).sort()
      .filter((n) => !n.endsWith(ANNOTATED_SUFFIX) && !n.startsWith('.'))
      .map((n) => join(p, n))
      .filter((f) => { try { return statSync(f).isFile() && isImageFile(f); } catch { return false; } });
    if (found.length === 0) errors.push({ file: p, error: 'this folder holds no PNG, JPEG or GIF images' });
    files.push(...found);
  }
  return { files, errors };
}

function isImageFile(path: string): boolean {
  const head = new Uint8Array(16);
  const fd = openSync(path, 'r');
  try { readSync(fd, head, 0, 16, 0); } finally { closeSync(fd); }
  const f = sniffFormat(head);
  return f === 'png' || f === 'jpeg' || f === 'gif';
}

/** Where the annotated picture of `file` goes. */
export function annotatedPath(file: string, outDir?: string): string {
  const name = basename(file, extname(file)) + ANNOTATED_SUFFIX;
  return join(outDir ?? dirname(file), name);
}

/**
 * Largest picture file read: more than a 50-megapixel picture's RGBA (200 MB); compressed ones
 * are far smaller. Files are refused from their size and first bytes before they are read.
 */
export const MAX_IMAGE_FILE_BYTES = 256 * 2 ** 20;

/**
 * Reads and prepares one file: its pixels and the model's input, or a one-line error. A digit
 * model (1x28x28) gets the MNIST preparation; any other model (colour, other sizes) the plain
 * conversion training made: channels, then an area-averaging resize to its input size.
 */
export async function loadAndPrepare(file: string, shape: [number, number, number] = [1, 28, 28]): Promise<{ image: DecodedImage; prep: PreparedDigit }> {
  let bytes: Uint8Array;
  try {
    bytes = readBounded(file, { maxBytes: MAX_IMAGE_FILE_BYTES, head: imageFormat });
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError('no such file; check the path');
    if (code === 'EACCES' || code === 'EPERM') throw new UserError('no permission to read it');
    if (code === 'EISDIR') throw new UserError('it is a folder');
    if (code === NOT_REGULAR || code === TOO_LARGE) throw new UserError(`not read: it ${(e as Error).message}; give a PNG, JPEG or GIF file`);
    throw new UserError(`cannot read it (${code ?? (e as Error).message})`);
  }
  const image = await decodeImage(bytes);
  const [C, H, W] = shape;
  if (isDigitModel({ inputShape: shape })) return { image, prep: prepareDigit(image) };
  const pixels = picturePlanes(image, C === 3 ? 3 : 1, H, W);
  return { image, prep: { pixels, inverted: false, box: { x0: 0, y0: 0, x1: image.width - 1, y1: image.height - 1 }, work: image } };
}

/** Classifies every file; never throws for a bad file (its entry says why). */
export async function inferFiles(model: LoadedModel, files: string[], opts: InferOptions = {}): Promise<FileResult[]> {
  const loaded: ({ image: DecodedImage; prep: PreparedDigit } | string)[] = [];
  for (const f of files) {
    try {
      loaded.push(await loadAndPrepare(f, model.inputShape));
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      loaded.push(e.message);
    }
  }
  const good = loaded.filter((l): l is { image: DecodedImage; prep: PreparedDigit } => typeof l !== 'string');
  const answers = classify(model, good.map((g) => g.prep.pixels));
  if (opts.outDir && opts.annotate !== false) {
    ensureDir(opts.outDir, 'the output folder', 'choose another --out');
  }
  const results: FileResult[] = [];
  let k = 0;
  for (let i = 0; i < files.length; i++) {
    const l = loaded[i];
    if (typeof l === 'string') { results.push({ file: files[i], ok: false, error: l }); continue; }
    const answer = answers[k++];
    let annotated: string | null = null;
    // The annotated picture draws the prepared 28x28 digit: digit models only.
    if (opts.annotate !== false && isDigitModel(model)) {
      const { renderAnnotation } = await import('./annotate.js');
      annotated = annotatedPath(files[i], opts.outDir);
      try {
        const png = await renderAnnotation({
          title: basename(files[i]), original: l.prep.work, originalSize: l.image, prepared: l.prep.pixels, result: answer,
          classNames: model.classNames,
          note: `${l.prep.inverted ? 'dark ink on light, inverted' : 'light ink on dark'}${opts.modelName ? `  \u00b7  model ${opts.modelName}` : ''}`,
        });
        writeFileAtomic(annotated, png, { durable: false }); // a picture infer can draw again
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        results.push({ file: files[i], ok: false, error: e.message });
        continue;
      }
    }
    results.push({ file: files[i], ok: true, annotated, prepared: l.prep.pixels, inverted: l.prep.inverted, ...answer });
  }
  return results;
}
