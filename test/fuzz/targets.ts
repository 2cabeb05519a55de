// The fuzzed formats: a few small valid files of each (built here, seeded), the header fields worth
// aiming at, a structure-aware mutation per format, the loader each case goes through (the same
// entry points the CLIs use) and the invariants a returned result must meet.
//   idx         loadIdxImages / loadIdxLabels, raw and gzip
//   csv         loadCsv (LF; CRLF + BOM + quoted cells)
//   png, jpeg, gif   loadAndPrepare (read, sniff, header cap, decode, MNIST preparation)
//   checkpoint  loadModelFile + predict (eval, infer) and readCheckpoint + Trainer resume + 1 step
//   npz         readNpz and loadModelFile(.npz) + predict
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, gzipSync, inflateSync, crc32 } from 'node:zlib';
import { unzipSync, zipSync } from 'fflate';
import { readCheckpoint, resumeData, saveCheckpoint } from '../../src/io/checkpoint.js';
import { exportNpz, loadModelFile } from '../../src/io/model-file.js';
import { loadCsv } from '../../src/data/csv.js';
import type { Dataset } from '../../src/data/dataset.js';
import { loadIdxImages, loadIdxLabels } from '../../src/data/idx.js';
import { WasmBackend } from '../../src/engine/wasm.js';
import { MAX_PIXELS } from '../../src/infer/decode.js';
import { loadAndPrepare } from '../../src/infer/run.js';
import { decodeNpy, encodeNpy, readNpz } from '../../src/io/npz.js';
import { DEFAULTS, type TrainConfig } from '../../src/train/config.js';
import { Trainer } from '../../src/train/trainer.js';
import { Rng } from '../../src/util/rng.js';
import { encodeGif, encodeJpeg, encodePalettePng, encodePng, mnistTest, scene } from '../infer-fixtures.js';
import { mutateJson, type Field, type Seed } from './mutate.js';
import type { FuzzTarget } from './runner.js';
import { encodeIdx } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'wasmnist-fuzz-'));
const fail = (msg: string): never => { throw new Error(`invalid result: ${msg}`); };
const sameBytes = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.prototype.every.call(a, (v: number, i: number) => v === b[i]);

