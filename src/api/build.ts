// The two ways to build a Network, one builder underneath: layer factories through sequential(),
// or an `--arch` string, whose tokens become the same factories (src/model/spec.ts).
import type { Dataset } from '../data/dataset.js';
import type { LayerSpec } from '../model/layer.js';
import { parseArch, sequential as specOf, type ArchOptions } from '../model/spec.js';
import { DEFAULTS } from '../train/config.js';
import { Network, type BackendOptions } from './network.js';

/**
 * A network from an input shape (784, [28, 28] or [1, 28, 28]) and layers in order, ending with
 * dense(classes): `sequential([28, 28], [dense(128), relu(), dense(10)])`.
 */
export function sequential(input: number | readonly number[], layers: readonly LayerSpec[],
  options: BackendOptions = {}): Network {
  return new Network(specOf(input, layers), options);
}

/**
 * A network from an `--arch` string such as '784-128-10' or 'conv16k5-relu-pool2-dense10', for
 * images shaped like `data` (the same builder as sequential). Hidden layers get `activation`
 * (and `dropout`), as with the CLI's flags.
 */
export function fromArch(arch: string, data: Pick<Dataset, 'height' | 'width' | 'classes'>,
  options: Partial<ArchOptions> & BackendOptions = {}): Network {
  const { activation = DEFAULTS.activation, alpha = DEFAULTS.alpha, dropout = DEFAULTS.dropout, ...backend } = options;
  return new Network(parseArch(arch, { activation, alpha, dropout }, data), backend);
}
