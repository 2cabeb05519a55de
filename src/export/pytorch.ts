// PyTorch export: model.safetensors holding a state_dict (fc1.weight, fc1.bias, conv1.weight, ...)
// and a generated model.py whose build() returns the nn.Sequential those names belong to, so
//   model = build(); model.load_state_dict(load_file('model.safetensors'))
// works. The layout needs no change: nn.Linear's weight is (O, I) and nn.Conv2d's (OC, C, K, K),
// as ours, and both read channels-first (N, C, H, W). Module names carry our parameter numbers:
// W3/b3 become fc3.weight/fc3.bias (or conv3.*). The Sequential starts with Normalize (the
// pixel normalization: two numbers in model.py, or for a colour model buffers normalize.scale and
// normalize.shift of shape (1, C, 1, 1) in the state_dict, one scale and shift per channel) and
// ends with Softmax, so the contract is the other formats'; model[:-1] gives the logits to keep
// training with nn.CrossEntropyLoss. Dropout is kept (nn.Dropout, identity after model.eval()).
// Batch norm n is bnN, nn.BatchNorm2d over channels (nn.BatchNorm1d
// after the flatten) with its running statistics; num_batches_tracked is stored as 0 (PyTorch reads
// it only when momentum is None).
import type { Tensor } from '../io/safetensors.js';
import { afterDense, cannotExpress, channelAffine, CONTRACT, exportLayers, metadata, normTensors, weights, type ExportSource } from './source.js';