/** Writes bytes to this format's scratch file and returns its path. */
function scratch(name: string, bytes: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

// ---------------------------------------------------------------- IDX


const idxFields = (ndims: number): Field[] => [
  { name: 'magic', offset: 0, size: 4, le: false },
  ...Array.from({ length: ndims }, (_, d) => ({ name: `dim${d}`, offset: 4 + 4 * d, size: 4 as const, le: false })),
];

export function idxTarget(): FuzzTarget<{ length: number; n: number; shape: number[] }> {
  const { images, labels } = mnistTest(6);
  const img = new Uint8Array(6 * 784);
  images.forEach((im, i) => img.set(im, i * 784));
  const lab = Uint8Array.from(labels);
  const raw: Seed[] = [
    { name: 'images', bytes: encodeIdx([6, 28, 28], img), fields: idxFields(3) },
    { name: 'labels', bytes: encodeIdx([6], lab), fields: idxFields(1) },
    { name: 'images-small', bytes: encodeIdx([3, 2, 5], img.subarray(0, 30)), fields: idxFields(3) },
  ];
  // gzip seeds: byte damage hits the gzip framing; the structural mutation damages a header field
  // of the inner file and re-compresses it, so the IDX checks run behind the gzip path.
  const gz: Seed[] = raw.map((s) => ({
    name: `${s.name}.gz`, bytes: new Uint8Array(gzipSync(s.bytes)), fields: [],
    structural: (rng: Rng) => {
      const b = s.bytes.slice();
      const f = s.fields[rng.int(s.fields.length)];
      const v = [0, 0xffffffff, 0x7fffffff, 0x80000000, rng.u32()][rng.int(5)];
      new DataView(b.buffer).setUint32(f.offset, v, false);
      const cut = rng.int(3) === 0 ? b.subarray(0, rng.int(b.length)) : b;
      return { kind: `gz-inner:${f.name}`, bytes: new Uint8Array(gzipSync(cut)) };
    },
  }));
  const want = { images: { n: 6, shape: [6, 28, 28] }, labels: { n: 6, shape: [6] }, 'images-small': { n: 3, shape: [3, 2, 5] } };
  return {
    format: 'idx', seeds: [...raw, ...gz], sync: true,
    run(bytes, seed) {
      const p = scratch('fuzz-idx', bytes);
      if (seed.name.startsWith('labels')) {
        const l = loadIdxLabels(p);
        return { length: l.length, n: l.length, shape: [l.length] };
      }
      const r = loadIdxImages(p);
      return { length: r.images.length, n: r.n, shape: [r.n, r.height, r.width] };
    },
    check(r, unchanged, seed) {
      if (r.n < 1 || r.length !== r.shape.reduce((a, b) => a * b, 1)) fail(`${r.length} values for shape ${r.shape}`);
      if (unchanged && JSON.stringify(r.shape) !== JSON.stringify(want[seed.name.replace('.gz', '') as keyof typeof want].shape)) {
        fail(`unchanged file read as ${r.shape}`);
      }
    },
  };
}

// ---------------------------------------------------------------- CSV

const NASTY_CELLS = ['', '-1', '256', '99999999999999999999', '1e308', 'NaN', 'Infinity', '"7"', '"', 'abc', '3.5',
  ' 12 ', '0x10', '1e2', '-0', '+3', '\u00e9', '1,2', '\t', '00000000000000000000000000000001'];

function csvText(rows: number, P: number, rng: Rng, crlf: boolean): string {
  const eol = crlf ? '\r\n' : '\n';
  const head = ['label', ...Array.from({ length: P }, (_, i) => `pixel${i}`)].join(',');
  const lines = [head];
  for (let r = 0; r < rows; r++) {
    const cells = [String(r % 10), ...Array.from({ length: P }, () => String(rng.int(256)))];
    lines.push(crlf && r % 2 ? cells.map((c) => `"${c}"`).join(',') : cells.join(','));
  }
  return (crlf ? '\ufeff' : '') + lines.join(eol) + eol;
}

/** Seeded damage to CSV structure: a cell, a whole line, the header, the line ends. */
function csvStructural(text: string, rng: Rng): { kind: string; bytes: Uint8Array } {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(eol);
  const li = rng.int(lines.length);
  const cells = lines[li].split(',');
  const r = rng.int(8);
  let kind: string;
  if (r < 4) {
    cells[rng.int(cells.length)] = NASTY_CELLS[rng.int(NASTY_CELLS.length)];
    kind = 'csv-cell';
  } else if (r === 4) {
    if (rng.int(2)) cells.splice(rng.int(cells.length), 1); else cells.push(String(rng.int(256)));
    kind = 'csv-columns';
  } else if (r === 5) {
    lines.splice(li, 0, lines[li]);
    kind = 'csv-dup-line';
  } else if (r === 6) {
    lines.splice(li, 1);
    kind = 'csv-drop-line';
  } else {
    lines.splice(li, 0, ['', ' ', '\r', ',', ',,,', '"'][rng.int(6)]);
    kind = 'csv-odd-line';
  }
  if (r < 5) lines[li] = cells.join(',');
  return { kind, bytes: new TextEncoder().encode(lines.join(eol)) };
}

export function csvTarget(): FuzzTarget<Dataset> {
  const rng = new Rng(42);
  const texts = [csvText(8, 16, rng, false), csvText(5, 12, rng, true), csvText(3, 784, rng, false)];
  const seeds: Seed[] = texts.map((t, i) => ({
    name: `csv${i}`, bytes: new TextEncoder().encode(t), fields: [],
    structural: (r: Rng) => csvStructural(t, r),
  }));
  seeds.push({ name: 'csv-gz', bytes: new Uint8Array(gzipSync(texts[0])), fields: [],
    structural: (r: Rng) => { const m = csvStructural(texts[0], r); return { kind: `gz-${m.kind}`, bytes: new Uint8Array(gzipSync(m.bytes)) }; } });
  const rows = [8, 5, 3, 8];
  return {
    format: 'csv', seeds, sync: true,
    run: (bytes) => loadCsv(scratch('fuzz.csv', bytes)),
    check(d, unchanged, seed) {
      const P = d.height * d.width;
      if (d.n < 1 || d.images.length !== d.n * P || d.labels.length !== d.n) fail(`n ${d.n}, ${d.images.length} pixels, ${d.labels.length} labels`);
      let max = 0;
      for (const l of d.labels) max = Math.max(max, l);
      if (d.classes !== max + 1) fail(`classes ${d.classes} for max label ${max}`);
      if (unchanged && d.n !== rows[seeds.indexOf(seed)]) fail(`unchanged file gave ${d.n} rows`);
    },
  };
}

// ---------------------------------------------------------------- images

/** Offsets of every PNG chunk's length field, and IHDR's fields. */
function pngFields(b: Uint8Array): Field[] {
  const f: Field[] = [
    { name: 'IHDR.width', offset: 16, size: 4, le: false }, { name: 'IHDR.height', offset: 20, size: 4, le: false },
    { name: 'IHDR.depth', offset: 24, size: 1, le: false }, { name: 'IHDR.colortype', offset: 25, size: 1, le: false },
    { name: 'IHDR.interlace', offset: 28, size: 1, le: false },
  ];
  for (let p = 8; p + 8 <= b.length;) {
    const len = new DataView(b.buffer, b.byteOffset).getUint32(p, false);
    const type = String.fromCharCode(...b.subarray(p + 4, p + 8));
    f.push({ name: `${type}.length`, offset: p, size: 4, le: false });
    p += 12 + len;
  }
  return f;
}

/** Recomputes the CRC of every chunk that can still be walked (so a damaged field reaches the decoder). */
function pngFixCrc(b: Uint8Array): Uint8Array {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let p = 8; p + 12 <= b.length;) {
    const len = dv.getUint32(p, false);
    if (p + 12 + len > b.length) break;
    dv.setUint32(p + 8 + len, crc32(b.subarray(p + 4, p + 8 + len)) >>> 0, false);
    p += 12 + len;
  }
  return b;
}

