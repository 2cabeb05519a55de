// Text for the annotated pictures without parsing a font on every run. Parsing one DejaVu TTF
// with pureimage's opentype.js costs 60-90 ms and anti-aliased glyph filling as much again, which
// alone would eat the 0.5 s budget of `npm run infer`. So the glyphs of the few faces the picture
// uses are rendered once by pureimage itself into alpha masks (an atlas, models/glyphs.bin,
// deflated), and drawing text is blending those masks. Text with a character outside the atlas
// is drawn by pureimage (loaded lazily then). Rebuild the atlas after changing FACES or CHARS:
//   node dist/src/infer/glyphs.js --build
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { deflateSync, inflateSync } from 'node:zlib';
import { projectRoot } from '../engine/root.js';
import type { RgbCanvas } from './canvas.js';

/** The faces the annotation uses: name -> [TTF file, pixel size]. */
export const FACES = {
  big: ['DejaVuSans-Bold.ttf', 84],
  pct: ['DejaVuSans-Bold.ttf', 30],
  title: ['DejaVuSans-Bold.ttf', 22],
  bold: ['DejaVuSans-Bold.ttf', 14],
  text: ['DejaVuSans.ttf', 14],
} as const;
export type FaceName = keyof typeof FACES;

/** Printable ASCII plus the few symbols the picture uses. */
export const CHARS = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('') + '\u00d7\u00b7\u2026';

interface Glyph { advance: number; left: number; top: number; w: number; h: number; alpha: Uint8Array }
type Face = Map<string, Glyph>;

const ATLAS_FILE = () => join(projectRoot(), 'models', 'glyphs.bin');
let atlas: Map<string, Face> | null = null;

/** The shipped atlas (read once per process). */
export function loadAtlas(): Map<string, Face> {
  if (atlas) return atlas;
  const raw = inflateSync(readFileSync(ATLAS_FILE()));
  const headLen = raw.readUInt32LE(0);
  const head = JSON.parse(raw.subarray(4, 4 + headLen).toString('utf8')) as
    Record<string, [string, number, number, number, number, number, number][]>;
  let off = 4 + headLen;
  atlas = new Map();
  for (const [face, glyphs] of Object.entries(head)) {
    const m: Face = new Map();
    for (const [ch, advance, left, top, w, h] of glyphs) {
      m.set(ch, { advance, left, top, w, h, alpha: raw.subarray(off, off + w * h) });
      off += w * h;
    }
    atlas.set(face, m);
  }
  return atlas;
}

/** Whether every character of text is in the atlas. */
export function canDraw(text: string): boolean {
  for (const ch of text) if (!CHARS.includes(ch)) return false;
  return true;
}

/** Width in pixels of text in a face (atlas characters only). */
export function textWidth(face: FaceName, text: string): number {
  const f = loadAtlas().get(face)!;
  let w = 0;
  for (const ch of text) w += f.get(ch)?.advance ?? 0;
  return Math.round(w);
}

/** Blends text into a canvas with its baseline at y, starting at x. */
export function drawText(c: RgbCanvas, face: FaceName, text: string, x: number, y: number, rgb: readonly number[]): void {
  const f = loadAtlas().get(face)!;
  const px = c.data;
  let pen = x;
  for (const ch of text) {
    const g = f.get(ch);
    if (!g) continue;
    const gx = Math.round(pen) + g.left, gy = y - g.top;
    for (let j = 0; j < g.h; j++) {
      const cy = gy + j;
      if (cy < 0 || cy >= c.height) continue;
      for (let i = 0; i < g.w; i++) {
        const cx = gx + i;
        const a = g.alpha[j * g.w + i];
        if (a === 0 || cx < 0 || cx >= c.width) continue;
        const o = cy * c.stride + 1 + 3 * cx;
        const t = a / 255;
        for (let k = 0; k < 3; k++) px[o + k] = Math.round(px[o + k] * (1 - t) + rgb[k] * t);
      }
    }
    pen += g.advance;
  }
}

/** Renders every face's glyphs with pureimage into the atlas bytes (deflated). */
export async function buildAtlas(): Promise<Buffer> {
  const P = await import('pureimage');
  const dir = join(projectRoot(), 'node_modules', 'dejavu-fonts-ttf', 'ttf');
  const head: Record<string, [string, number, number, number, number, number, number][]> = {};
  const blobs: Uint8Array[] = [];
  for (const [name, [file, size]] of Object.entries(FACES)) {
    const family = `atlas-${file}`;
    P.registerFont(join(dir, file), family).loadSync();
    const S = size * 2;
    const list: [string, number, number, number, number, number, number][] = [];
    for (const ch of CHARS) {
      const img = P.make(S, S);
      const ctx = img.getContext('2d');
      ctx.fillStyle = '#000000';
      ctx.fillRect(0, 0, S, S);
      ctx.fillStyle = '#ffffff';
      ctx.font = `${size}px ${family}`;
      const ox = Math.round(size / 2), base = Math.round(size * 1.4);
      ctx.fillText(ch, ox, base);
      const advance = ctx.measureText(ch).width;
      // Tight box of the rendered coverage (red channel = alpha, white on black).
      let x0 = S, y0 = S, x1 = -1, y1 = -1;
      for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) {
        if (img.data[(y * S + x) * 4] > 0) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
      }
      const w = x1 < 0 ? 0 : x1 - x0 + 1, h = x1 < 0 ? 0 : y1 - y0 + 1;
      const alpha = new Uint8Array(w * h);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) alpha[y * w + x] = img.data[((y0 + y) * S + x0 + x) * 4];
      list.push([ch, Math.round(advance * 100) / 100, x1 < 0 ? 0 : x0 - ox, x1 < 0 ? 0 : base - y0, w, h, 0]);
      blobs.push(alpha);
    }
    head[name] = list;
  }
  const headBytes = Buffer.from(JSON.stringify(head), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(headBytes.length, 0);
  return deflateSync(Buffer.concat([len, headBytes, ...blobs]), { level: 9 });
}

// `node dist/src/infer/glyphs.js --build` writes models/glyphs.bin.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && process.argv.includes('--build')) {
  const { writeFileAtomic } = await import('../io/atomic.js');
  const bytes = await buildAtlas();
  writeFileAtomic(ATLAS_FILE(), bytes);
  console.log(`wrote ${ATLAS_FILE()} (${bytes.length} bytes)`);
}
