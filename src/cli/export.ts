// `npm run export -- --model CKPT --format onnx|tfjs|pytorch --out PATH [--force]`: a trained model
// in a format other runtimes load (see src/export/ and docs/export.md).
import { Command, Option } from 'commander';
import { ACTIVATIONS, type Activation } from '../engine/backend.js';
import { exportModel, FORMATS, type ExportFormat } from '../export/index.js';
import { runIfMain } from './common.js';

const EPILOG = `
Formats (each takes float32 pixels 0..255 with the normalization built in, and gives class
probabilities; the class names are in its metadata):
  onnx     --out model.onnx   opset 13, input "pixels" (N, C, H, W), output "probabilities" (N, classes);
                              for onnxruntime (Node, web, Python, mobile)
  tfjs     --out folder       model.json + group1-shard1of1.bin for tf.loadLayersModel; input (N, H, W, C)
  pytorch  --out folder       model.safetensors (a state_dict) + model.py with build(), an nn.Sequential:
                              model = build(); model.load_state_dict(load_file("model.safetensors"))

Examples:
  npm run export -- --model models/mnist-mlp.safetensors --format onnx --out mnist.onnx
  npm run export -- --model runs/20250101-120000/checkpoint.safetensors --format tfjs --out web/model
  npm run export -- --model runs/20250101-120000/checkpoint.safetensors --format pytorch --out torch-model

A layer a format cannot express, an unknown format, or an existing --out without --force is refused
before anything is written. See docs/export.md for what each layer becomes.`;

export async function main(argv: string[]): Promise<number> {
  const p = new Command('npm run export --')
    .description('Export a trained model (checkpoint.safetensors or seed-layout .npz) to ONNX, TensorFlow.js or PyTorch.')
    .requiredOption('--model <file>', 'checkpoint.safetensors from npm run train, or a .npz (W1, b1, W2, b2, ...)')
    .addOption(new Option('--format <name>', 'what to write').choices(FORMATS).makeOptionMandatory())
    .requiredOption('--out <path>', 'the .onnx file, or the folder for tfjs and pytorch')
    .option('--force', 'replace an existing --out')
    .addOption(new Option('--activation <fn>', 'hidden activation of a .npz model').choices(ACTIVATIONS.filter((a) => a !== 'identity')).default('relu'))
    .addHelpText('after', EPILOG)
    .exitOverride()
    .configureOutput({ outputError: () => { /* runMain prints one line */ } });
  p.parse(argv, { from: 'user' });
  const o = p.opts();
  const r = exportModel(o.model, { format: o.format as ExportFormat, out: o.out, force: !!o.force,
    activation: o.activation as Activation });
  process.stdout.write(`Wrote ${r.format} export of ${o.model}: ${r.files.join(', ')} ` +
    `(${(r.bytes / 1024).toFixed(1)} KiB)\n`);
  return 0;
}

runIfMain(import.meta.url, main);