/** Damage behind the zlib layer: filter bytes and scanline data of IDAT, re-deflated, CRCs fixed. */
function pngStructural(b: Uint8Array, rng: Rng): { kind: string; bytes: Uint8Array } {
  // Gather every chunk; the image data may be split over several IDATs (joined into one here).
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const chunks: { type: string; body: Uint8Array }[] = [];
  for (let p = 8; p + 12 <= b.length;) {
    const len = dv.getUint32(p, false);
    chunks.push({ type: String.fromCharCode(...b.subarray(p + 4, p + 8)), body: b.subarray(p + 8, p + 8 + len) });
    p += 12 + len;
  }
  const idat = chunks.filter((c) => c.type === 'IDAT');
  const raw = new Uint8Array(inflateSync(Buffer.concat(idat.map((c) => c.body))));
  const r = rng.int(3);
  let body: Uint8Array = raw;
  if (r === 0) for (let k = 0; k < 4; k++) raw[rng.int(raw.length)] = rng.int(256);      // filter types / samples
  else if (r === 1) body = raw.subarray(0, rng.int(raw.length));                          // too little data
  else { body = new Uint8Array(raw.length * 2); body.set(raw); body.set(raw, raw.length); } // too much
  const parts: Uint8Array[] = [b.subarray(0, 8)];
  let first = true;
  for (const c of chunks) {
    if (c.type === 'IDAT' && !first) continue;
    const data = c.type === 'IDAT' ? new Uint8Array(deflateSync(body)) : c.body;
    if (c.type === 'IDAT') first = false;
    const head = new Uint8Array(8);
    new DataView(head.buffer).setUint32(0, data.length, false);
    for (let i = 0; i < 4; i++) head[4 + i] = c.type.charCodeAt(i);
    parts.push(head, data, new Uint8Array(4));
  }
  return { kind: `png-idat-${['bytes', 'short', 'long'][r]}`, bytes: pngFixCrc(new Uint8Array(Buffer.concat(parts))) };
}

