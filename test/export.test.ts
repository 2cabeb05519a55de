// Exports checked by running them: an MLP and a CNN built with seeded weights are exported to
// ONNX (run by onnxruntime-web's wasm build), TF.js (loaded by @tensorflow/tfjs from the files on
// disk) and PyTorch (state_dict names, shapes, values and the generated model.py read back), and
// each export's probabilities on 100 generated images must match ours within 1e-4; a colour CNN
// (per-channel mean and std) likewise on generated colour pictures. The refusals
// (unknown format, existing out, a layer a format cannot express) write nothing.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import * as ort from 'onnxruntime-web';
import * as tf from '@tensorflow/tfjs';
import protobuf from 'protobufjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ACTIVATIONS } from '../src/engine/backend.js';
import { createBackend } from '../src/engine/index.js';
import { exportModel, type ExportFormat, type ExportSource } from '../src/export/index.js';
import { ONNX_PROTO } from '../src/export/onnx.proto.js';
import { channelNorm } from '../src/data/normalize.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { createLayer, LAYER_TYPES } from '../src/model/layers/index.js';
import { Model } from '../src/model/model.js';
import { parseArch, type ModelSpec } from '../src/model/spec.js';
import { Rng } from '../src/util/rng.js';
import { dense, relu, sequential, train } from '../src/index.js';
import { expectClose, expectUserError } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'wasmnist-export-'));
const N = 100;
const H = 28, W = 28;
const CLASSES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
// A shift as well as a scale, so a dropped or misplaced normalization node shows.
const NORM = { scale: 1 / 255, shift: -0.1307 };
const mnist = { height: H, width: W, classes: 10 };

/** n 28x28 images of bytes: about a quarter of the pixels lit (like MNIST), the rest 0. */
function images(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const px = new Float32Array(n * H * W);
  for (let i = 0; i < px.length; i++) px[i] = rng.float() < 0.25 ? rng.int(256) : 0;
  return px;
}

interface Built { src: ExportSource; want: Float32Array; model: Model }

/** A model with seeded He weights and its probabilities on the images (our forward pass). */
function build(spec: ModelSpec, seed: number, pixels: Float32Array): Built {
  const model = new Model(createBackend('ts'), spec, N);
  model.init(new Rng(seed), 'he');
  // batch norm tensors start as the identity: make them something a misplaced one would change
  const rng = new Rng(seed + 100);
  for (const e of model.entries) {
    if (e.def.role === 'W' || e.def.role === 'b') continue;
    for (let i = 0; i < e.size; i++) {
      e.value[i] = e.def.role === 'var' ? 0.5 + 2 * rng.float() : e.def.role === 'gamma' ? 0.5 + rng.float() : rng.float() - 0.5;
    }
  }
  const x = pixels.map((p) => p * NORM.scale + NORM.shift);
  const want = model.predict(x, N);
  const params: Record<string, Float32Array> = {};
  for (const e of model.entries) params[e.name] = e.value;
  return { src: { spec, params, normalization: NORM, classNames: CLASSES }, want, model };
}

const pixels = images(N, 7);
const MODELS: [string, Built][] = [
  ['MLP 784-32-lrelu-16-sigmoid-10 with dropout', build(parseArch('784-32-lrelu-16-sigmoid-10',
    { activation: 'relu', alpha: 0.05, dropout: 0.2 }, mnist), 1, pixels)],
  ['CNN conv4k3p1-pool2-conv6k3s2-tanh-avgpool2-24-10', build(parseArch('conv4k3p1-pool2-conv6k3s2-tanh-avgpool2-24-10',
    { activation: 'relu', alpha: 0.01, dropout: 0 }, mnist), 2, pixels)],
  ['CNN-BN conv4k3p1-bn-pool2-conv6k3-bn-24-bn-10', build(parseArch('conv4k3p1-bn-pool2-conv6k3-bn-24-bn-10',
    { activation: 'relu', alpha: 0.01, dropout: 0 }, mnist), 3, pixels)],
];

function out(name: string): string {
  return join(dir, name);
}

/**
 * What tf.loadLayersModel('file://folder/model.json') does, without tfjs-node: read model.json,
 * then the shards its manifest names.
 */
