// Helpers for the hostile suites (test/hostile-*.test.ts): run a compiled CLI as a person does
// (dist/, built by `npm run build`) and read back its exit code, its stderr and its peak memory;
// and make hostile files (gzip and deflate bombs, zips that lie, pictures that lie) in a few
// milliseconds each, however large they claim or inflate to.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateRawSync, gzipSync, constants as Z } from 'node:zlib';
import jpeg from 'jpeg-js';
import { expect } from 'vitest';
import { projectRoot } from '../src/engine/root.js';

export const CLI = (name: 'train' | 'eval' | 'infer') => join(projectRoot(), 'dist', 'src', 'cli', `${name}.js`);

/** The peak memory every hostile case must stay under (the bound). */
export const MAX_RSS_MB = 400;

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
  /** Peak resident memory of the child in MiB (VmHWM at exit, else its maxRSS); NaN if it died by a signal. */
  rssMb: number;
}

/**
 * Runs a CLI in a child process. A preload script writes the child's own peak RSS at exit. onOut
 * sees stdout as it arrives (to send signals or close the pipe at the right moment).
 */
export function runCli(dir: string, cli: string, args: string[],
  opts: { onOut?: (text: string, child: ReturnType<typeof spawn>) => void; timeoutMs?: number } = {}): Promise<CliResult> {
  const preload = join(dir, 'rss-preload.cjs');
  const rssFile = join(dir, `rss-${Math.random().toString(36).slice(2)}.txt`);
  // VmHWM is the peak RSS of this process image alone; getrusage's maxRSS would also count the
  // parent (this test worker) because Linux keeps the high-water mark across fork and exec.
  writeFileSync(preload, `process.on('exit', () => {
  const fs = require('fs');
  let kb = process.resourceUsage().maxRSS;
  try { kb = Number(/VmHWM:\\s*(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]); } catch {}
  fs.writeFileSync(process.env.HOSTILE_RSS, String(kb));
});
`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', preload, cli, ...args],
      { env: { ...process.env, HOSTILE_RSS: rssFile }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    const guard = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 90_000);
    child.stdout!.on('data', (d) => { out += d; opts.onOut?.(out, child); });
    child.stdout!.on('error', () => { /* closed on purpose by a test */ });
    child.stderr!.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      let rssMb = NaN;
      try { rssMb = Number(readFileSync(rssFile, 'utf8')) / 1024; } catch { /* killed: no report */ }
      resolve({ code, signal, out, err, rssMb });
    });
  });
}

/** Exit code `code`, exactly one stderr line starting with `error:` (or `prefix`) matching `re`, no stack. */
export function expectOneLine(r: CliResult, code: number, re: RegExp, prefix = /^error: /): void {
  expect(r.code, r.err).toBe(code);
  const lines = r.err.trim().split('\n');
  expect(lines, r.err).toHaveLength(1);
  expect(lines[0]).toMatch(prefix);
  expect(lines[0]).toMatch(re);
  expect(r.err).not.toMatch(/^\s+at /m);
}

/** Peak memory reported and under `mb`. */
export function expectRssBelow(r: CliResult, mb: number, what = expect.getState().currentTestName): void {
  expect(Number.isFinite(r.rssMb), 'the child reported its peak memory').toBe(true);
  console.log(`peak RSS ${r.rssMb.toFixed(0)} MiB (bound ${mb}): ${what}`);
  expect(r.rssMb, `peak RSS ${r.rssMb.toFixed(0)} MiB`).toBeLessThan(mb);
}

/**
 * Raw deflate data that inflates to `mib` MiB of zeros, built from one compressed MiB repeated:
 * each copy ends on a sync flush (byte-aligned, not final), and zeros only refer back to zeros,
 * so the copies chain into one valid stream. About 1 KB per MiB.
 */
export function deflateZeros(mib: number): Buffer {
  const piece = deflateRawSync(Buffer.alloc(1 << 20), { finishFlush: Z.Z_SYNC_FLUSH });
  const last = deflateRawSync(Buffer.alloc(0)); // an empty final block
  return Buffer.concat([...Array.from({ length: mib }, () => piece), last]);
}

