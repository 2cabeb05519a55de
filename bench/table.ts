// Formatting: the verification lines, the timing table (one row per case and backend, printed as
// it is measured) and the target checks.
import type { PeerRow, Row } from './types.js';

/** Seconds as us / ms / s with three significant digits. */
export function fmtTime(s: number | undefined): string {
  if (s === undefined || !Number.isFinite(s)) return '-';
  if (s < 1e-3) return `${(s * 1e6).toPrecision(3)} us`;
  if (s < 1) return `${(s * 1e3).toPrecision(3)} ms`;
  return `${s.toPrecision(3)} s`;
}

const fmtNum = (x: number | undefined, digits = 1) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits));
const fmtRatio = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '-' : `${x >= 100 ? x.toFixed(0) : x.toFixed(1)}x`);

/** `OK      wasm-simd     gemm nn 128x784x128    max |diff| 1.2e-5` */
export function verifyLine(r: Row): string {
  const status = { ok: 'OK', 'NOT OK': 'NOT OK', missing: 'missing', skipped: 'skipped', error: 'ERROR' }[r.status];
  const tail = r.maxDiff !== undefined ? `max |diff| ${r.maxDiff.toExponential(1)}` : (r.note ?? '');
  return `${status.padEnd(8)}${r.backend.padEnd(14)}${r.case.padEnd(44)}${tail}`;
}

const COLS: [string, number][] = [
  ['case', 44], ['backend', 13], ['median', 10], ['min', 10], ['max', 10], ['GFLOP/s', 8], ['GB/s', 6], ['vs ts-ref', 10], ['vs ts-fast', 10],
];

export function tableHeader(): string {
  const h = COLS.map(([n, w], i) => (i < 2 ? n.padEnd(w) : n.padStart(w))).join(' ');
  return `${h}\n${'-'.repeat(h.length)}`;
}

/** One table row; rows that were not timed say why in place of the numbers. */
export function tableRow(r: Row, showCase: boolean): string {
  const name = (showCase ? r.case : '').padEnd(44);
  if (!r.timing) {
    const why = r.status === 'ok' ? (r.note ?? 'not timed') : `${r.status}${r.note ? `: ${r.note}` : ''}`;
    return `${name} ${r.backend.padEnd(13)} ${why}`;
  }
  const t = r.timing;
  const cells = [fmtTime(t.median), fmtTime(t.min), fmtTime(t.max), fmtNum(r.gflops), fmtNum(r.gbps), fmtRatio(r.vsRef), fmtRatio(r.vsFast)];
  return `${name} ${r.backend.padEnd(13)} ${cells.map((c, i) => c.padStart(COLS[i + 2][1])).join(' ')}`;
}

/** The peers' rows (bench/peers.ts), whatever fields they carry. */
export function peerTable(rows: PeerRow[]): string {
  const lines = rows.map((p) => `${p.case.padEnd(44)} ${p.peer.padEnd(13)} ${fmtTime(p.median).padStart(10)} ` +
    `${fmtTime(p.min).padStart(10)} ${fmtTime(p.max).padStart(10)} ${fmtNum(p.gflops).padStart(8)}` +
    (p.note ? `  ${p.note}` : ''));
  return [tableHeader().split('\n').map((l) => l.slice(0, 99)).join('\n'), ...lines].join('\n');
}
