// ONNX export: one ModelProto (opset 13, IR version 7, which every onnxruntime since 1.6 reads),
// encoded by protobufjs from the vendored onnx.proto.
//   input  "pixels"         float32 (N, C, H, W), values 0..255
//   nodes  Mul, Add         the normalization x = pixels * scale + shift: scalars, or for a colour
//                           model tensors (1, C, 1, 1) that broadcast one scale and shift per channel
//          per layer        Conv / MaxPool / AveragePool / Relu / LeakyRelu / Sigmoid / Tanh /
//                           GELU as Sigmoid nodes (the GELU op is opset 20) / Flatten + Gemm
//          Softmax          over axis 1
//   output "probabilities"  float32 (N, classes)
//   metadata_props          class_names (JSON), normalization (JSON), arch, contract
// Weights go in as initializers in our layout, which is ONNX's: Gemm with transB=1 takes W as
// (O, I) and Conv takes (OC, C, K, K). Dropout is left out (identity at inference).
import protobuf from 'protobufjs';
import { ONNX_PROTO } from './onnx.proto.js';
import { afterDense, cannotExpress, channelAffine, CONTRACT, exportLayers, metadata, normTensors, weights, type ExportSource } from './source.js';

export const ONNX_OPSET = 13;
const IR_VERSION = 7;
const FLOAT = 1; // TensorProto.DataType.FLOAT

let modelProto: protobuf.Type | null = null;
/** onnx.ModelProto, parsed once (field names as in onnx.proto: snake_case). */
function ModelProto(): protobuf.Type {
  modelProto ??= protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto');
  return modelProto;
}

type Attr = { name: string; type: 'INT' | 'FLOAT' | 'INTS'; i?: number; f?: number; ints?: number[] };
const int = (name: string, i: number): Attr => ({ name, type: 'INT', i });
const ints = (name: string, v: number[]): Attr => ({ name, type: 'INTS', ints: v });
const float = (name: string, f: number): Attr => ({ name, type: 'FLOAT', f });

/** The .onnx file's bytes for src. */
export function toOnnx(src: ExportSource): Uint8Array {
  const nodes: object[] = [];
  const initializers: object[] = [];
  let cur = 'pixels';
  /** Appends a node reading inputs; its one output (named after the node) becomes the current tensor. */
  const node = (op: string, inputs: string[], attribute: Attr[] = []): string => {
    const name = `${op.toLowerCase()}${nodes.length}`;
    nodes.push({ op_type: op, name, input: inputs, output: [name], attribute });
    cur = name;
    return name;
  };
  const constant = (name: string, dims: number[], data: Float32Array): string => {
    if (!initializers.some((t) => (t as { name: string }).name === name)) {
      initializers.push({ name, dims, data_type: FLOAT, raw_data: littleEndianBytes(data) });
    }
    return name;
  };
  const scalar = (name: string, v: number) => constant(name, [], Float32Array.of(v));

  const [C, H, W] = src.spec.input;
  const per = channelAffine(src);
  node('Mul', [cur, per ? constant('norm_scale', [1, C, 1, 1], per.scale) : scalar('norm_scale', src.normalization.scale)]);
  node('Add', [cur, per ? constant('norm_shift', [1, C, 1, 1], per.shift) : scalar('norm_shift', src.normalization.shift)]);
  let flat = false; // rank 2 (N, features) after the first Flatten, rank 4 (N, C, H, W) before
  for (const l of exportLayers(src)) {
    const s = l.spec;
    switch (s.type) {
      case 'dense': {
        const { W: w, b } = weights(l);
        if (!flat) node('Flatten', [cur], [int('axis', 1)]);
        flat = true;
        const I = w.length / b.length;
        node('Gemm', [cur, constant(`W${l.n}`, [b.length, I], w), constant(`b${l.n}`, [b.length], b)], [int('transB', 1)]);
        break;
      }
      case 'conv2d': {
        if (flat) throw afterDense('onnx', l);
        const { W: w, b } = weights(l);
        const K = s.kernel as number, st = s.stride as number, p = s.pad as number;
        node('Conv', [cur, constant(`W${l.n}`, [b.length, l.inShape[0], K, K], w), constant(`b${l.n}`, [b.length], b)],
          [ints('kernel_shape', [K, K]), ints('strides', [st, st]), ints('pads', [p, p, p, p])]);
        break;
      }
      case 'pool': {
        if (flat) throw afterDense('onnx', l);
        const k = s.size as number, st = s.stride as number;
        node(s.mode === 'max' ? 'MaxPool' : 'AveragePool', [cur], [ints('kernel_shape', [k, k]), ints('strides', [st, st])]);
        break;
      }
      case 'activation':
        switch (s.fn) {
          case 'identity': break;
          case 'relu': node('Relu', [cur]); break;
          case 'leaky_relu': node('LeakyRelu', [cur], [float('alpha', s.alpha as number)]); break;
          case 'sigmoid': node('Sigmoid', [cur]); break;
          case 'tanh': node('Tanh', [cur]); break;
          case 'gelu': { // the engine's tanh form, x sigmoid(2c (x + k x^3)), as nodes opset 13 has
            const x = cur;
            node('Mul', [x, x]);
            node('Mul', [cur, x]);
            node('Mul', [cur, scalar('gelu_k', 0.044715)]);
            node('Add', [x, cur]);
            node('Mul', [cur, scalar('gelu_2c', 2 * Math.sqrt(2 / Math.PI))]);
            node('Sigmoid', [cur]);
            node('Mul', [x, cur]);
            break;
          }
          default: throw cannotExpress('onnx', l);
        }
        break;
      case 'dropout': break; // identity at inference
      case 'batchnorm': {
        const t = normTensors(l), C = t.gamma.length;
        node('BatchNormalization', [cur, constant(`gamma${l.n}`, [C], t.gamma), constant(`beta${l.n}`, [C], t.beta),
          constant(`mean${l.n}`, [C], t.mean), constant(`var${l.n}`, [C], t.var)], [float('epsilon', s.eps as number)]);
        break;
      }
      default: throw cannotExpress('onnx', l);
    }
  }
  if (!flat) node('Flatten', [cur], [int('axis', 1)]);
  node('Softmax', [cur], [int('axis', 1)]);

  const classes = src.spec.classes;
  const model = {
    ir_version: IR_VERSION,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    producer_name: 'wasmnist',
    doc_string: CONTRACT,
    graph: {
      name: src.spec.arch,
      node: nodes,
      initializer: initializers,
      input: [valueInfo('pixels', [C, H, W])],
      output: [valueInfo('probabilities', [classes])],
    },
    metadata_props: Object.entries(metadata(src)).map(([key, value]) => ({ key, value })),
  };
  // The graph's last node writes the output: rename its output to the graph output's name.
  (nodes[nodes.length - 1] as { output: string[] }).output = ['probabilities'];
  const T = ModelProto();
  return T.encode(T.fromObject(model)).finish();
}

/** A float32 graph input/output of shape (N, ...dims), N named so any batch size works. */
function valueInfo(name: string, dims: number[]): object {
  return {
    name,
    type: { tensor_type: { elem_type: FLOAT, shape: { dim: [{ dim_param: 'N' }, ...dims.map((d) => ({ dim_value: d }))] } } },
  };
}

/** The bytes of a float32 array (little-endian hosts, as the safetensors writer assumes). */
function littleEndianBytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();
}