/** JPEG segment lengths and the fields of SOF, DHT, SOS and DRI. */
function jpegFields(b: Uint8Array): Field[] {
  const f: Field[] = [];
  for (let p = 2; p + 4 <= b.length;) {
    if (b[p] !== 0xff) break;
    const m = b[p + 1];
    const name = `FF${m.toString(16).toUpperCase()}`;
    f.push({ name: `${name}.length`, offset: p + 2, size: 2, le: false });
    if (m >= 0xc0 && m <= 0xc2) {
      f.push({ name: 'SOF.precision', offset: p + 4, size: 1, le: false },
        { name: 'SOF.height', offset: p + 5, size: 2, le: false }, { name: 'SOF.width', offset: p + 7, size: 2, le: false },
        { name: 'SOF.components', offset: p + 9, size: 1, le: false }, { name: 'SOF.sampling', offset: p + 11, size: 1, le: false },
        { name: 'SOF.qtable', offset: p + 12, size: 1, le: false });
    }
    if (m === 0xc4) for (let k = 0; k < 17; k += 4) f.push({ name: `DHT.byte${k}`, offset: p + 4 + k, size: 1, le: false });
    if (m === 0xdb) f.push({ name: 'DQT.pq', offset: p + 4, size: 1, le: false });
    if (m === 0xdd) f.push({ name: 'DRI.interval', offset: p + 4, size: 2, le: false });
    if (m === 0xda) {
      f.push({ name: 'SOS.components', offset: p + 4, size: 1, le: false }, { name: 'SOS.table', offset: p + 6, size: 1, le: false });
      break;
    }
    p += 2 + ((b[p + 2] << 8) | b[p + 3]);
  }
  return f;
}

/** GIF screen and first image descriptor fields. */
function gifFields(b: Uint8Array): Field[] {
  const f: Field[] = [
    { name: 'screen.width', offset: 6, size: 2, le: true }, { name: 'screen.height', offset: 8, size: 2, le: true },
    { name: 'screen.flags', offset: 10, size: 1, le: true },
  ];
  let p = 13 + (b[10] & 0x80 ? 3 * (2 << (b[10] & 7)) : 0);
  while (p < b.length && b[p] === 0x21) { // extensions: skip their sub-blocks
    p += 2;
    while (p < b.length && b[p] !== 0) p += b[p] + 1;
    p++;
  }
  if (b[p] === 0x2c) {
    f.push({ name: 'image.left', offset: p + 1, size: 2, le: true }, { name: 'image.top', offset: p + 3, size: 2, le: true },
      { name: 'image.width', offset: p + 5, size: 2, le: true }, { name: 'image.height', offset: p + 7, size: 2, le: true },
      { name: 'image.flags', offset: p + 9, size: 1, le: true }, { name: 'lzw.mincode', offset: p + 10, size: 1, le: true },
      { name: 'lzw.block', offset: p + 11, size: 1, le: true });
  }
  return f;
}

type Prepared = Awaited<ReturnType<typeof loadAndPrepare>>;

/** One image format's target; seeds are small realistic pictures of MNIST digits. */
export function imageTarget(format: 'png' | 'jpeg' | 'gif'): FuzzTarget<Prepared> {
  const { images } = mnistTest(3);
  const pics = images.map((d, i) => scene(d, {
    width: 36 + 7 * i, height: 30 + 5 * i, side: 26, x: 3 + i, y: 2, paper: [235, 230, 220], ink: [20, 20, 40],
    noise: 6, seed: 7 + i,
  }));
  let seeds: Seed[];
  if (format === 'png') {
    const files = [encodePng(pics[0], 0), encodePng(pics[1], 2), encodePng(pics[2], 6), encodePng(pics[0], 0, true), encodePalettePng(pics[1])];
    seeds = files.map((b, i) => ({ name: `png${i}`, bytes: new Uint8Array(b), fields: pngFields(b), fixup: pngFixCrc, structural: (r: Rng) => pngStructural(b, r) }));
  } else if (format === 'jpeg') {
    const files = [encodeJpeg(pics[0], 85), encodeJpeg(pics[1], 30), encodeJpeg(pics[2], 95)];
    seeds = files.map((b, i) => ({ name: `jpeg${i}`, bytes: new Uint8Array(b), fields: jpegFields(b) }));
  } else {
    const files = [encodeGif(pics[0]), encodeGif(pics[1], true)];
    seeds = files.map((b, i) => ({ name: `gif${i}`, bytes: new Uint8Array(b), fields: gifFields(b) }));
  }
  const want = new Map<string, Prepared>();
  return {
    format, seeds, sync: false,
    async run(bytes, seed) {
      if (!want.has(seed.name)) want.set(seed.name, await loadAndPrepare(scratch(`want.${format}`, seed.bytes)));
      return loadAndPrepare(scratch(`fuzz.${format}`, bytes));
    },
    check(r, unchanged, seed) {
      const { width: w, height: h, data } = r.image;
      if (!(w >= 1 && h >= 1 && w * h <= MAX_PIXELS) || data.length !== w * h * 4) fail(`${w}x${h} image with ${data.length} bytes`);
      if (r.prep.pixels.length !== 784) fail(`prepared digit has ${r.prep.pixels.length} pixels`);
      if (unchanged && !sameBytes(r.prep.pixels, want.get(seed.name)!.prep.pixels)) fail('unchanged file prepared differently');
    },
  };
}

