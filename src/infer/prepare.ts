// A photo or drawing of one digit -> the 28x28 MNIST-style input the model was trained on, one
// function per step of MNIST's own recipe (LeCun et al.: the NIST digit was cropped, fitted into a
// 20x20 box keeping its aspect ratio with anti-aliasing, and placed in a 28x28 field so that its
// centre of mass sits in the middle). Ink ends up bright (255) on black (0), like MNIST.
//
//   toGray -> (invert when ink is dark) -> suppressBackground -> removeSpecks -> boundingBox/crop
//   -> scaleToFit(20) -> centerByMass(28) -> toBytes -> normalize
//
// Gray images are row-major Float32Array in [0, 255], H rows of W pixels.
import { UserError } from '../errors.js';
import type { RgbaImage } from './decode.js';

/** One channel, row-major, values in [0, 255]. */
export interface GrayImage {
  width: number;
  height: number;
  data: Float32Array;
}

/** Inclusive pixel bounds. */
export interface Box { x0: number; y0: number; x1: number; y1: number }

/** What prepareDigit produced and decided, kept for the annotated output. */
export interface PreparedDigit {
  /** The 28x28 the model sees (before normalization), ink 255 on 0. */
  pixels: Uint8Array;
  /** Whether the input had dark ink on a light background (and was inverted). */
  inverted: boolean;
  /** Where the ink was found (in the working image, shrunk to WORK_SIDE when larger). */
  box: Box;
  /** The picture at working size (at most WORK_SIDE on its longer side): what gets drawn. */
  work: RgbaImage;
}

/** Thrown when a picture holds nothing that looks like ink. */
export class NoInkError extends UserError {}

/** Side of the box the digit is fitted into, and of the frame around it (MNIST: 20 and 28). */
export const FIT = 20;
export const FRAME = 28;
/** Ink must stand out from the background by at least this many gray levels (of 255). */
export const MIN_CONTRAST = 40;

/** Luminance (ITU-R BT.601) with alpha composited over white: transparent is paper. */
export function toGray(img: RgbaImage): GrayImage {
  const n = img.width * img.height;
  const out = new Float32Array(n);
  const d = img.data;
  for (let i = 0; i < n; i++) {
    const a = d[4 * i + 3] / 255;
    const lum = 0.299 * d[4 * i] + 0.587 * d[4 * i + 1] + 0.114 * d[4 * i + 2];
    out[i] = a * lum + (1 - a) * 255;
  }
  return { width: img.width, height: img.height, data: out };
}

/** Threshold t (0..255) that best splits the histogram into two classes (Otsu 1979); round(v) > t is the bright class. */
export function otsuThreshold(g: GrayImage): number {
  const hist = new Float64Array(256);
  for (const v of g.data) hist[Math.min(255, Math.max(0, Math.round(v)))]++;
  const n = g.data.length;
  let sumAll = 0;
  for (let i = 0; i < 256; i++) sumAll += i * hist[i];
  // Between-class variance is flat across an empty stretch of the histogram (clean synthetic
  // images): take the middle of the best plateau rather than its first bin.
  let w0 = 0, sum0 = 0, best = -1, first = 127, last = 127;
  for (let t = 0; t < 255; t++) {
    w0 += hist[t];
    sum0 += t * hist[t];
    const w1 = n - w0;
    if (w0 === 0 || w1 === 0) continue;
    const m0 = sum0 / w0, m1 = (sumAll - sum0) / w1;
    const between = w0 * w1 * (m0 - m1) ** 2;
    if (between > best * (1 + 1e-12)) { best = between; first = last = t; } else if (between >= best * (1 - 1e-12)) last = t;
  }
  return Math.floor((first + last) / 2);
}

/** The pixels on the image's outer edge, sorted: the paper, as a digit rarely touches the edge. */
function borderValues(g: GrayImage): number[] {
  const { width: W, height: H, data } = g;
  const vals: number[] = [];
  for (let x = 0; x < W; x++) { vals.push(data[x]); if (H > 1) vals.push(data[(H - 1) * W + x]); }
  for (let y = 1; y < H - 1; y++) { vals.push(data[y * W]); if (W > 1) vals.push(data[y * W + W - 1]); }
  return vals.sort((a, b) => a - b);
}

/** Median of the border pixels: the paper's level. */
export function borderMedian(g: GrayImage): number {
  const v = borderValues(g);
  return v[v.length >> 1];
}