function fromDisk(folder: string): tf.io.IOHandler {
  const modelJson = JSON.parse(readFileSync(join(folder, 'model.json'), 'utf8'));
  return {
    load: () => tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
      const bytes = Buffer.concat(manifest.flatMap((g) => g.paths.map((p) => readFileSync(join(folder, p)))));
      return [manifest.flatMap((g) => g.weights), bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)];
    }),
  };
}

beforeAll(() => {
  ort.env.wasm.numThreads = 1;
  return tf.setBackend('cpu');
});

describe('the models under test', () => {
  it('are confident enough that a wrong export would show', () => {
    // Probabilities near uniform would hide errors; these spread over at least 0.1 per image.
    for (const [, m] of MODELS) {
      let spread = 0;
      for (let r = 0; r < N; r++) {
        const row = m.want.subarray(r * 10, r * 10 + 10);
        spread += Math.max(...row) - Math.min(...row);
      }
      expect(spread / N).toBeGreaterThan(0.1);
    }
  });
});

describe.each(MODELS)('%s', (name, m) => {
  const tag = name.split(' ')[0];

  it('ONNX through onnxruntime matches ours within 1e-4, with class names in the metadata', async () => {
    const path = out(`${tag}.onnx`);
    exportModel(m.src, { format: 'onnx', out: path });
    const session = await ort.InferenceSession.create(readFileSync(path));
    expect(session.inputNames).toEqual(['pixels']);
    expect(session.outputNames).toEqual(['probabilities']);
    const r = await session.run({ pixels: new ort.Tensor('float32', pixels, [N, 1, H, W]) });
    expect(r.probabilities.dims).toEqual([N, 10]);
    expectClose(r.probabilities.data as Float32Array, m.want, 1e-4, 0);

    const T = protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto');
    const proto = T.toObject(T.decode(readFileSync(path)), { longs: Number }) as any;
    expect(proto.opset_import[0].version).toBeGreaterThanOrEqual(13);
    const meta = Object.fromEntries(proto.metadata_props.map((p: { key: string; value: string }) => [p.key, p.value]));
    expect(JSON.parse(meta.class_names)).toEqual(CLASSES);
    expect(JSON.parse(meta.normalization)).toEqual(NORM);
    const ops = proto.graph.node.map((n: { op_type: string }) => n.op_type);
    expect(ops.slice(0, 2)).toEqual(['Mul', 'Add']); // the normalization comes first
    expect(ops[ops.length - 1]).toBe('Softmax');
  });

  it('TF.js layers model loaded from the files on disk matches ours within 1e-4', async () => {
    const folder = out(`${tag}-tfjs`);
    exportModel(m.src, { format: 'tfjs', out: folder });
    const modelJson = JSON.parse(readFileSync(join(folder, 'model.json'), 'utf8'));
    const model = await tf.loadLayersModel(fromDisk(folder));
    // TF.js takes (N, H, W, C); with one channel that is the same memory as (N, C, H, W).
    const got = tf.tidy(() => (model.predict(tf.tensor4d(pixels, [N, H, W, 1])) as tf.Tensor).dataSync());
    expectClose(got, m.want, 1e-4, 0);
    expect((model.getUserDefinedMetadata() as { class_names: string[] }).class_names).toEqual(CLASSES);
    expect(modelJson.modelTopology.config.layers[0].class_name).toBe('Rescaling');
    model.dispose();
  });

  it('PyTorch: state_dict names, shapes and values, and model.py declares the same modules', () => {
    const folder = out(`${tag}-pytorch`);
    exportModel(m.src, { format: 'pytorch', out: folder });
    const { tensors } = readSafetensors(join(folder, 'model.safetensors'));
    const py = readFileSync(join(folder, 'model.py'), 'utf8');
    const expected: Record<string, number[]> = {};
    const layerOf = (n: number) => m.model.layers.find((l) => l.paramDefs.length > 0 && --n === 0)!;
    const field = { W: 'weight', b: 'bias', gamma: 'weight', beta: 'bias', mean: 'running_mean', var: 'running_var' };
    for (const e of m.model.entries) {
      const n = Number(/\d+$/.exec(e.name)![0]);
      const type = layerOf(n).spec.type;
      const kind = type === 'conv2d' ? 'conv' : type === 'batchnorm' ? 'bn' : 'fc';
      const key = `${kind}${n}.${field[e.def.role]}`;
      expected[key] = e.shape;
      if (kind === 'bn' && e.def.role === 'gamma') {
        expected[`bn${n}.num_batches_tracked`] = [];
        expect(py).toMatch(new RegExp(`\\("bn${n}", nn\\.BatchNorm[12]d\\(${e.size}, eps=0\\.00001, momentum=0\\.1\\)\\)`));
      }
      expect(Array.from(tensors[key].data as Float32Array)).toEqual(Array.from(e.value));
    }
    expect(Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, t.shape]))).toEqual(expected);
    // every parametric module of the state_dict is declared in build() with matching sizes
    for (const [key, shape] of Object.entries(expected)) {
      if (!key.endsWith('.weight') || key.startsWith('bn')) continue;
      const mod = key.split('.')[0];
      const decl = mod.startsWith('fc') ? `("${mod}", nn.Linear(${shape[1]}, ${shape[0]}))`
        : `("${mod}", nn.Conv2d(${shape[1]}, ${shape[0]}, kernel_size=${shape[2]},`;
      expect(py).toContain(decl);
    }
    expect(py).toMatch(/\("normalize", Normalize\(0\.00392156862745098\d*, -0\.1307\)\)/);
    expect(py).toContain('("softmax", nn.Softmax(dim=1))');
    expect(py).toContain(`CLASS_NAMES = ${JSON.stringify(CLASSES)}`);
  });
});