// ---------------------------------------------------------------- checkpoints (safetensors) and npz

/** A synthetic 28x28, 10-class dataset (seeded): what the resume stage trains one step on. */
function tinyData(n: number): Dataset {
  const rng = new Rng(5);
  const images = new Uint8Array(n * 784);
  for (let i = 0; i < images.length; i++) images[i] = rng.int(256);
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  return { images, labels, n, height: 28, width: 28, classes: 10, source: 'tiny' };
}

/** Splits a safetensors file into its header object and data bytes. */
function splitSafetensors(b: Uint8Array): { header: Record<string, any>; data: Uint8Array } {
  const n = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(b.subarray(8, 8 + n))), data: b.subarray(8 + n) };
}

function joinSafetensors(header: unknown, data: Uint8Array): Uint8Array {
  let h = new TextEncoder().encode(JSON.stringify(header));
  h = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat((8 - (h.length % 8)) % 8));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** Damage a checkpoint behind the safetensors framing: a tensor entry or a metadata JSON value. */
function checkpointStructural(b: Uint8Array, rng: Rng): { kind: string; bytes: Uint8Array } {
  const { header, data } = splitSafetensors(b);
  const r = rng.int(4);
  if (r === 0) { // a tensor's dtype, shape or offsets
    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    const name = names[rng.int(names.length)];
    const m = mutateJson(header[name], rng);
    header[name] = m.value;
    return { kind: `st-tensor:${m.what}`, bytes: joinSafetensors(header, data) };
  }
  if (r === 1) { // data shorter or longer than the tensors claim
    const cut = rng.int(2) ? data.subarray(0, rng.int(data.length)) : new Uint8Array(data.length + 1 + rng.int(64));
    if (cut.length > data.length) cut.set(data);
    return { kind: 'st-data-size', bytes: joinSafetensors(header, cut) };
  }
  // a value inside one of the JSON metadata strings (model spec, config, state, normalization, ...)
  const meta = header.__metadata__ as Record<string, string>;
  const keys = Object.keys(meta);
  const key = keys[rng.int(keys.length)];
  let parsed: unknown;
  try { parsed = JSON.parse(meta[key]); } catch { parsed = meta[key]; }
  const m = mutateJson(parsed, rng);
  meta[key] = rng.int(8) === 0 ? String(m.value).slice(0, 5) : JSON.stringify(m.value) ?? '';
  return { kind: `st-meta:${key}.${m.what}`, bytes: joinSafetensors(header, data) };
}

/** Zip fields of an npz: end record, central directory and local headers, npy header lengths. */
function zipFields(b: Uint8Array): Field[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let e = b.length - 22;
  while (e > 0 && dv.getUint32(e, true) !== 0x06054b50) e--;
  const f: Field[] = [
    { name: 'eocd.count', offset: e + 10, size: 2, le: true }, { name: 'eocd.dirSize', offset: e + 12, size: 4, le: true },
    { name: 'eocd.dirOffset', offset: e + 16, size: 4, le: true },
  ];
  const count = dv.getUint16(e + 10, true);
  for (let i = 0, o = dv.getUint32(e + 16, true); i < count; i++) {
    const local = dv.getUint32(o + 42, true);
    f.push({ name: 'cd.csize', offset: o + 20, size: 4, le: true }, { name: 'cd.usize', offset: o + 24, size: 4, le: true },
      { name: 'cd.namelen', offset: o + 28, size: 2, le: true }, { name: 'cd.local', offset: o + 42, size: 4, le: true },
      { name: 'local.csize', offset: local + 18, size: 4, le: true }, { name: 'local.usize', offset: local + 22, size: 4, le: true },
      { name: 'local.namelen', offset: local + 26, size: 2, le: true });
    if (dv.getUint16(o + 10, true) === 0) { // stored: the .npy header length is at a known place
      const data = local + 30 + dv.getUint16(local + 26, true) + dv.getUint16(local + 28, true);
      f.push({ name: 'npy.hlen', offset: data + 8, size: 2, le: true }, { name: 'npy.version', offset: data + 6, size: 1, le: true });
    }
    o += 46 + dv.getUint16(o + 28, true) + dv.getUint16(o + 30, true) + dv.getUint16(o + 32, true);
  }
  return f;
}