/** Paper level and its noise (1.4826 x median absolute deviation ~ one standard deviation), from the border. */
export function paperStats(g: GrayImage): { level: number; noise: number } {
  const v = borderValues(g);
  const level = v[v.length >> 1];
  const dev = v.map((x) => Math.abs(x - level)).sort((a, b) => a - b);
  return { level, noise: 1.4826 * dev[dev.length >> 1] };
}

/** The q-quantile (0..1) of the image's values. */
function quantile(g: GrayImage, q: number): number {
  const hist = new Float64Array(256);
  for (const v of g.data) hist[Math.min(255, Math.max(0, Math.round(v)))]++;
  const want = q * (g.data.length - 1);
  let seen = 0;
  for (let i = 0; i < 256; i++) { seen += hist[i]; if (seen > want) return i; }
  return 255;
}

/**
 * True when the ink is darker than the paper: the image's extreme dark tail reaches further from
 * the paper level (border median) than its bright tail. Works for any paper level and for ink
 * that covers only a small part of the picture (down to 0.2% of the pixels).
 */
export function inkIsDark(g: GrayImage): boolean {
  const paper = borderMedian(g);
  return paper - quantile(g, 0.002) > quantile(g, 0.998) - paper;
}

/** 255 - v: turns dark-on-light into MNIST's bright-on-dark. */
export function invert(g: GrayImage): GrayImage {
  const out = new Float32Array(g.data.length);
  for (let i = 0; i < out.length; i++) out[i] = 255 - g.data[i];
  return { width: g.width, height: g.height, data: out };
}

/**
 * Bright ink on a dark background -> ink on exact 0. The cut is Otsu's threshold, raised to at
 * least 3 noise deviations above the paper level (Otsu alone splits the paper's noise when the
 * ink is a small part of the picture). Pixels below it become 0; the rest are stretched so the
 * paper maps to 0 and the ink's 95th percentile to 255, keeping anti-aliased edges. Throws
 * NoInkError when ink and paper are too alike.
 */
export function suppressBackground(g: GrayImage): GrayImage {
  const paper = paperStats(g);
  const t = Math.max(otsuThreshold(g), Math.round(paper.level + 3 * paper.noise));
  // 95th percentile of the ink, from a histogram of the pixels above the cut.
  const hist = new Float64Array(256);
  let count = 0;
  for (const v of g.data) {
    const b = Math.min(255, Math.max(0, Math.round(v)));
    if (b > t) { hist[b]++; count++; }
  }
  if (count === 0) {
    // Nothing above the cut: either there is nothing at all, or the edge (the paper's sample) is
    // itself as varied as ink could be (noise, a picture split in dark and light halves).
    let lo = 255, hi = 0;
    for (const v of g.data) { if (v < lo) lo = v; if (v > hi) hi = v; }
    if (hi - lo < 1) throw new NoInkError('no ink found: the image is one flat colour');
    if (hi - lo < MIN_CONTRAST) {
      throw new NoInkError(`no ink found: nothing stands out from the background (contrast ${Math.round(hi - lo)} of 255)`);
    }
    throw new NoInkError(`no digit found: the picture's edge, which should be plain paper, varies by about ` +
      `${Math.min(255, Math.round(3 * paper.noise))} gray levels (noise, or not one digit on paper); crop it to one digit on plain paper`);
  }
  let hi = 255;
  for (let b = 0, seen = 0; b < 256; b++) { seen += hist[b]; if (seen > Math.floor(count * 0.95)) { hi = b; break; } }
  const bg = paper.level;
  if (hi - bg < MIN_CONTRAST) {
    throw new NoInkError(`no ink found: nothing stands out from the background (contrast ${Math.round(hi - bg)} of 255)`);
  }
  const out = new Float32Array(g.data.length);
  const k = 255 / (hi - bg);
  for (let i = 0; i < out.length; i++) {
    const v = g.data[i];
    out[i] = Math.round(v) > t ? Math.min(255, Math.max(0, (v - bg) * k)) : 0;
  }
  return { width: g.width, height: g.height, data: out };
}

/**
 * Drops specks: 8-connected groups of ink whose total ink is below `minFraction` of the largest
 * group's (dust, sensor noise, a stray dot), so they do not stretch the bounding box.
 */
