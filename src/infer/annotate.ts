// The picture written beside each input: the original (fitted), the 28x28 the model saw (enlarged,
// pixelated), the prediction in large type with its confidence, and a bar per class. Pixels are
// written straight into an RGB canvas laid out as PNG scanlines (canvas.ts); text comes from a
// pre-rendered glyph atlas (glyphs.ts), and pureimage with its TTF fonts (0.2 s to start) is
// loaded only for characters outside it.
import { join } from 'node:path';
import { projectRoot } from '../engine/root.js';
import { encodePng, fillRect, makeCanvas, type RgbCanvas } from './canvas.js';
import type { RgbaImage } from './decode.js';
import type { Classification } from './model.js';
import { shrinkRgba } from './prepare.js';
import { canDraw, drawText, FACES, textWidth, type FaceName } from './glyphs.js';

/** What one annotated image shows. */
export interface AnnotateInput {
  title: string;
  /** The picture to show (may be a shrunk copy) and the original's size. */
  original: RgbaImage;
  originalSize?: { width: number; height: number };
  prepared: Uint8Array; // 28x28, ink 255
  result: Classification;
  classNames: string[];
  /** Small print at the bottom (model file, what preparation did). */
  note?: string;
}

/** Below this confidence the answer is drawn in amber and called unsure. */
export const UNSURE_BELOW = 0.8;

// Layout (pixels) and palette.
const M = 28;             // outer margin
const PANEL = 252;        // side of the two image panels (28 * 9)
const GAP = 28;
const CHART_W = 340;
const HEADER = 58;
const CAPTION = 30;
const W = M + PANEL + GAP + PANEL + GAP + CHART_W + M;
const H = HEADER + CAPTION + PANEL + 56;
const C = {
  bg: [248, 250, 252], letterbox: [235, 239, 244], border: [226, 232, 240], text: '#0f172a', muted: '#64748b',
  accent: '#16a34a', accentLow: '#d97706', bar: '#cbd5e1', track: '#f1f5f9',
};

type PImageModule = typeof import('pureimage');
let pimage: Promise<PImageModule> | null = null;

/** pureimage with the DejaVu fonts registered (once per process): only for text the atlas lacks. */
function loadPureimage(): Promise<PImageModule> {
  pimage ??= (async () => {
    const P = await import('pureimage');
    const dir = join(projectRoot(), 'node_modules', 'dejavu-fonts-ttf', 'ttf');
    P.registerFont(join(dir, 'DejaVuSans-Bold.ttf'), 'DejaVuBold').loadSync();
    P.registerFont(join(dir, 'DejaVuSans.ttf'), 'DejaVu').loadSync();
    return P;
  })();
  return pimage;
}

/** Draws text from the glyph atlas, or with pureimage when a character is not in it. */
async function text(c: RgbCanvas, face: FaceName, s: string, x: number, y: number, color: string): Promise<number> {
  if (canDraw(s)) {
    drawText(c, face, s, x, y, hex(color));
    return textWidth(face, s);
  }
  // pureimage draws into RGBA: an opaque copy of the canvas, and its colours back afterwards.
  const P = await loadPureimage();
  const bmp = new P.Bitmap(W, H);
  transfer(c, bmp.data, true);
  const ctx = bmp.getContext('2d');
  const [file, size] = FACES[face];
  ctx.font = `${size}px ${file.includes('Bold') ? 'DejaVuBold' : 'DejaVu'}`;
  ctx.fillStyle = color;
  ctx.fillText(s, x, y);
  transfer(c, bmp.data, false);
  return ctx.measureText(s).width;
}

/** Copies the canvas into an opaque RGBA buffer of its size (toRgba), or the buffer's colours back. */
function transfer(c: RgbCanvas, rgba: Uint8Array, toRgba: boolean): void {
  for (let y = 0, i = 0; y < c.height; y++) {
    for (let o = y * c.stride + 1; o < (y + 1) * c.stride; o += 3, i += 4) {
      for (let k = 0; k < 3; k++) {
        if (toRgba) rgba[i + k] = c.data[o + k];
        else c.data[o + k] = rgba[i + k];
      }
      rgba[i + 3] = 255;
    }
  }
}