describe('a colour model (per-channel mean and std)', () => {
  // 3x8x8 pictures; each channel's mean and std differ, so a channel given another's stats, or one
  // stats for all, moves the probabilities well past 1e-4. The dense layer reads a 3-channel
  // image, so TF.js's channels-last flatten order is checked too.
  const C = 3, S = 8, P = S * S, n = 40;
  const norm = { scale: 1 / 255, shift: 0, mean: [0.15, 0.5, 0.8], std: [0.3, 0.1, 0.2] };
  const names = ['red', 'green', 'blue', 'grey'];
  const spec = parseArch('conv5k3p1-pool2-12-4', { activation: 'relu', alpha: 0.01, dropout: 0 },
    { height: S, width: S, channels: C, classes: names.length });
  const rng = new Rng(21);
  const px = new Float32Array(n * C * P).map(() => rng.int(256)); // (n, C, H, W)
  const model = new Model(createBackend('ts'), spec, n);
  model.init(new Rng(22), 'he');
  const t = channelNorm(norm, C); // what the trainer's per-channel gather applies, in float32
  const x = px.map((v, i) => {
    const c = Math.floor((i % (C * P)) / P);
    return Math.fround(Math.fround(v * t[2 * c]) + t[2 * c + 1]);
  });
  const want = model.predict(x, n);
  const params: Record<string, Float32Array> = {};
  for (const e of model.entries) params[e.name] = e.value;
  const src: ExportSource = { spec, params, normalization: norm, classNames: names };

  it('is confident enough that a wrong export would show', () => {
    let spread = 0;
    for (let r = 0; r < n; r++) {
      const row = want.subarray(r * 4, r * 4 + 4);
      spread += Math.max(...row) - Math.min(...row);
    }
    expect(spread / n).toBeGreaterThan(0.1);
  });

  it('ONNX: Mul and Add by (1, C, 1, 1) tensors first, and onnxruntime matches ours within 1e-4', async () => {
    const path = out('colour.onnx');
    exportModel(src, { format: 'onnx', out: path });
    const session = await ort.InferenceSession.create(readFileSync(path));
    const r = await session.run({ pixels: new ort.Tensor('float32', px, [n, C, S, S]) });
    expectClose(r.probabilities.data as Float32Array, want, 1e-4, 0);
    const T = protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto');
    const proto = T.toObject(T.decode(readFileSync(path)), { longs: Number }) as any;
    expect(proto.graph.node.slice(0, 2).map((x: { op_type: string }) => x.op_type)).toEqual(['Mul', 'Add']);
    const init = Object.fromEntries(proto.graph.initializer.map((i: { name: string; dims: number[] }) => [i.name, i.dims]));
    expect(init.norm_scale).toEqual([1, C, 1, 1]);
    expect(init.norm_shift).toEqual([1, C, 1, 1]);
    const meta = Object.fromEntries(proto.metadata_props.map((p: { key: string; value: string }) => [p.key, p.value]));
    expect(JSON.parse(meta.normalization)).toEqual(norm);
    expect(JSON.parse(meta.class_names)).toEqual(names);
  });

  it('TF.js: a Rescaling layer with per-channel arrays loads back and matches ours within 1e-4', async () => {
    const folder = out('colour-tfjs');
    exportModel(src, { format: 'tfjs', out: folder });
    const m = await tf.loadLayersModel(fromDisk(folder));
    const got = tf.tidy(() => (m.predict(tf.tensor4d(px, [n, C, S, S]).transpose([0, 2, 3, 1])) as tf.Tensor).dataSync());
    expectClose(got, want, 1e-4, 0);
    const first = JSON.parse(readFileSync(join(folder, 'model.json'), 'utf8')).modelTopology.config.layers[0];
    expect(first.class_name).toBe('Rescaling');
    expect(first.config.scale).toHaveLength(C);
    expect((m.getUserDefinedMetadata() as { class_names: string[] }).class_names).toEqual(names);
    m.dispose();
  });

  it('PyTorch: Normalize(C) with buffers normalize.scale and normalize.shift (1, C, 1, 1) in the state_dict', () => {
    const folder = out('colour-pytorch');
    exportModel(src, { format: 'pytorch', out: folder });
    const { tensors } = readSafetensors(join(folder, 'model.safetensors'));
    expect(Object.keys(tensors).sort()).toEqual(['conv1.bias', 'conv1.weight', 'fc2.bias', 'fc2.weight', 'fc3.bias',
      'fc3.weight', 'normalize.scale', 'normalize.shift']);
    for (const [k, i] of [['normalize.scale', 0], ['normalize.shift', 1]] as const) {
      expect(tensors[k].shape).toEqual([1, C, 1, 1]);
      expect(Array.from(tensors[k].data as Float32Array)).toEqual([0, 1, 2].map((c) => t[2 * c + i]));
    }
    for (const e of model.entries) {
      const key = `${e.name.startsWith('W1') || e.name === 'b1' ? 'conv' : 'fc'}${e.name.slice(1)}.${e.name[0] === 'W' ? 'weight' : 'bias'}`;
      expect(tensors[key].shape).toEqual(e.shape);
      expect(Array.from(tensors[key].data as Float32Array)).toEqual(Array.from(e.value));
    }
    const py = readFileSync(join(folder, 'model.py'), 'utf8');
    expect(py).toContain('("normalize", Normalize(3)),');
    expect(py).toContain('self.register_buffer("scale", torch.ones(1, channels, 1, 1))');
    expect(py).toContain('self.register_buffer("shift", torch.zeros(1, channels, 1, 1))');
    expect(py).toMatch(/^import torch$/m);
    expect(py).toContain('INPUT_SHAPE = (3, 8, 8)');
    expect(py).toContain(`CLASS_NAMES = ${JSON.stringify(names)}`);
  });
});

