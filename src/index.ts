// wasmnist as a library: build a model from layer factories (or an --arch string), train it with
// typed callbacks, evaluate, predict, save and load it. ESM only: `import { ... } from 'wasmnist'`.
// The reference for all of it is docs/api.md.
export { sequential, fromArch } from './api/build.js';
export { Network, load, type BackendOptions, type Evaluation } from './api/network.js';
export {
  train, train as fit, type TrainOptions, type TrainSettings, type TrainCallbacks, type TrainData, type TrainInfo,
  type TrainResult, type BatchLogs,
} from './api/train.js';
export { loadMnist, loadIdx, loadCsv, loadImageFolder, loadCifar10 } from './api/data.js';
export type { FolderOptions } from './data/folder.js';
export {
  exportModel, FORMATS as EXPORT_FORMATS, type ExportOptions, type ExportResult, type ExportFormat, type ExportSource,
} from './export/index.js';
export {
  dense, conv2d, maxPool, avgPool, activation, relu, leakyRelu, sigmoid, tanh, gelu, dropout, batchNorm, type ModelSpec, type ArchOptions,
} from './model/spec.js';
export type { LayerSpec, Shape, InitRule } from './model/layer.js';
export type { Dataset } from './data/dataset.js';
export type { EpochMetrics, StepInfo } from './train/trainer.js';
export type { TrainConfig, ScheduleKind } from './train/config.js';
export { DEFAULTS, PRESETS } from './train/config.js';
export type { Activation, OptimizerKind } from './engine/backend.js';
export type { BackendName } from './engine/index.js';
export type { Normalization } from './io/checkpoint.js';
export { UserError } from './errors.js';
export { KernelTrapError } from './engine/wasm.js';
