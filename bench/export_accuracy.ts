// Accuracy of each export on the full test set, beside ours: for each checkpoint, the model's own
// predictions (our engine) and those of its ONNX export (onnxruntime-web), TF.js export
// (@tensorflow/tfjs, cpu backend) and PyTorch export (model.py + model.safetensors run by torch,
// when --python names an interpreter that has torch and safetensors), with the largest probability
// difference to ours and how many predicted classes differ.
//
//   npm run build:ts && node dist/bench/export_accuracy.js [--python PY] [--data DIR] CKPT...
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import * as tf from '@tensorflow/tfjs';
import { loadModelFile } from '../src/io/model-file.js';
import { loadData } from '../src/data/index.js';
import { createBackend } from '../src/engine/index.js';
import { exportModel, sourceOf } from '../src/export/index.js';

interface Row { model: string; format: string; accuracy: number; maxDiff: number; disagree: number; note?: string }

function argmaxAccuracy(probs: ArrayLike<number>, labels: Uint8Array, C: number): { correct: number; preds: Int32Array } {
  const preds = new Int32Array(labels.length);
  let correct = 0;
  for (let r = 0; r < labels.length; r++) {
    let best = 0;
    for (let j = 1; j < C; j++) if (probs[r * C + j] > probs[r * C + best]) best = j;
    preds[r] = best;
    if (best === labels[r]) correct++;
  }
  return { correct, preds };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flag = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args.splice(i, 2)[1] : undefined;
  };
  const python = flag('--python');
  const data = flag('--data');
  if (args.length === 0) throw new Error('usage: export_accuracy.js [--python PY] [--data DIR] CKPT...');
  const { test } = loadData({ data });
  if (!test) throw new Error('no test set');
  const n = test.n;
  const pixels = Float32Array.from(test.images);
  ort.env.wasm.numThreads = 1;
  await tf.setBackend('cpu');
  const rows: Row[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'wasmnist-export-acc-'));
  try {
    for (const ckpt of args) {
      const m = loadModelFile(ckpt, createBackend('wasm'));
      const [C, H, W] = m.inputShape;
      const K = m.model.classes;
      const { scale, shift } = m.normalization;
      const ours = m.model.predict(pixels.map((p) => p * scale + shift), n);
      const base = argmaxAccuracy(ours, test.labels, K);
      rows.push({ model: ckpt, format: 'ours', accuracy: base.correct / n, maxDiff: 0, disagree: 0 });
      const add = (format: string, probs: ArrayLike<number>) => {
        const r = argmaxAccuracy(probs, test.labels, K);
        let maxDiff = 0;
        for (let i = 0; i < ours.length; i++) maxDiff = Math.max(maxDiff, Math.abs(probs[i] - ours[i]));
        const disagree = r.preds.reduce((a, p, i) => a + (p !== base.preds[i] ? 1 : 0), 0);
        rows.push({ model: ckpt, format, accuracy: r.correct / n, maxDiff, disagree });
      };
      const src = sourceOf(m);

      const onnxPath = join(dir, 'model.onnx');
      exportModel(src, { format: 'onnx', out: onnxPath, force: true });
      const session = await ort.InferenceSession.create(readFileSync(onnxPath));
      const r = await session.run({ pixels: new ort.Tensor('float32', pixels, [n, C, H, W]) });
      add('onnx', r.probabilities.data as Float32Array);

      const tfDir = join(dir, 'tfjs');
      exportModel(src, { format: 'tfjs', out: tfDir, force: true });
      const modelJson = JSON.parse(readFileSync(join(tfDir, 'model.json'), 'utf8'));
      const tfModel = await tf.loadLayersModel({
        load: () => tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
          const bytes = Buffer.concat(manifest.flatMap((g) => g.paths.map((p) => readFileSync(join(tfDir, p)))));
          return [manifest.flatMap((g) => g.weights), bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)];
        }),
      });
      const nhwc = tf.tidy(() => tf.tensor4d(pixels, [n, C, H, W]).transpose([0, 2, 3, 1]));
      add('tfjs', tf.tidy(() => (tfModel.predict(nhwc, { batchSize: 1000 }) as tf.Tensor).dataSync()));
      nhwc.dispose();
      tfModel.dispose();

      const ptDir = join(dir, 'pytorch');
      exportModel(src, { format: 'pytorch', out: ptDir, force: true });
      if (!python) {
        rows.push({ model: ckpt, format: 'pytorch', accuracy: NaN, maxDiff: NaN, disagree: NaN, note: 'not run (no --python)' });
      } else {
        const px = join(dir, 'pixels.f32'), probs = join(dir, 'probs.f32');
        writeFileSync(px, new Uint8Array(pixels.buffer));
        const py = spawnSync(python, ['bench/export_torch.py', ptDir, px, String(n), probs], { encoding: 'utf8' });
        if (py.status !== 0) {
          rows.push({ model: ckpt, format: 'pytorch', accuracy: NaN, maxDiff: NaN, disagree: NaN,
            note: `not run: ${py.stderr.trim().split('\n').pop()}` });
        } else {
          const b = readFileSync(probs);
          add('pytorch', new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4));
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`Test set: ${n} images. Max |dp|: largest difference of a class probability to ours; ` +
    'differ: images whose predicted class differs from ours.\n');
  console.log('| model | format | accuracy | max abs dp vs ours | differ |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const r of rows) {
    console.log(r.note ? `| ${r.model} | ${r.format} | ${r.note} | | |`
      : `| ${r.model} | ${r.format} | ${(100 * r.accuracy).toFixed(2)}% | ${r.maxDiff.toExponential(1)} | ${r.disagree} |`);
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