/** Renders the annotated picture and returns it as PNG bytes. */
export async function renderAnnotation(a: AnnotateInput): Promise<Buffer> {
  const px = makeCanvas(W, H, C.bg);

  // Header: the file name.
  await text(px, 'title', ellipsize(a.title, 60), M, 38, C.text);

  // Panel 1: the original, fitted into the square on a light letterbox.
  const y0 = HEADER + CAPTION;
  const x1 = M, x2 = M + PANEL + GAP, x3 = x2 + PANEL + GAP;
  const size = a.originalSize ?? a.original;
  await text(px, 'text', `Input  ${size.width}\u00d7${size.height}`, x1, y0 - 10, C.muted);
  await text(px, 'text', 'What the model saw  28\u00d728', x2, y0 - 10, C.muted);
  fillRect(px, x1, y0, PANEL, PANEL, C.letterbox);
  drawFitted(px, a.original, x1, y0, PANEL);

  // Panel 2: the 28x28, each pixel a 9x9 block, MNIST's white-on-black.
  frame(px, x2, y0, PANEL, PANEL);
  const cell = PANEL / 28;
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const v = a.prepared[y * 28 + x];
      fillRect(px, x2 + x * cell, y0 + y * cell, cell, cell, [v, v, v]);
    }
  }

  // Panel 3: the answer in large type, then one bar per class.
  const r = a.result;
  const sure = r.confidence >= UNSURE_BELOW;
  const accent = sure ? C.accent : C.accentLow;
  const labelW = await text(px, 'big', ellipsize(r.label, 4), x3, y0 + 62, accent);
  await text(px, 'pct', pct(r.confidence), x3 + labelW + 18, y0 + 34, accent);
  await text(px, 'text', sure ? 'confidence' : 'low confidence: unsure', x3 + labelW + 19, y0 + 58, C.muted);

  const names = a.classNames.length === r.probs.length ? a.classNames : r.probs.map((_, i) => String(i));
  const top = y0 + 84;
  const rowH = Math.min(17, Math.floor((PANEL - 84 + 4) / names.length));
  const barX = x3 + 26, barW = CHART_W - 26 - 64;
  for (let i = 0; i < names.length; i++) {
    const y = top + i * rowH;
    const win = i === r.index;
    const h = Math.max(3, rowH - 5);
    fillRect(px, barX, y + 2, barW, h, hex(C.track));
    fillRect(px, barX, y + 2, Math.max(1, Math.round(barW * r.probs[i])), h, hex(win ? accent : C.bar));
    if (rowH >= 10) {
      await text(px, win ? 'bold' : 'text', ellipsize(names[i], 3), x3, y + rowH - 4, win ? C.text : C.muted);
      await text(px, win ? 'bold' : 'text', pct(r.probs[i]), barX + barW + 8, y + rowH - 4, win ? C.text : C.muted);
    }
  }

  // Footer: the top three in words, and how the picture was read.
  const top3 = 'top 3:  ' + r.top.map((t) => `${t.label} ${pct(t.p)}`).join('   ');
  await text(px, 'text', a.note ? `${top3}     \u00b7     ${a.note}` : top3, M, H - 18, C.muted);

  return encodePng(px);
}

/** 98.6% / 0.3% / <0.1%: readable at a glance. */
export function pct(p: number): string {
  if (p >= 0.9995) return '100%';
  if (p < 0.001) return '<0.1%';
  return `${(p * 100).toFixed(p >= 0.1 ? 1 : 1)}%`;
}

function ellipsize(s: string, n: number): string {
  return s.length <= n ? s : s.slice(0, n - 1) + '\u2026';
}

function hex(s: string): number[] {
  const v = parseInt(s.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

/** A 1-pixel border just outside the box. */
function frame(c: RgbCanvas, x: number, y: number, w: number, h: number): void {
  fillRect(c, x - 1, y - 1, w + 2, h + 2, C.border);
}

/** The original composited over white, area-averaged (or pixel-replicated) to fit a side x side square, centred. */
function drawFitted(c: RgbCanvas, img: RgbaImage, x: number, y: number, side: number): void {
  const s = Math.min(side / img.width, side / img.height);
  const ow = Math.max(1, Math.round(img.width * s)), oh = Math.max(1, Math.round(img.height * s));
  const ox = x + ((side - ow) >> 1), oy = y + ((side - oh) >> 1);
  frame(c, ox, oy, ow, oh);
  // Shrinking averages areas; enlarging repeats pixels, so a small image stays crisp.
  const fit = s <= 1 ? shrinkRgba(img, ow, oh) : null;
  let prevRow = -1;
  for (let j = 0; j < oh; j++) {
    const row = (oy + j) * c.stride + 1 + 3 * ox;
    const sy = Math.min(img.height - 1, Math.floor(j / s));
    if (!fit && sy === prevRow) { // an enlarged row repeats the one above it
      c.data.copyWithin(row, row - c.stride, row - c.stride + 3 * ow);
      continue;
    }
    prevRow = sy;
    for (let i = 0; i < ow; i++) {
      const o = row + 3 * i;
      if (fit) {
        const f = (j * ow + i) * 4;
        c.data[o] = fit.data[f]; c.data[o + 1] = fit.data[f + 1]; c.data[o + 2] = fit.data[f + 2];
      } else {
        const f = (sy * img.width + Math.min(img.width - 1, Math.floor(i / s))) * 4;
        const a = img.data[f + 3] / 255;
        for (let k = 0; k < 3; k++) c.data[o + k] = Math.round(a * img.data[f + k] + (1 - a) * 255);
      }
    }
  }
}