describe('every activation the engine has', () => {
  // Iterates the engine's list, so an activation added there (GELU) is checked here as it lands.
  it.each(ACTIVATIONS.filter((a) => a !== 'identity'))('%s: ONNX and TF.js match ours within 1e-4', async (fn) => {
    const spec = parseArch(`784-24-${fn === 'leaky_relu' ? 'lrelu' : fn}-10`, { activation: 'relu', alpha: 0.1, dropout: 0 }, mnist);
    const m = build(spec, 11, pixels);
    const onnxPath = out(`act-${fn}.onnx`);
    exportModel(m.src, { format: 'onnx', out: onnxPath });
    const session = await ort.InferenceSession.create(readFileSync(onnxPath));
    const r = await session.run({ pixels: new ort.Tensor('float32', pixels, [N, 1, H, W]) });
    expectClose(r.probabilities.data as Float32Array, m.want, 1e-4, 0);
    const folder = out(`act-${fn}-tfjs`);
    if (fn === 'gelu') { // TF.js has no loadable tanh-form GELU: refused in one line, nothing written
      expectUserError(() => exportModel(m.src, { format: 'tfjs', out: folder }), /activation 'gelu'/);
      expect(existsSync(folder)).toBe(false);
      return;
    }
    exportModel(m.src, { format: 'tfjs', out: folder });
    const model = await tf.loadLayersModel(fromDisk(folder));
    expectClose(tf.tidy(() => (model.predict(tf.tensor4d(pixels, [N, H, W, 1])) as tf.Tensor).dataSync()), m.want, 1e-4, 0);
    model.dispose();
  });
});

