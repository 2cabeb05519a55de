// CSV datasets in the seed project's layout (the Kaggle "Digit Recognizer" / mnist_train.csv
// layout): a header line, then one image per line as label,pixel0,...,pixelP-1 with integer
// pixels 0..255. RFC 4180 framing without quoting (quoted numeric cells are accepted), LF or CRLF
// line ends, an optional UTF-8 BOM, blank lines ignored, optionally gzip-compressed.
// Parsed byte by byte without building strings (cells that are not plain digits take a slow path
// through Number()); every error names the file, the line and the column.
import { UserError } from '../errors.js';
import { readMaybeGzip } from '../io/files.js';
import { countClasses, type Dataset } from './dataset.js';

const NL = 10, CR = 13, COMMA = 44, SPACE = 32, TAB = 9, ZERO = 48, NINE = 57;

/** Height and width for P pixels: square when P is a perfect square (784 -> 28x28), else 1 x P. */
export function inferImageShape(P: number): { height: number; width: number } {
  const s = Math.round(Math.sqrt(P));
  return s * s === P ? { height: s, width: s } : { height: 1, width: P };
}

const looksNumeric = (cell: string) => /^\s*"?\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*"?\s*$/.test(cell);

/**
 * The seed's layout: a header line, then label,pixel0,...,pixelP per row (P+1 = H*W + 1 columns;
 * square images inferred: 784 -> 28x28; non-square: treated as 1 x P).
 */
export function loadCsv(path: string): Dataset {
  const b = readMaybeGzip(path, 'CSV dataset');
  const len = b.length;
  let pos = 0;
  if (len >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) pos = 3;
  while (pos < len && (b[pos] === NL || b[pos] === CR)) pos++;
  if (pos >= len) throw new UserError(`${path} is empty; expected a header line then label,pixel0,... rows`);

  // Header
  let eol = b.indexOf(NL, pos);
  if (eol < 0) eol = len;
  const header = Buffer.from(b.buffer, b.byteOffset + pos, eol - pos).toString('utf8').replace(/\r$/, '');
  const names = header.split(',');
  if (names.every(looksNumeric)) {
    throw new UserError(`${path} has no header: line 1 looks like data (${names.length} numbers); add a first line such as label,pixel0,...,pixel${names.length - 2}`);
  }
  const cols = names.length;
  if (cols < 2) throw new UserError(`${path}: the header has ${cols} column; expected label,pixel0,...,pixelP (at least 2 columns)`);
  const P = cols - 1;
  pos = eol + 1;

  // Row capacity without trusting anything: non-blank lines, and no more rows than fit in the
  // remaining bytes (a valid row is at least 2*cols-1 characters plus its newline).
  let lines = 0;
  for (let i = pos; i < len;) {
    let e = b.indexOf(NL, i);
    if (e < 0) e = len;
    for (let k = i; k < e; k++) if (b[k] > SPACE) { lines++; break; }
    i = e + 1;
  }
  const cap = Math.min(lines, Math.floor(Math.max(0, len - pos + 1) / (2 * cols)) + 1);
  const images = new Uint8Array(cap * P);
  const labels = new Uint8Array(cap);

  let n = 0;
  let line = 1;
  while (pos < len) {
    line++;
    let end = b.indexOf(NL, pos);
    if (end < 0) end = len;
    let stop = end;
    while (stop > pos && (b[stop - 1] === CR || b[stop - 1] === SPACE || b[stop - 1] === TAB)) stop--;
    let blank = true;
    for (let k = pos; k < stop; k++) if (b[k] > SPACE) { blank = false; break; }
    if (blank) { pos = end + 1; continue; }
    if (n >= cap) throw new Error(`csv row capacity ${cap} exceeded at line ${line}`); // cannot happen

    let p = pos;
    const rowOff = n * P - 1; // cell c (c >= 1) goes to images[rowOff + c]
    for (let c = 0; c < cols; c++) {
      if (p > stop) throw columnCountError(path, line, b, pos, stop, cols);
      // Fast path: optional blanks, digits, optional blanks, then ',' or end of line.
      let q = p;
      while (q < stop && (b[q] === SPACE || b[q] === TAB)) q++;
      let v = 0, digits = 0;
      while (q < stop && b[q] >= ZERO && b[q] <= NINE && digits < 9) { v = v * 10 + (b[q] - ZERO); q++; digits++; }
      while (q < stop && (b[q] === SPACE || b[q] === TAB)) q++;
      if (digits === 0 || (q < stop && b[q] !== COMMA)) {
        // Slow path: anything else ("12.0", "1e2", "\"7\"", "abc", "").
        while (q < stop && b[q] !== COMMA) q++;
        v = slowCell(path, line, c, Buffer.from(b.buffer, b.byteOffset + p, q - p).toString('utf8'));
      }
      if (c === 0) {
        if (v > 255) throw new UserError(`${path} line ${line}: label ${v} is not an integer in 0..255; labels must be class numbers 0..255`);
        labels[n] = v;
      } else {
        if (v > 255) throw new UserError(`${path} line ${line} column ${c + 1}: pixel value ${v} is outside 0..255; pixels must be 8-bit gray levels`);
        images[rowOff + c] = v;
      }
      p = q + 1; // past the comma (or past stop at the last cell)
    }
    if (p <= stop) throw columnCountError(path, line, b, pos, stop, cols);
    n++;
    pos = end + 1;
  }
  if (n === 0) throw new UserError(`${path} has a header but no data rows; the dataset is empty`);
  const { height, width } = inferImageShape(P);
  return {
    images: n === cap ? images : images.slice(0, n * P),
    labels: n === cap ? labels : labels.slice(0, n),
    n, height, width, classes: countClasses(labels.subarray(0, n)), source: path,
  };
}

/** Value of a cell the fast path could not read; integer 0..255 or a UserError. */
function slowCell(path: string, line: number, c: number, text: string): number {
  const t = text.trim().replace(/^"(.*)"$/, '$1').trim();
  const what = c === 0 ? 'label' : 'pixel value';
  const where = c === 0 ? `${path} line ${line}` : `${path} line ${line} column ${c + 1}`;
  if (t === '') throw new UserError(`${where}: empty cell; every ${what} must be a number`);
  const v = Number(t);
  if (!Number.isFinite(v) || !looksNumeric(t)) {
    throw new UserError(`${where}: '${t.slice(0, 40)}' is not a number; every cell after the header must be a number`);
  }
  if (!Number.isInteger(v) || v < 0 || v > 255) {
    if (c === 0) throw new UserError(`${where}: label ${t} is not an integer in 0..255; labels must be class numbers 0..255`);
    throw new UserError(`${where}: pixel value ${t} is outside 0..255 or not a whole number; pixels must be 8-bit gray levels`);
  }
  return v;
}

function columnCountError(path: string, line: number, b: Uint8Array, from: number, to: number, cols: number): UserError {
  let got = 1;
  for (let k = from; k < to; k++) if (b[k] === COMMA) got++;
  return new UserError(`${path} line ${line} has ${got} columns but the header has ${cols}; every row must be label,pixel0,...,pixel${cols - 2}`);
}
