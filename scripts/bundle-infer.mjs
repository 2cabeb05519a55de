// `wasmnist infer` starts from one bundled module instead of some fifty: resolving and compiling
// each ES module is most of what a one-picture run costs on top of Node's own start. Runs after
// tsc (part of `npm run build:ts`), from the compiled dist/src/cli/infer.js, so the bundle is never
// older than the code; dist/src/cli/bin.js loads it for `infer`, and the unbundled module stays the
// entry for `npm run infer` and the tests. pureimage stays external (it reads its fonts at run time).
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/src/cli/infer.js'],
  outfile: 'dist/src/cli/infer.bundle.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['pureimage'],
  // the CommonJS decoders (pngjs, jpeg-js, omggif) call require() for Node's modules
  banner: { js: "import { createRequire as __wasmnistRequire } from 'node:module'; const require = __wasmnistRequire(import.meta.url);" },
  logLevel: 'error',
});
