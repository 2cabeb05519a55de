// What a run leaves for a person: the confusion matrix and per-class accuracy as terminal text,
// the metrics as CSV/JSON, loss and accuracy curves and the confusion matrix as SVG (plain text,
// written by hand), and a PNG grid of misclassified test images labelled "true>predicted".
import { PNG } from 'pngjs';
import { writeFileAtomic } from '../io/atomic.js';
import type { EpochMetrics } from './trainer.js';

/** conf[t][p] = rows of true class t predicted as p. */
export function confusionMatrix(labels: ArrayLike<number>, preds: ArrayLike<number>, classes: number): number[][] {
  const conf = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < labels.length; i++) conf[labels[i]][preds[i]]++;
  return conf;
}

/** Per-class accuracy table and the confusion matrix, ready to print. */
export function confusionText(conf: number[][], names: string[]): string {
  const C = conf.length;
  const w = Math.max(5, ...conf.flat().map((v) => String(v).length + 1), ...names.map((n) => n.length + 1));
  const pad = (s: string | number, n = w) => String(s).padStart(n);
  const lines: string[] = ['Per-class accuracy:'];
  for (let t = 0; t < C; t++) {
    const total = conf[t].reduce((a, b) => a + b, 0);
    const pct = total ? (100 * conf[t][t] / total).toFixed(1) : '  -';
    lines.push(`  ${pad(names[t], w)}  ${pct.padStart(5)}%  (${conf[t][t]}/${total})`);
  }
  lines.push('Confusion matrix (rows: true class, columns: predicted):');
  lines.push(`  ${pad('', w)}${names.map((n) => pad(n)).join('')}`);
  for (let t = 0; t < C; t++) lines.push(`  ${pad(names[t])}${conf[t].map((v) => pad(v)).join('')}`);
  return lines.join('\n');
}

const CSV_COLUMNS: (keyof EpochMetrics)[] = ['epoch', 'step', 'lr', 'train_loss', 'train_acc', 'val_loss', 'val_acc',
  'test_loss', 'test_acc', 'seconds', 'samples_per_s'];

/** metrics.csv: one row per epoch, empty cells where not evaluated. */
export function metricsCsv(history: EpochMetrics[]): string {
  const rows = history.map((m) => CSV_COLUMNS.map((k) => (m[k] === null ? '' : String(m[k]))).join(','));
  return [CSV_COLUMNS.join(','), ...rows].join('\n') + '\n';
}