export function removeSpecks(g: GrayImage, minFraction = 0.05): GrayImage {
  const { width: W, height: H, data } = g;
  const label = new Int32Array(W * H).fill(-1);
  const mass: number[] = [];
  const stack: number[] = [];
  for (let s = 0; s < W * H; s++) {
    if (data[s] === 0 || label[s] >= 0) continue;
    const id = mass.length;
    let m = 0;
    label[s] = id;
    stack.push(s);
    while (stack.length) {
      const p = stack.pop()!;
      m += data[p];
      const px = p % W, py = (p - px) / W;
      for (let dy = -1; dy <= 1; dy++) {
        const y = py + dy;
        if (y < 0 || y >= H) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const x = px + dx;
          if (x < 0 || x >= W) continue;
          const q = y * W + x;
          if (data[q] !== 0 && label[q] < 0) { label[q] = id; stack.push(q); }
        }
      }
    }
    mass.push(m);
  }
  const keepAbove = Math.max(0, ...mass) * minFraction;
  const out = new Float32Array(W * H);
  for (let i = 0; i < out.length; i++) if (label[i] >= 0 && mass[label[i]] >= keepAbove) out[i] = data[i];
  return { width: W, height: H, data: out };
}

/** Smallest box holding every non-zero pixel, or null for an all-zero image. */
export function boundingBox(g: GrayImage): Box | null {
  const { width: W, height: H, data } = g;
  let x0 = W, y0 = H, x1 = -1, y1 = -1;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if (data[y * W + x] !== 0) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? null : { x0, y0, x1, y1 };
}

/** The pixels inside an inclusive box. */
export function crop(g: GrayImage, b: Box): GrayImage {
  const w = b.x1 - b.x0 + 1, h = b.y1 - b.y0 + 1;
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    out.set(g.data.subarray((b.y0 + y) * g.width + b.x0, (b.y0 + y) * g.width + b.x0 + w), y * w);
  }
  return { width: w, height: h, data: out };
}

/**
 * Resizes so the longer side is `fit` pixels, keeping the aspect ratio. Each output pixel is the
 * area-weighted mean of the source pixels it covers (box filter with fractional edges): the
 * anti-aliased downscale MNIST used; upscaling becomes pixel replication with blended seams.
 */
export function scaleToFit(g: GrayImage, fit = FIT): GrayImage {
  const s = fit / Math.max(g.width, g.height);
  const ow = Math.max(1, Math.min(fit, Math.round(g.width * s)));
  const oh = Math.max(1, Math.min(fit, Math.round(g.height * s)));
  return resizeArea(g, ow, oh);
}

/** Area-averaging resize to exactly (ow, oh), separable: rows first, then columns. */
export function resizeArea(g: GrayImage, ow: number, oh: number): GrayImage {
  return { width: ow, height: oh, data: resizePlanes([g.data], 1, 0, g.width, g.height, ow, oh)[0] };
}

/**
 * Area-averages P interleaved planes (stride values per pixel, planes at offsets 0..P-1, the
 * first `composite` of them composited over white by the alpha at offset 3) from W x H to ow x oh.
 * One pass over the source: a big photo is read once, never copied at full size.
 */
function resizePlanes(src: ArrayLike<number>[] | Uint8Array, P: number, composite: number,
  W: number, H: number, ow: number, oh: number): Float32Array[] {
  const wx = axisWeights(W, ow), wy = axisWeights(H, oh);
  const tmp = Array.from({ length: P }, () => new Float32Array(ow * H));
  const planes = Array.isArray(src) ? src : null;
  const rgba = Array.isArray(src) ? null : src as Uint8Array;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < ow; x++) {
      const i0 = wx.start[x], n = wx.count[x], o = wx.offset[x];
      for (let p = 0; p < P; p++) {
        let acc = 0;
        for (let k = 0; k < n; k++) {
          const i = y * W + i0 + k;
          let v: number;
          if (planes) v = planes[p][i];
          else {
            const a = rgba![4 * i + 3] / 255;
            v = p < composite ? a * rgba![4 * i + p] + (1 - a) * 255 : rgba![4 * i + p];
          }
          acc += v * wx.weight[o + k];
        }
        tmp[p][y * ow + x] = acc;
      }
    }
  }
  const out = Array.from({ length: P }, () => new Float32Array(ow * oh));
  for (let y = 0; y < oh; y++) {
    const j0 = wy.start[y], n = wy.count[y], o = wy.offset[y];
    for (let k = 0; k < n; k++) {
      const w = wy.weight[o + k], row = (j0 + k) * ow;
      for (let p = 0; p < P; p++) {
        const t = tmp[p], d = out[p];
        for (let x = 0; x < ow; x++) d[y * ow + x] += t[row + x] * w;
      }
    }
  }
  return out;
}