/** Damage an npz behind the zip layer: an array's npy header (shape, dtype, order) or its data. */
function npzStructural(b: Uint8Array, compressed: boolean, rng: Rng): { kind: string; bytes: Uint8Array } {
  const files = unzipSync(b);
  const names = Object.keys(files);
  const name = names[rng.int(names.length)];
  const arr = decodeNpy(files[name], name);
  const r = rng.int(4);
  let kind: string;
  if (r === 0) {
    const shape = [...arr.shape];
    const vals = [0, -1, 1, 2 ** 31, 2 ** 53, 1e9, 3];
    if (rng.int(4) === 0) shape.push(vals[rng.int(vals.length)]); else shape[rng.int(shape.length)] = vals[rng.int(vals.length)];
    const npy = encodeNpy(arr, name);
    const text = new TextDecoder('latin1').decode(npy.subarray(10, 10 + new DataView(npy.buffer).getUint16(8, true)));
    const fixed = text.replace(/'shape': \([^)]*\)/, `'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''})`);
    files[name] = withNpyHeader(npy, fixed);
    kind = 'npy-shape';
  } else if (r === 1) {
    const npy = encodeNpy(arr, name);
    const text = new TextDecoder('latin1').decode(npy.subarray(10, 10 + new DataView(npy.buffer).getUint16(8, true)));
    const descr = ['<f2', '>f4', '|b1', '<c8', '<U3', '|O', '<f4', 'f4'][rng.int(8)];
    const order = rng.int(2) ? 'True' : 'False';
    files[name] = withNpyHeader(npy, text.replace("'<f4'", `'${descr}'`).replace('False', order));
    kind = 'npy-dtype';
  } else if (r === 2) {
    files[name] = files[name].subarray(0, rng.int(files[name].length));
    kind = 'npy-truncated';
  } else {
    const other = names[rng.int(names.length)];
    if (rng.int(2)) delete files[name]; else files[`${name}.x`] = files[other];
    kind = 'npz-entries';
  }
  return { kind, bytes: zipSync(files, { level: compressed ? 6 : 0, mtime: new Date(1980, 0, 1) }) };
}

/** An npy with its header dict text replaced (padded to 64 like numpy). */
function withNpyHeader(npy: Uint8Array, dict: string): Uint8Array<ArrayBuffer> {
  const hlen = new DataView(npy.buffer, npy.byteOffset).getUint16(8, true);
  const body = npy.subarray(10 + hlen);
  const d = dict.trimEnd();
  const total = Math.ceil((10 + d.length + 1) / 64) * 64;
  const h = d + ' '.repeat(total - 10 - d.length - 1) + '\n';
  const out = new Uint8Array(total + body.length);
  out.set(npy.subarray(0, 8));
  new DataView(out.buffer).setUint16(8, h.length, true);
  for (let i = 0; i < h.length; i++) out[10 + i] = h.charCodeAt(i) & 0xff;
  out.set(body, total);
  return out;
}

/** Shared by the checkpoint and npz targets: one WASM backend, freed back to a mark after each case. */
class ModelBench {
  readonly backend = new WasmBackend('simd', 32 << 20);
  readonly mark = this.backend.mark();
  readonly data = { train: tinyData(40), test: null };
  cleanup(): void { this.backend.release(this.mark); }
  /** Whole WASM memory: a case must not grow it by more than the bound. */
  bytes(): number { return this.backend.memory.buffer.byteLength; }
  predictOne(path: string): Float32Array {
    const m = loadModelFile(path, this.backend);
    const probs = m.model.predict(new Float32Array(m.model.inputSize).fill(0.5), 1);
    if (probs.length !== m.classNames.length) fail(`${probs.length} probabilities for ${m.classNames.length} classes`);
    let sum = 0;
    for (const p of probs) { if (!(p >= 0 && p <= 1)) fail(`probability ${p}`); sum += p; }
    if (Math.abs(sum - 1) > 1e-3) fail(`probabilities sum to ${sum}`);
    return probs;
  }
}