describe('the generated layers', () => {
  it('map our activations and pools to their counterparts, in spec order', () => {
    const [mlp, cnn] = MODELS.map(([, m]) => m.src);
    const folder = out('order-pytorch');
    exportModel(cnn, { format: 'pytorch', out: folder });
    const mods = [...readFileSync(join(folder, 'model.py'), 'utf8').matchAll(/^ {8}\("(\w+)", nn\.(\w+)\(/gm)].map((x) => x[2]);
    expect(mods).toEqual(['Conv2d', 'ReLU', 'MaxPool2d', 'Conv2d', 'Tanh', 'AvgPool2d', 'Flatten', 'Linear', 'ReLU',
      'Linear', 'Softmax']);
    const json = out('order-tfjs');
    exportModel(mlp, { format: 'tfjs', out: json });
    const layers = JSON.parse(readFileSync(join(json, 'model.json'), 'utf8')).modelTopology.config.layers;
    expect(layers.map((l: { class_name: string }) => l.class_name)).toEqual(['Rescaling', 'Flatten', 'Dense', 'LeakyReLU',
      'Dense', 'Activation', 'Dense', 'Activation']);
    expect(layers[3].config.alpha).toBe(0.05);
  });
});

describe('the library: Network.export', () => {
  it('a trained network exports to ONNX, whose probabilities match net.predict within 1e-4', async () => {
    const n = 60;
    const rng = new Rng(5);
    const imgs = new Uint8Array(n * 64);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = i % 2;
      for (let p = 0; p < 64; p++) imgs[i * 64 + p] = ((p >> 3) < 4) === (i % 2 === 0) ? 200 + rng.int(50) : rng.int(50);
    }
    const ds = { images: imgs, labels, n, height: 8, width: 8, classes: 2, source: 'halves' };
    const net = sequential([8, 8], [dense(8), relu(), dense(2)]);
    await expect(net.export(out('untrained.onnx'), { format: 'onnx' })).rejects.toThrow(/no weights/);
    await train(net, { train: ds, test: ds }, { epochs: 2, batch: 16, threads: 1 });
    const path = out('lib.onnx');
    const r = await net.export(path, { format: 'onnx' });
    expect(r.files).toEqual([path]);
    const want = net.predict(imgs);
    const session = await ort.InferenceSession.create(readFileSync(path));
    const got = await session.run({ pixels: new ort.Tensor('float32', Float32Array.from(imgs), [n, 1, 8, 8]) });
    expectClose(got.probabilities.data as Float32Array, want, 1e-4, 0);
    net.dispose();
  });
});

describe('refusals write nothing', () => {
  const src = MODELS[0][1].src;

  it('an unknown format', () => {
    expectUserError(() => exportModel(src, { format: 'keras' as ExportFormat, out: out('x.keras') }), /unknown export format 'keras'.*onnx, tfjs, pytorch/);
    expect(existsSync(out('x.keras'))).toBe(false);
  });

  it('an existing output without force, and replaces it with force', () => {
    const file = out('exists.onnx');
    writeFileSync(file, 'keep me');
    expectUserError(() => exportModel(src, { format: 'onnx', out: file }), /already exists; pass --force/);
    expect(readFileSync(file, 'utf8')).toBe('keep me');
    exportModel(src, { format: 'onnx', out: file, force: true });
    expect(readFileSync(file).length).toBeGreaterThan(1000);

    const folder = out('exists-tfjs');
    mkdirSync(folder);
    writeFileSync(join(folder, 'old.txt'), 'old');
    expectUserError(() => exportModel(src, { format: 'tfjs', out: folder }), /already exists; pass --force/);
    exportModel(src, { format: 'tfjs', out: folder, force: true });
    expect(readdirSync(folder).sort()).toEqual(['group1-shard1of1.bin', 'model.json']); // no old file mixed in
    expectUserError(() => exportModel(src, { format: 'onnx', out: folder, force: true }), /is a folder, but a onnx export is a file/);
    expectUserError(() => exportModel(src, { format: 'tfjs', out: out('web.json') }), /looks like a file, but a tfjs export is a folder/);
    expect(existsSync(out('web.json'))).toBe(false);
  });

  it.each(['onnx', 'tfjs', 'pytorch'] as ExportFormat[])('%s: a per-channel normalization for another channel count', (format) => {
    const before = readdirSync(dir).length;
    const bad = { ...src, normalization: { scale: 1, shift: 0, mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2] } };
    expectUserError(() => exportModel(bad, { format, out: out(`chan-${format}`) }), /normalizes 3 channels but its input has 1; the file is damaged/);
    expect(readdirSync(dir).length).toBe(before);
  });

  it.each(['onnx', 'tfjs', 'pytorch'] as ExportFormat[])('a layer type %s has no case for (one the engine adds later)', (format) => {
    // A stand-in for a layer the engine gains before the exporters do (as batch normalization will).
    LAYER_TYPES.mystery = (_s, inShape) => createLayer({ type: 'dropout', p: 0 }, inShape);
    try {
      const spec: ModelSpec = { ...MODELS[0][1].src.spec, layers: [{ type: 'mystery' }, ...MODELS[0][1].src.spec.layers] };
      const before = readdirSync(dir).length;
      expectUserError(() => exportModel({ ...src, spec }, { format, out: out(`mystery-${format}`) }),
        new RegExp(`cannot export to ${format}: the model has layer 'mystery', which it has no counterpart for; export to another format`));
      expect(readdirSync(dir).length).toBe(before);
    } finally {
      delete LAYER_TYPES.mystery;
    }
  });

  it.each(['onnx', 'tfjs', 'pytorch'] as ExportFormat[])('a layer %s cannot express (a convolution after a dense layer)', (format) => {
    const spec = parseArch('784-8-conv4k1-10', { activation: 'relu', alpha: 0.01, dropout: 0 }, mnist);
    const { src: odd } = build(spec, 3, pixels.subarray(0, 784 * N));
    const before = readdirSync(dir).length;
    expectUserError(() => exportModel(odd, { format, out: out(`odd-${format}`) }), new RegExp(`cannot export to ${format}: layer 'conv2d' follows a dense layer`));
    expect(readdirSync(dir).length).toBe(before); // no file, folder or temp left
  });
});

describe('npm run export (dist/src/cli/export.js; run npm run build:ts first)', () => {
  const run = (args: string[]) => spawnSync(process.execPath, ['dist/src/cli/export.js', ...args], { encoding: 'utf8', timeout: 60_000 });

  it('--help explains the formats and the contract', () => {
    const r = run(['--help']);
    expect(r.status).toBe(0);
    for (const s of ['onnx', 'tfjs', 'pytorch', '0..255', 'probabilities', '--force']) expect(r.stdout).toContain(s);
  });

  it('exports the shipped model, and refuses a bad format and an existing --out in one line', () => {
    const path = out('cli.onnx');
    const ok = run(['--model', 'models/mnist-mlp.safetensors', '--format', 'onnx', '--out', path]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/Wrote onnx export/);
    for (const [args, code, re] of [
      [['--format', 'onnx', '--out', path], 1, /already exists; pass --force/],
      [['--format', 'keras', '--out', out('k')], 2, /Allowed choices are onnx, tfjs, pytorch/],
    ] as [string[], number, RegExp][]) {
      const r = run(['--model', 'models/mnist-mlp.safetensors', ...args]);
      expect(r.status).toBe(code);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(re);
    }
  });
});