/**
 * An RGBA image composited over white and area-averaged to (ow, oh), opaque. Used to bring a big
 * photo down to a working size before the per-pixel steps, and to draw the original.
 */
export function shrinkRgba(img: RgbaImage, ow: number, oh: number): RgbaImage {
  const chans = resizePlanes(img.data, 3, 3, img.width, img.height, ow, oh);
  const out = new Uint8Array(ow * oh * 4);
  for (let i = 0; i < ow * oh; i++) {
    for (let c = 0; c < 3; c++) out[4 * i + c] = Math.round(chans[c][i]);
    out[4 * i + 3] = 255;
  }
  return { width: ow, height: oh, data: out };
}

/** For each of n outputs, the run of source indices covering its share of N inputs and their weights (summing to 1). */
function axisWeights(N: number, n: number): { start: Int32Array; count: Int32Array; offset: Int32Array; weight: Float32Array } {
  const step = N / n;
  const start = new Int32Array(n), count = new Int32Array(n), offset = new Int32Array(n);
  const weight: number[] = [];
  for (let o = 0; o < n; o++) {
    const a = o * step, b = (o + 1) * step;
    let i = Math.floor(a);
    const end = Math.min(N, Math.ceil(b));
    // Skip a source pixel the interval only grazes (float round-off).
    while (i < end - 1 && Math.min(b, i + 1) - Math.max(a, i) <= 1e-9) i++;
    start[o] = i;
    offset[o] = weight.length;
    for (; i < end; i++) weight.push(Math.max(0, Math.min(b, i + 1) - Math.max(a, i)) / step);
    count[o] = weight.length - offset[o];
  }
  return { start, count, offset, weight: Float32Array.from(weight) };
}

/** Longest side the per-pixel steps work at; a digit needs 20 pixels, a bigger photo is shrunk first. */
export const WORK_SIDE = 800;

/** Centre of mass (x, y) in pixel-index coordinates, or null when there is no mass. */
export function centerOfMass(g: GrayImage): { x: number; y: number } | null {
  let m = 0, mx = 0, my = 0;
  for (let y = 0; y < g.height; y++) {
    for (let x = 0; x < g.width; x++) {
      const v = g.data[y * g.width + x];
      m += v; mx += v * x; my += v * y;
    }
  }
  return m > 0 ? { x: mx / m, y: my / m } : null;
}

/**
 * Places g in a size x size black frame, shifted by whole pixels so its centre of mass lands on
 * (size/2, size/2) in pixel-index coordinates (MNIST's test set averages (14.0, 14.0)); the
 * shift is clamped so nothing falls off the frame.
 */
export function centerByMass(g: GrayImage, size = FRAME): GrayImage {
  const c = centerOfMass(g) ?? { x: (g.width - 1) / 2, y: (g.height - 1) / 2 };
  const clamp = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  const ox = clamp(Math.round(size / 2 - c.x), size - g.width);
  const oy = clamp(Math.round(size / 2 - c.y), size - g.height);
  const out = new Float32Array(size * size);
  for (let y = 0; y < g.height; y++) {
    for (let x = 0; x < g.width; x++) out[(y + oy) * size + x + ox] = g.data[y * g.width + x];
  }
  return { width: size, height: size, data: out };
}

/** Rounds to u8, the form the training images have. */
export function toBytes(g: GrayImage): Uint8Array {
  const out = new Uint8Array(g.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.min(255, Math.max(0, Math.round(g.data[i])));
  return out;
}

/** x = u8 * scale + shift: exactly the normalization the checkpoint's training used. */
export function normalize(out: Float32Array, pixels: Uint8Array, scale: number, shift: number): Float32Array {
  for (let i = 0; i < pixels.length; i++) out[i] = pixels[i] * scale + shift;
  return out;
}

/** The whole recipe: any RGBA picture of one digit -> its 28x28 (throws NoInkError on a blank one). */
export function prepareDigit(img: RgbaImage): PreparedDigit {
  const s = WORK_SIDE / Math.max(img.width, img.height);
  if (s < 1) img = shrinkRgba(img, Math.max(1, Math.round(img.width * s)), Math.max(1, Math.round(img.height * s)));
  let g = toGray(img);
  const inverted = inkIsDark(g);
  if (inverted) g = invert(g);
  g = removeSpecks(suppressBackground(g));
  const box = boundingBox(g);
  if (!box) throw new NoInkError('no ink found: the image is blank');
  const fitted = scaleToFit(crop(g, box), FIT);
  return { pixels: toBytes(centerByMass(fitted, FRAME)), inverted, box, work: img };
}
