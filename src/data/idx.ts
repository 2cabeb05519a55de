// IDX files, the format MNIST ships in (spec: http://yann.lecun.com/exdb/mnist/ , "FILE FORMATS"):
// a 4-byte magic 00 00 <type> <ndims> (type 0x08 = unsigned byte), then ndims big-endian u32
// sizes, then the values row-major. Images are idx3 (n, rows, cols): magic 0x00000803; labels
// are idx1 (n): magic 0x00000801. Files may be raw or gzip-compressed (detected by content).
// Every size in the header is checked against the file length before any data is copied, and a
// .gz file is inflated only up to the size its (inflated) header promises.
import { existsSync, statSync } from '../platform/fs.js';
import { join } from '../platform/path.js';
import { UserError } from '../errors.js';
import { gunzipHead, gunzipLimited, isGzip, readInputFile } from '../io/files.js';
import { countClasses, type Dataset } from './dataset.js';

const TYPE_NAMES: Record<number, string> = {
  0x08: 'unsigned byte', 0x09: 'signed byte', 0x0b: 'short', 0x0c: 'int', 0x0d: 'float', 0x0e: 'double',
};

/** Largest IDX file accepted: the data must fit in WebAssembly memory (2 GiB) with the model. */
const MAX_IDX_BYTES = 2 ** 31 - 2 ** 27;

const hex32 = (v: number) => '0x' + (v >>> 0).toString(16).padStart(8, '0');

/**
 * The bytes of an IDX file, raw or gzip. A gzip file's first inflated bytes are its IDX header:
 * the sizes there (checked like a raw file's) bound the rest of the inflation, so a stream that
 * inflates further is refused as soon as it passes them.
 */
function readIdx(path: string, ndims: number[], kind: string, what: string): Uint8Array {
  // The magic decides before the rest of a large file is read.
  const bytes = readInputFile(path, what, { head: (h) => { if (!isGzip(h)) parseHeader(h, path, ndims, kind); } });
  if (!isGzip(bytes)) return bytes;
  const head = gunzipHead(bytes, 4 + 4 * Math.max(...ndims), path);
  const { need, dims } = parseHeader(head, path, ndims, kind);
  if (need > MAX_IDX_BYTES) {
    throw new UserError(`${path}: its header claims ${dims.join('x')} ${kind} (${need} bytes), more than the ` +
      `${MAX_IDX_BYTES} bytes a dataset may hold here; check the file`);
  }
  return gunzipLimited(bytes, path, need, `its IDX header promises ${dims.join('x')} ${kind} (${need} bytes)`);
}

/** Parse an IDX u8 array with `ndims` dimensions; `kind` names it in errors. */
export function parseIdx(bytes: Uint8Array, path: string, ndims: number[], kind: string): { dims: number[]; data: Uint8Array } {
  const { head, need, dims } = parseHeader(bytes, path, ndims, kind);
  if (bytes.length < need) {
    throw new UserError(`${path} is truncated: its header claims ${dims.join('x')} ${kind} (${need} bytes) but the file holds ${bytes.length} bytes; download it again`);
  }
  if (bytes.length > need) {
    throw new UserError(`${path} is corrupt: ${bytes.length - need} bytes follow the ${dims.join('x')} ${kind} its header describes; download it again`);
  }
  const count = need - head;
  // A large file read or inflated just now owns its buffer: view it (copying 47 MB costs more than
  // 100 ms). Small buffers may sit in Node's shared pool: copy those.
  const owned = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  const data = owned ? new Uint8Array(bytes.buffer, head, count) : new Uint8Array(count);
  if (!owned) data.set(bytes.subarray(head, need));
  return { dims, data };
}

/**
 * The magic and sizes at the start of an IDX file: header length, total length, sizes. `ndims`
 * lists the dimension counts accepted (images: 3 grey, or 4 with channels).
 */