interface Series { name: string; color: string; points: [number, number][] }

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A line chart as an SVG document: axes with ticks, one polyline per series, a legend. */
export function lineChartSvg(title: string, xLabel: string, yLabel: string, series: Series[]): string {
  const W = 640, H = 400, L = 70, R = 20, T = 40, B = 50;
  const pts = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y));
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  let [x0, x1] = [Math.min(...xs, 1), Math.max(...xs, 1)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (!Number.isFinite(y0)) [y0, y1] = [0, 1];
  if (y1 - y0 < 1e-9) { y0 -= 0.5; y1 += 0.5; }
  const padY = (y1 - y0) * 0.05; y0 -= padY; y1 += padY;
  if (x1 === x0) x1 = x0 + 1;
  const sx = (x: number) => L + (x - x0) / (x1 - x0) * (W - L - R);
  const sy = (y: number) => H - B - (y - y0) / (y1 - y0) * (H - T - B);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>`,
  ];
  for (const y of niceTicks(y0, y1, 6)) {
    out.push(`<line x1="${L}" x2="${W - R}" y1="${sy(y).toFixed(1)}" y2="${sy(y).toFixed(1)}" stroke="#eee"/>`);
    out.push(`<text x="${L - 6}" y="${(sy(y) + 4).toFixed(1)}" text-anchor="end">${fmtTick(y)}</text>`);
  }
  // Epochs are whole numbers: never a tick at 1.2.
  for (const x of niceTicks(x0, x1, 8).filter((v) => Number.isInteger(v))) {
    out.push(`<text x="${sx(x).toFixed(1)}" y="${H - B + 18}" text-anchor="middle">${fmtTick(x)}</text>`);
  }
  out.push(`<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="black"/>`);
  out.push(`<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="black"/>`);
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">${esc(xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
  series.forEach((s, k) => {
    const p = s.points.filter(([, y]) => Number.isFinite(y));
    if (p.length === 0) return;
    const d = p.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${d}"/>`);
    for (const [x, y] of p.length <= 60 ? p : []) out.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
    const ly = T + 8 + k * 16;
    out.push(`<line x1="${W - R - 130}" x2="${W - R - 110}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"/>`);
    out.push(`<text x="${W - R - 104}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Round tick values (steps of 1, 2 or 5 times a power of ten) covering [lo, hi]. */
function niceTicks(lo: number, hi: number, want: number): number[] {
  const raw = (hi - lo) / Math.max(1, want - 1);
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function fmtTick(v: number): string {
  const a = Math.abs(v);
  return a !== 0 && (a < 0.01 || a >= 1e5) ? v.toExponential(1) : Number(v.toPrecision(3)).toString();
}

/** loss.svg and accuracy.svg contents from the per-epoch history. */
export function curvesSvg(history: EpochMetrics[]): { loss: string; accuracy: string } {
  const pick = (k: keyof EpochMetrics, scale = 1): [number, number][] =>
    history.filter((m) => m[k] !== null).map((m) => [m.epoch, (m[k] as number) * scale]);
  const mk = (kind: 'loss' | 'acc', scale: number) => [
    { name: 'train', color: '#1f77b4', points: pick(`train_${kind}`, scale) },
    { name: 'validation', color: '#2ca02c', points: pick(`val_${kind}`, scale) },
    { name: 'test', color: '#d62728', points: pick(`test_${kind}`, scale) },
  ].filter((s) => s.points.length > 0);
  return {
    loss: lineChartSvg('Loss (cross-entropy, mean per sample)', 'epoch', 'loss', mk('loss', 1)),
    accuracy: lineChartSvg('Accuracy', 'epoch', 'accuracy (%)', mk('acc', 100)),
  };
}

/** The confusion matrix as an SVG heat map (cells shaded by the row's fraction, counts written). */
export function confusionSvg(conf: number[][], names: string[], title: string): string {
  const C = conf.length;
  const cell = Math.max(28, Math.min(48, Math.floor(480 / C)));
  const L = 90, T = 70;
  const W = L + C * cell + 20, H = T + C * cell + 20;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<text x="${L + C * cell / 2}" y="${T - 26}" text-anchor="middle">predicted</text>`,
    `<text transform="translate(${L - 52} ${T + C * cell / 2}) rotate(-90)" text-anchor="middle">true</text>`,
  ];
  for (let t = 0; t < C; t++) {
    const total = conf[t].reduce((a, b) => a + b, 0) || 1;
    out.push(`<text x="${L - 8}" y="${T + t * cell + cell / 2 + 4}" text-anchor="end">${esc(names[t])}</text>`);
    out.push(`<text x="${L + t * cell + cell / 2}" y="${T - 8}" text-anchor="middle">${esc(names[t])}</text>`);
    for (let p = 0; p < C; p++) {
      const f = conf[t][p] / total;
      // Diagonal in blue, errors in red; intensity follows the fraction of the row.
      const shade = Math.round(255 * (1 - Math.min(1, t === p ? f : Math.sqrt(f) * 2)));
      const fill = t === p ? `rgb(${shade},${shade},255)` : `rgb(255,${shade},${shade})`;
      const x = L + p * cell, y = T + t * cell;
      out.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${fill}" stroke="#ccc"/>`);
      if (conf[t][p] > 0) {
        const dark = t === p ? f > 0.5 : Math.sqrt(f) * 2 > 0.6;
        out.push(`<text x="${x + cell / 2}" y="${y + cell / 2 + 4}" text-anchor="middle" fill="${dark ? 'white' : 'black'}">${conf[t][p]}</text>`);
      }
    }
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

// 3x5 bitmap glyphs for the labels under each image: digits and '>'.
const GLYPHS: Record<string, string> = {
  0: '111101101101111', 1: '010110010010111', 2: '111001111100111', 3: '111001111001111',
  4: '101101111001001', 5: '111100111001111', 6: '111100111101111', 7: '111001001001001',
  8: '111101111101111', 9: '111101111001111', '>': '100010001010100',
};

/**
 * A PNG grid of up to `max` misclassified images (u8, (n, H*W)), each labelled with its true class
 * (green) '>' predicted class (red) as class indices.
 */
export function misclassifiedPng(images: Uint8Array, labels: ArrayLike<number>, preds: ArrayLike<number>,
  n: number, H: number, W: number, max = 100, C = 1): { png: Uint8Array; count: number; shown: number } {
  const wrong: number[] = [];
  for (let i = 0; i < n; i++) if (labels[i] !== preds[i]) wrong.push(i);
  const shown = Math.min(max, wrong.length);
  const zoom = 2, cols = Math.max(1, Math.min(10, shown)), rows = Math.max(1, Math.ceil(shown / cols));
  const cw = Math.max(W * zoom, 40) + 6, ch = H * zoom + 18;
  const png = new PNG({ width: cols * cw, height: rows * ch });
  png.data.fill(255);
  const put = (x: number, y: number, r: number, g: number, b: number) => {
    const o = (y * png.width + x) * 4;
    png.data[o] = r; png.data[o + 1] = g; png.data[o + 2] = b; png.data[o + 3] = 255;
  };
  const text = (s: string, x: number, y: number, rgb: [number, number, number]) => {
    for (const ch of s) {
      const g = GLYPHS[ch];
      if (g) for (let k = 0; k < 15; k++) if (g[k] === '1') {
        for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) put(x + (k % 3) * 2 + dx, y + Math.floor(k / 3) * 2 + dy, ...rgb);
      }
      x += 8;
    }
  };
  for (let k = 0; k < shown; k++) {
    const i = wrong[k];
    const ox = (k % cols) * cw + 3, oy = Math.floor(k / cols) * ch + 2;
    for (let y = 0; y < H * zoom; y++) {
      for (let x = 0; x < W * zoom; x++) {
        const at = i * C * H * W + Math.floor(y / zoom) * W + Math.floor(x / zoom);
        // Grey: ink dark on white, like the digits were written. Colour: the picture as it is.
        if (C === 3) put(ox + x, oy + y, images[at], images[at + H * W], images[at + 2 * H * W]);
        else { const v = 255 - images[at]; put(ox + x, oy + y, v, v, v); }
      }
    }
    const t = String(labels[i]), p = String(preds[i]);
    text(t, ox, oy + H * zoom + 4, [0, 140, 0]);
    text('>', ox + 8 * t.length, oy + H * zoom + 4, [90, 90, 90]);
    text(p, ox + 8 * (t.length + 1), oy + H * zoom + 4, [200, 0, 0]);
  }
  return { png: new Uint8Array(PNG.sync.write(png)), count: wrong.length, shown };
}

/** Writes a text file atomically. */
export function writeText(path: string, text: string): void {
  writeFileAtomic(path, text);
}