/** state_dict tensors, their metadata, and model.py's text for src. */
export function toPytorch(src: ExportSource, opts: { weightsFile: string }): { tensors: Record<string, Tensor>; metadata: Record<string, string>; modelPy: string } {
  const [C, H, W] = src.spec.input;
  const per = channelAffine(src);
  const mods: string[] = [per ? `("normalize", Normalize(${C}))`
    : `("normalize", Normalize(${py(src.normalization.scale)}, ${py(src.normalization.shift)}))`];
  const tensors: Record<string, Tensor> = {};
  if (per) {
    tensors['normalize.scale'] = { dtype: 'F32', shape: [1, C, 1, 1], data: per.scale };
    tensors['normalize.shift'] = { dtype: 'F32', shape: [1, C, 1, 1], data: per.shift };
  }
  const count: Record<string, number> = {};
  const named = (kind: string) => `${kind}${(count[kind] = (count[kind] ?? 0) + 1)}`;
  let flat = false;
  for (const l of exportLayers(src)) {
    const s = l.spec;
    switch (s.type) {
      case 'dense': {
        const { W: w, b } = weights(l);
        if (!flat) mods.push(`("flatten", nn.Flatten())`);
        flat = true;
        const I = w.length / b.length;
        mods.push(`("fc${l.n}", nn.Linear(${I}, ${b.length}))`);
        tensors[`fc${l.n}.weight`] = { dtype: 'F32', shape: [b.length, I], data: w };
        tensors[`fc${l.n}.bias`] = { dtype: 'F32', shape: [b.length], data: b };
        break;
      }
      case 'conv2d': {
        if (flat) throw afterDense('pytorch', l);
        const { W: w, b } = weights(l);
        const K = s.kernel as number;
        mods.push(`("conv${l.n}", nn.Conv2d(${l.inShape[0]}, ${b.length}, kernel_size=${K}, stride=${s.stride}, padding=${s.pad}))`);
        tensors[`conv${l.n}.weight`] = { dtype: 'F32', shape: [b.length, l.inShape[0], K, K], data: w };
        tensors[`conv${l.n}.bias`] = { dtype: 'F32', shape: [b.length], data: b };
        break;
      }
      case 'pool': {
        if (flat) throw afterDense('pytorch', l);
        const op = s.mode === 'max' ? 'MaxPool2d' : 'AvgPool2d';
        mods.push(`("${named(`${s.mode}pool`)}", nn.${op}(kernel_size=${s.size}, stride=${s.stride}))`);
        break;
      }
      case 'activation':
        switch (s.fn) {
          case 'identity': break;
          case 'relu': mods.push(`("${named('relu')}", nn.ReLU())`); break;
          case 'leaky_relu': mods.push(`("${named('leaky_relu')}", nn.LeakyReLU(${py(s.alpha as number)}))`); break;
          case 'sigmoid': mods.push(`("${named('sigmoid')}", nn.Sigmoid())`); break;
          case 'tanh': mods.push(`("${named('tanh')}", nn.Tanh())`); break;
          case 'gelu': mods.push(`("${named('gelu')}", nn.GELU(approximate="tanh"))`); break; // the engine's form
          default: throw cannotExpress('pytorch', l);
        }
        break;
      case 'dropout': mods.push(`("${named('dropout')}", nn.Dropout(${py(s.p as number)}))`); break;
      case 'batchnorm': {
        const t = normTensors(l), C = t.gamma.length;
        mods.push(`("bn${l.n}", nn.BatchNorm${flat ? '1' : '2'}d(${C}, eps=${py(s.eps as number)}, momentum=${py(s.momentum as number)}))`);
        const f = (data: Float32Array): Tensor => ({ dtype: 'F32', shape: [C], data });
        tensors[`bn${l.n}.weight`] = f(t.gamma);
        tensors[`bn${l.n}.bias`] = f(t.beta);
        tensors[`bn${l.n}.running_mean`] = f(t.mean);
        tensors[`bn${l.n}.running_var`] = f(t.var);
        tensors[`bn${l.n}.num_batches_tracked`] = { dtype: 'I64', shape: [], data: new BigInt64Array(1) };
        break;
      }
      default: throw cannotExpress('pytorch', l);
    }
  }
  if (!flat) mods.push(`("flatten", nn.Flatten())`);
  mods.push(`("softmax", nn.Softmax(dim=1))`);

  const modelPy = `# Generated by wasmnist export: the ${src.spec.arch} model as a PyTorch nn.Sequential.
# Contract: ${CONTRACT}.
#   input  float32 (N, ${C}, ${H}, ${W}) pixels 0..255
#   output (N, ${src.spec.classes}) class probabilities; CLASS_NAMES[i] names column i
# Load the weights:
#   from safetensors.torch import load_file
#   model = build(); model.load_state_dict(load_file("${opts.weightsFile}")); model.eval()
# To train on, drop the softmax: model[:-1] gives logits for nn.CrossEntropyLoss.
from collections import OrderedDict

${per ? 'import torch\n' : ''}from torch import nn

CLASS_NAMES = ${JSON.stringify(src.classNames)}
INPUT_SHAPE = (${C}, ${H}, ${W})


${per ? NORMALIZE_PER_CHANNEL : NORMALIZE}

def build():
    return nn.Sequential(OrderedDict([
${mods.map((m) => `        ${m},`).join('\n')}
    ]))


if __name__ == "__main__":
    import os
    import sys

    import torch
    from safetensors.torch import load_file

    model = build()
    here = os.path.dirname(os.path.abspath(__file__))
    model.load_state_dict(load_file(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "${opts.weightsFile}")))
    model.eval()
    print(model)
    with torch.no_grad():
        print("probabilities of a blank image:", model(torch.zeros(1, *INPUT_SHAPE)))
`;
  // format 'pt' is what safetensors.torch.save_file writes; the rest is every export's metadata.
  return { tensors, metadata: { format: 'pt', ...metadata(src) }, modelPy };
}

/** model.py's Normalize for one scale and shift for all pixels (numbers in the source). */
const NORMALIZE = `class Normalize(nn.Module):
    """x * scale + shift: the pixel normalization the model was trained with."""

    def __init__(self, scale, shift):
        super().__init__()
        self.scale = scale
        self.shift = shift

    def forward(self, x):
        return x * self.scale + self.shift

    def extra_repr(self):
        return f"scale={self.scale}, shift={self.shift}"
`;

/** model.py's Normalize for a colour model: one scale and shift per channel, buffers in the state_dict. */
const NORMALIZE_PER_CHANNEL = `class Normalize(nn.Module):
    """x * scale + shift per channel, i.e. (x/255 - mean) / std: the pixel normalization the model
    was trained with. scale and shift (1, C, 1, 1) are buffers, loaded with the state_dict."""

    def __init__(self, channels):
        super().__init__()
        self.register_buffer("scale", torch.ones(1, channels, 1, 1))
        self.register_buffer("shift", torch.zeros(1, channels, 1, 1))

    def forward(self, x):
        return x * self.scale + self.shift
`;

/** A number as Python source (repr-like: 0.1 stays 0.1, 1 becomes 1.0). */
function py(v: number): string {
  return Number.isInteger(v) ? `${v}.0` : String(v);
}
