// Builds the browser demo (src/web) into dist/web with esbuild: the page script, the training
// worker and index.html. The engine is bundled from the same sources as the Node build; every
// src/platform/X.js import resolves to its browser twin X.browser.ts, and the bundle may import
// nothing from `node:` (esbuild's browser platform refuses it). Run by `npm run build:web`.
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Redirects the platform adapters to their browser twins; the exporters stay out. */
const browserPlatform = {
  name: 'browser-platform',
  setup(b) {
    b.onResolve({ filter: /\/platform\/\w+\.js$/ }, (args) => {
      const twin = resolve(args.resolveDir, args.path.replace(/\.js$/, '.browser.ts'));
      if (!existsSync(twin)) return { errors: [{ text: `${args.path} has no browser twin (.browser.ts)` }] };
      return { path: twin };
    });
    // Network.export's dynamic import: the exporters write files, so the page leaves them out.
    b.onResolve({ filter: /\/export\/index\.js$/ }, (args) => ({ path: args.path, external: true }));
  },
};

/** Builds dist/web (or outDir); returns the folder. */
export async function buildWeb(outDir = join(root, 'dist', 'web')) {
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: { page: join(root, 'src/web/page.ts'), worker: join(root, 'src/web/worker.ts') },
    outdir: outDir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome114',
    sourcemap: true,
    logLevel: 'warning',
    plugins: [browserPlatform],
  });
  copyFileSync(join(root, 'src/web/index.html'), join(outDir, 'index.html'));
  return outDir;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildWeb();
}