function parseHeader(bytes: Uint8Array, path: string, accepted: number[], kind: string): { head: number; need: number; dims: number[] } {
  const want = 0x800 | accepted[0];
  if (bytes.length < 4) {
    throw new UserError(`${path} is too short to be an IDX file (${bytes.length} bytes); expected ${kind} starting with magic ${hex32(want)}`);
  }
  const magic = ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
  const ndims = bytes[3];
  if (!(bytes[0] === 0 && bytes[1] === 0 && bytes[2] === 0x08 && accepted.includes(ndims))) {
    let why = '';
    if (bytes[0] === 0 && bytes[1] === 0 && bytes[2] !== 0x08 && TYPE_NAMES[bytes[2]]) why = ` (${TYPE_NAMES[bytes[2]]} values; only unsigned bytes are supported)`;
    else if (bytes[0] === 0 && bytes[1] === 0 && bytes[2] === 0x08) why = ` (${bytes[3]} dimensions; ${kind} need ${accepted.join(' or ')})`;
    else why = ' (not an IDX file)';
    throw new UserError(`bad IDX magic in ${path}: expected ${hex32(want)} for ${kind}, found ${hex32(magic)}${why}; check the file`);
  }
  const head = 4 + 4 * ndims;
  if (bytes.length < head) {
    throw new UserError(`${path} is truncated: ${bytes.length} bytes, shorter than its ${head}-byte IDX header; download it again`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let d = 0; d < ndims; d++) {
    dims.push(view.getUint32(4 + 4 * d, false));
    count *= dims[d]; // exact as a double up to 2^53; anything larger is refused below
  }
  return { head, need: head + count, dims };
}

/**
 * Images of an IDX file (raw or .gz): idx3 (n, H, W) grey, or idx4 with channels, either
 * (n, C, H, W) or (n, H, W, C) for C = 1 or 3 (a C of 1 or 3 second decides; HWC is transposed to
 * the C x H x W rows training uses).
 */
export function loadIdxImages(path: string): { images: Uint8Array; n: number; height: number; width: number; channels: number } {
  const { dims, data } = parseIdx(readIdx(path, [3, 4], 'images', 'IDX images'), path, [3, 4], 'images');
  const n = dims[0];
  let [channels, height, width] = dims.length === 3 ? [1, dims[1], dims[2]] : [dims[1], dims[2], dims[3]];
  let images = data;
  if (dims.length === 4 && !(channels === 1 || channels === 3)) {
    if (!(dims[3] === 1 || dims[3] === 3)) {
      throw new UserError(`${path} is a 4-dimensional IDX file of ${dims.join('x')}; images need 1 or 3 channels as its second or last size`);
    }
    [height, width, channels] = [dims[1], dims[2], dims[3]];
    images = hwcToChw(data, n, height, width, channels);
  }
  if (n === 0) throw new UserError(`${path} holds no images (count 0 in its header); the dataset is empty`);
  if (height === 0 || width === 0) throw new UserError(`${path} claims ${height}x${width} images; each side must be at least 1`);
  return { images, n, height, width, channels };
}

/** (n, H, W, C) -> (n, C, H, W). */
function hwcToChw(src: Uint8Array, n: number, H: number, W: number, C: number): Uint8Array {
  const out = new Uint8Array(src.length);
  const P = H * W;
  for (let i = 0; i < n; i++) {
    const o = i * P * C;
    for (let p = 0; p < P; p++) for (let c = 0; c < C; c++) out[o + c * P + p] = src[o + p * C + c];
  }
  return out;
}

/** Labels of an idx1-ubyte file (raw or .gz), one u8 per image. */
export function loadIdxLabels(path: string): Uint8Array {
  const { dims, data } = parseIdx(readIdx(path, [1], 'labels', 'IDX labels'), path, [1], 'labels');
  if (dims[0] === 0) throw new UserError(`${path} holds no labels (count 0 in its header); the dataset is empty`);
  return data;
}

/** The four files of an MNIST-style folder and the names each may have. */
const ROLES = [
  { role: 'training images', stem: 'train-images', kind: 'idx3' },
  { role: 'training labels', stem: 'train-labels', kind: 'idx1' },
  { role: 'test images', stem: 't10k-images', kind: 'idx3' },
  { role: 'test labels', stem: 't10k-labels', kind: 'idx1' },
] as const;

function candidates(stem: string, kind: string): string[] {
  // Raw first: it loads without inflating.
  const bases = [`${stem}-${kind}-ubyte`, `${stem}.${kind}-ubyte`];
  return bases.flatMap((b) => [b, `${b}.gz`]);
}

function loadPair(imagesPath: string, labelsPath: string) {
  const im = loadIdxImages(imagesPath);
  const labels = loadIdxLabels(labelsPath);
  if (labels.length !== im.n) {
    throw new UserError(`${imagesPath} has ${im.n} images but ${labelsPath} has ${labels.length} labels; they must match (are they from the same set?)`);
  }
  return { ...im, labels };
}

/**
 * Looks in dir for train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
 * t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz] (also accepts the common
 * 'train-images.idx3-ubyte' spelling); classes = max label + 1 over both sets.
 */
export function loadIdxDir(dir: string): { train: Dataset; test: Dataset } {
  let st;
  try { st = statSync(dir); } catch {
    throw new UserError(`data folder not found: ${dir} does not exist; give a folder with the four MNIST IDX files`);
  }
  if (!st.isDirectory()) throw new UserError(`data folder expected, but ${dir} is a file; give the folder that holds the IDX files`);
  const found: string[] = [];
  const missing: string[] = [];
  for (const r of ROLES) {
    const names = candidates(r.stem, r.kind);
    const hit = names.find((name) => existsSync(join(dir, name)));
    if (hit) found.push(join(dir, hit));
    else missing.push(`${r.role} (looked for ${names.join(', ')})`);
  }
  if (missing.length) {
    throw new UserError(`IDX files missing in ${dir}: ${missing.join('; ')}; put the four MNIST-format files there`);
  }
  const tr = loadPair(found[0], found[1]);
  const te = loadPair(found[2], found[3]);
  if (tr.height !== te.height || tr.width !== te.width || tr.channels !== te.channels) {
    const shape = (t: { channels: number; height: number; width: number }) => `${t.channels === 1 ? '' : `${t.channels}x`}${t.height}x${t.width}`;
    throw new UserError(`training images are ${shape(tr)} but test images are ${shape(te)} (${found[0]}, ${found[2]}); both sets must have the same size`);
  }
  const classes = countClasses(tr.labels, te.labels);
  return {
    train: { images: tr.images, labels: tr.labels, n: tr.n, height: tr.height, width: tr.width, channels: tr.channels, classes, source: found[0] },
    test: { images: te.images, labels: te.labels, n: te.n, height: te.height, width: te.width, channels: te.channels, classes, source: found[2] },
  };
}
