// CIFAR-10's binary version, as distributed (cifar-10-binary.tar.gz, extracted): data_batch_1.bin
// .. data_batch_5.bin for training, test_batch.bin for testing, batches.meta.txt naming the
// classes. Each record is 1 label byte then 3072 pixel bytes: the 32x32 red plane, green, blue,
// rows top to bottom: already the C x H x W layout training uses, so records are copied as they are.
// See https://www.cs.toronto.edu/~kriz/cifar.html ("Binary version").
import { existsSync, readdirSync, readFileSync } from '../platform/fs.js';
import { join } from '../platform/path.js';
import { UserError } from '../errors.js';
import { readInputFile } from '../io/files.js';
import type { Dataset } from './dataset.js';

const SIDE = 32;
const PIXELS = 3 * SIDE * SIDE;
const RECORD = 1 + PIXELS;
const CLASSES = 10;

/** True when dir holds CIFAR-10 binary batches. */
export function isCifarDir(dir: string): boolean {
  return existsSync(join(dir, 'test_batch.bin')) || batchFiles(dir).length > 0;
}

function batchFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => /^data_batch_\d+\.bin$/.test(n)).sort((a, b) => parseInt(a.slice(11)) - parseInt(b.slice(11)));
  } catch { return []; }
}

/** The training batches and test_batch.bin of dir. */
export function loadCifarDir(dir: string): { train: Dataset; test: Dataset } {
  const batches = batchFiles(dir);
  if (batches.length === 0) throw new UserError(`${dir} has test_batch.bin but no data_batch_<n>.bin; put the CIFAR-10 training batches there`);
  if (!existsSync(join(dir, 'test_batch.bin'))) throw new UserError(`${dir} has CIFAR-10 training batches but no test_batch.bin; put it there too`);
  const metaPath = join(dir, 'batches.meta.txt');
  const names = existsSync(metaPath) ? readFileSync(metaPath, 'utf8').split('\n').map((s) => s.trim()).filter(Boolean) : [];
  const classNames = names.length === CLASSES ? names : undefined;
  const load = (files: string[], source: string): Dataset => {
    const parts = files.map((f) => readBatch(join(dir, f)));
    const n = parts.reduce((a, p) => a + p.n, 0);
    const images = new Uint8Array(n * PIXELS);
    const labels = new Uint8Array(n);
    let k = 0;
    for (const p of parts) {
      for (let i = 0; i < p.n; i++, k++) {
        labels[k] = p.bytes[i * RECORD];
        images.set(p.bytes.subarray(i * RECORD + 1, (i + 1) * RECORD), k * PIXELS);
      }
    }
    return { images, labels, n, height: SIDE, width: SIDE, channels: 3, classes: CLASSES, classNames, source };
  };
  return { train: load(batches, join(dir, batches[0])), test: load(['test_batch.bin'], join(dir, 'test_batch.bin')) };
}

function readBatch(path: string): { bytes: Uint8Array; n: number } {
  const bytes = readInputFile(path, 'CIFAR-10 batch');
  if (bytes.length === 0 || bytes.length % RECORD !== 0) {
    throw new UserError(`${path} is ${bytes.length} bytes, not a whole number of ${RECORD}-byte CIFAR-10 records; is it truncated? download it again`);
  }
  const n = bytes.length / RECORD;
  for (let i = 0; i < n; i++) {
    if (bytes[i * RECORD] >= CLASSES) throw new UserError(`${path}: record ${i} has label ${bytes[i * RECORD]}; CIFAR-10 labels are 0-9 (is this CIFAR-100? it is not supported)`);
  }
  return { bytes, n };
}