/** Checkpoints of small trained models: Adam at an epoch boundary, momentum stopped mid-epoch, a CNN. */
async function checkpointSeeds(bench: ModelBench): Promise<{ seeds: Seed[]; npz: Seed[] }> {
  const configs: [string, Partial<TrainConfig>, number][] = [
    ['adam-epoch', { arch: '784-16-10', optimizer: 'adam', batch: 10, epochs: 1 }, 1000],
    ['momentum-mid', { arch: '784-8-10', optimizer: 'momentum', lr: 0.01, batch: 8, epochs: 2, dropout: 0.1 }, 3],
    ['cnn-sgd', { arch: 'conv2k5-pool4-10', optimizer: 'sgd', lr: 0.01, batch: 8, epochs: 1 }, 2],
  ];
  const seeds: Seed[] = [];
  const npz: Seed[] = [];
  for (const [name, c, stopAfter] of configs) {
    const t = new Trainer(bench.backend, { ...DEFAULTS, ...c } as TrainConfig, bench.data);
    let steps = 0;
    await t.run({ onStep: () => { steps++; }, shouldStop: () => steps >= stopAfter });
    const p = join(dir, `seed-${name}.safetensors`);
    saveCheckpoint(p, t, Array.from({ length: 10 }, (_, i) => String(i)));
    const bytes = new Uint8Array(await import('node:fs').then((fs) => fs.readFileSync(p)));
    seeds.push({ name, bytes, fields: [{ name: 'header-length', offset: 0, size: 8, le: true }],
      structural: (r: Rng) => checkpointStructural(bytes, r) });
    if (!c.arch!.startsWith('conv')) {
      for (const compress of [false, true]) {
        const q = join(dir, `seed-${name}-${compress}.npz`);
        exportNpz(q, t.model);
        let b = new Uint8Array((await import('node:fs')).readFileSync(q));
        if (compress) { b = zipSync(unzipSync(b), { level: 6, mtime: new Date(1980, 0, 1) }); }
        const bb = b;
        npz.push({ name: `${name}${compress ? '-deflate' : ''}`, bytes: bb, fields: zipFields(bb),
          structural: (r: Rng) => npzStructural(bb, compress, r) });
      }
    }
    bench.cleanup();
  }
  return { seeds, npz };
}

/** checkpoint and npz targets (they share the trained seeds and one WASM backend). */
export async function modelTargets(): Promise<{ checkpoint: FuzzTarget<Float32Array>; npz: FuzzTarget<Float32Array>; bench: ModelBench }> {
  const bench = new ModelBench();
  const { seeds, npz } = await checkpointSeeds(bench);
  const wantProbs = new Map<string, Float32Array>();
  const checkpoint: FuzzTarget<Float32Array> = {
    format: 'checkpoint', seeds, sync: true,
    run(bytes, seed) {
      const p = scratch('fuzz.safetensors', bytes);
      if (!wantProbs.has(seed.name)) { wantProbs.set(seed.name, bench.predictOne(join(dir, `seed-${seed.name}.safetensors`))); bench.cleanup(); }
      const probs = bench.predictOne(p);
      // What --resume does: read, rebuild the trainer from the stored spec and state, take one step.
      const ck = readCheckpoint(p);
      const t = new Trainer(bench.backend, ck.config, bench.data, resumeData(ck), ck.spec);
      (t as unknown as { step(start: number, B: number): unknown }).step(0, Math.min(t.stepBatch, t.train.n));
      return probs;
    },
    check(probs, unchanged, seed) {
      if (unchanged && !sameBytes(probs, wantProbs.get(seed.name)!)) fail('unchanged checkpoint predicts differently');
    },
    cleanup: () => bench.cleanup(),
    extraBytes: () => bench.bytes(),
  };
  const npzTarget: FuzzTarget<Float32Array> = {
    format: 'npz', seeds: npz, sync: true,
    run(bytes) {
      const p = scratch('fuzz.npz', bytes);
      const arrays = readNpz(p);
      for (const [k, a] of Object.entries(arrays)) {
        if (a.data.length !== a.shape.reduce((x, y) => x * y, 1)) fail(`${k}: ${a.data.length} values for shape ${a.shape}`);
      }
      return bench.predictOne(p);
    },
    check() { /* predictOne checked the probabilities */ },
    cleanup: () => bench.cleanup(),
    extraBytes: () => bench.bytes(),
  };
  return { checkpoint, npz: npzTarget, bench };
}