/** A gzip file: `head` then `mib` MiB of zeros, as one member whose trailer says what the tester wants. */
export function gzipBomb(head: Uint8Array, mib: number, trailer?: { crc: number; size: number }): Buffer {
  const first = gzipSync(head); // a member of its own: gunzip reads members one after another
  const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
  const t = Buffer.alloc(8);
  t.writeUInt32LE(trailer?.crc ?? 0, 0);
  t.writeUInt32LE(trailer?.size ?? (mib * 2 ** 20) >>> 0, 4);
  return Buffer.concat([first, header, deflateZeros(mib), t]);
}

/** One zip member as a tester may forge it: any stated sizes and CRC over the given data. */
export interface ZipEntry { name: string; data: Buffer; method: 0 | 8; crc: number; originalSize: number }

/** A zip archive (local headers, central directory, end record) exactly as the entries state. */
export function forgeZip(entries: ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0); lh.writeUInt16LE(20, 4); lh.writeUInt16LE(e.method, 8);
    lh.writeUInt32LE(e.crc >>> 0, 14); lh.writeUInt32LE(e.data.length, 18); lh.writeUInt32LE(e.originalSize, 22);
    lh.writeUInt16LE(name.length, 26);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0); ch.writeUInt16LE(20, 4); ch.writeUInt16LE(20, 6); ch.writeUInt16LE(e.method, 10);
    ch.writeUInt32LE(e.crc >>> 0, 16); ch.writeUInt32LE(e.data.length, 20); ch.writeUInt32LE(e.originalSize, 24);
    ch.writeUInt16LE(name.length, 28); ch.writeUInt32LE(offset, 42);
    locals.push(lh, name, e.data);
    centrals.push(ch, name);
    offset += 30 + name.length + e.data.length;
  }
  const dir = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(entries.length, 8); end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(dir.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dir, end]);
}

/** A member holding `data` honestly: deflated, its CRC and size true. */
export function honestEntry(name: string, data: Uint8Array): ZipEntry {
  return { name, data: deflateRawSync(data), method: 8, crc: crc32(data) >>> 0, originalSize: data.length };
}

/** A PNG chunk: length, type, data, CRC. */
export function pngChunk(type: string, data: Uint8Array): Buffer {
  const b = Buffer.alloc(12 + data.length);
  b.writeUInt32BE(data.length, 0);
  b.write(type, 4, 'latin1');
  Buffer.from(data).copy(b, 8);
  b.writeUInt32BE(crc32(b.subarray(4, 8 + data.length)) >>> 0, 8 + data.length);
  return b;
}

/**
 * A valid baseline JPEG of W x H flat mid-gray pixels, written in milliseconds at any size: the
 * header of a 16x16 one that jpeg-js encodes (standard Huffman tables, 3 components), with the
 * size and the luma sampling patched, then scan data in which every 8x8 block has DC difference 0
 * and no AC coefficient. Each block is then the DC code for 0 and the end-of-block code: for luma
 * '00' + '1010', for chroma '00' + '00'. 4:4:4 MCUs (Y Cb Cr) take 14 bits, so 4 of them are 7
 * bytes; 4:2:0 MCUs (4 Y, Cb, Cr) take 32 bits. W and H must be multiples of 16.
 */
export function flatJpeg(W: number, H: number, sampling: '444' | '420'): Buffer {
  const small = Buffer.from(jpeg.encode({ width: 16, height: 16, data: new Uint8Array(16 * 16 * 4).fill(128) }, 90).data);
  const sof = small.indexOf(Buffer.from([0xff, 0xc0])), sos = small.indexOf(Buffer.from([0xff, 0xda]));
  const head = Buffer.from(small.subarray(0, sos + 2 + small.readUInt16BE(sos + 2)));
  head.writeUInt16BE(H, sof + 5);
  head.writeUInt16BE(W, sof + 7);
  let unit: number[], units: number;
  if (sampling === '420') {
    head[sof + 11] = 0x22; // the first component (Y): 2x2
    unit = [0x28, 0xa2, 0x8a, 0x00];
    units = (W / 16) * (H / 16);
  } else {
    unit = [0x28, 0x00, 0xa0, 0x02, 0x80, 0x0a, 0x00];
    units = (W / 8) * (H / 8) / 4;
  }
  const scan = Buffer.alloc(units * unit.length);
  for (let i = 0; i < scan.length; i += unit.length) scan.set(unit, i);
  return Buffer.concat([head, scan, Buffer.from([0xff, 0xd9])]);
}
