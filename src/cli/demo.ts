// `wasmnist demo [--port N]`: serves the browser demo (src/web, built into dist/web by
// `npm run build:web`) on localhost, with the bundled MNIST and the kernels beside it. Every
// response carries the cross-origin-isolation headers (COOP/COEP): without them a page gets no
// SharedArrayBuffer, hence no shared WebAssembly memory and no threads. See docs/browser.md.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { Command } from 'commander';
import { projectRoot } from '../engine/root.js';
import { FlagError, UserError } from '../errors.js';
import { intArg } from './args.js';
import { runIfMain } from './common.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.map': 'application/json',
  '.wasm': 'application/wasm', '.gz': 'application/octet-stream', '.css': 'text/css',
};

/** URL prefix -> folder under the package root; the page itself is served from dist/web. */
const MOUNTS: [string, string][] = [
  ['/build/', 'build'],
  // TensorFlow.js's wasm files, for the page's measuring mode (?compare=tfjs; a devDependency).
  ['/tfjs/core/', 'node_modules/@tensorflow/tfjs/dist'],
  ['/tfjs/', 'node_modules/@tensorflow/tfjs-backend-wasm/dist'],
  ['/data/mnist/', 'data/mnist'],
  ['/', 'dist/web'],
];

export interface DemoServer { url: string; port: number; close(): Promise<void> }

/** Starts the demo's server on 127.0.0.1 (port 0: any free one). */
export function startDemoServer(port: number, root = projectRoot()): Promise<DemoServer> {
  if (!existsSync(join(root, 'dist', 'web', 'index.html'))) {
    throw new UserError(`the demo page is not built (${join(root, 'dist', 'web')} is missing): run \`npm run build:web\``);
  }
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const [prefix, dir] = MOUNTS.find(([p]) => path.startsWith(p))!;
    const base = join(root, dir);
    const file = normalize(join(base, path === '/' ? 'index.html' : path.slice(prefix.length)));
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Cache-Control': 'no-cache',
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, headers).end();
      return;
    }
    if (!file.startsWith(base + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }).end(`not found: ${path}\n`);
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(req.method === 'HEAD' ? undefined : readFileSync(file));
  });
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE'
      ? new UserError(`port ${port} is in use: pass another with --port`)
      : e.code === 'EACCES' ? new UserError(`port ${port} needs privileges: pass --port 1024 or above`) : e));
    server.listen(port, '127.0.0.1', () => {
      const p = (server.address() as { port: number }).port;
      resolve({ url: `http://localhost:${p}/`, port: p,
        close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) });
    });
  });
}

export async function main(argv: string[]): Promise<number> {
  const p = new Command('wasmnist demo')
    .description('Serve the browser demo on localhost: train on MNIST in the page, watch the curves, draw a digit.')
    .option('--port <n>', 'port on 127.0.0.1 (0 = any free one)', intArg(0), 8080)
    .addHelpText('after', `
Open the printed address in a browser (Chrome, Edge or Firefox). URL parameters preset the page:
  ?epochs=1&limit=10000&threads=2&seed=1&preset=cnn
The page loads a checkpoint.safetensors from \`wasmnist train\` (file picker or drag and drop) and
downloads the one it trains. Ctrl-C stops the server. See docs/browser.md.`)
    .exitOverride()
    .configureOutput({ outputError: () => { /* runMain prints one line */ } });
  p.parse(argv, { from: 'user' });
  const port = p.opts().port as number;
  if (port > 65535) throw new FlagError(`--port must be at most 65535, got ${port}`);
  const s = await startDemoServer(port);
  process.stdout.write(`wasmnist demo: open ${s.url}   (Ctrl-C stops it)\n`);
  await new Promise<void>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve());
  });
  await s.close();
  return 0;
}

runIfMain(import.meta.url, main);
