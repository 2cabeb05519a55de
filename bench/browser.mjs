// The browser demo's training step against Node's and TensorFlow.js's, in one sitting:
//   npm run build && node bench/browser.mjs [--rounds 3] [--screenshot docs/demo.png]
// Each round trains one epoch of the default MLP (all 60,000 rows, seed 1) in the page (Debian's
// Chromium through playwright-core) and then in Node through the library, alternately, at 2 and 1
// threads; the middle round also times TensorFlow.js's wasm backend (threads on) in the same page
// visit (?compare=tfjs). ms per step = epoch training time (evaluation excluded) / steps. Prints
// one JSON line per round; the log of runs is in bench/results/.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { startDemoServer } from '../dist/src/cli/demo.js';
import { DEFAULTS, fromArch, loadMnist, train } from '../dist/src/index.js';

const { values: o } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, screenshot: { type: 'string' } } });
const server = await startDemoServer(0);
const profile = mkdtempSync(join(tmpdir(), 'wasmnist-chromium-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, viewport: { width: 1240, height: 1000 },
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
});
const page = await ctx.newPage();
page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
const data = loadMnist();
const steps = Math.ceil(data.train.n / Number(DEFAULTS.batch));

async function pageRun(threads, compare, epochs = 1) {
  await page.goto(`${server.url}?epochs=${epochs}&limit=0&threads=${threads}&seed=1${compare ? '&compare=tfjs' : ''}`);
  await page.getByTestId('train').click();
  await page.waitForFunction((c) => (c ? document.getElementById('compare').dataset.msPerStep
    : document.getElementById('step').textContent !== '–'), compare, { timeout: 600_000 });
  const tfjs = compare ? await page.locator('#compare').getAttribute('data-ms-per-step') : null;
  return { ms: Number(await page.getByTestId('ms-per-step').textContent()), hash: await page.getByTestId('weights-hash').textContent(),
    tfjs: tfjs && Number(tfjs), tfjsText: compare ? await page.locator('#compare').textContent() : null };
}

async function nodeRun(threads) {
  const net = fromArch(DEFAULTS.arch, data.train, { threads, backend: 'wasm-simd' });
  const r = await train(net, data, { epochs: 1, seed: 1 });
  net.dispose();
  return { ms: (data.train.n / r.history[0].samples_per_s) * 1000 / steps };
}

for (const threads of [2, 1]) {
  for (let round = 0; round < Number(o.rounds); round++) {
    const p = await pageRun(threads, round === 1);
    const n = await nodeRun(threads);
    console.log(JSON.stringify({ threads, round, pageMs: p.ms, nodeMs: +n.ms.toFixed(2), pageOverNode: +(p.ms / n.ms).toFixed(3),
      ...(p.tfjs ? { tfjsMs: +p.tfjs.toFixed(2), tfjsOverPage: +(p.tfjs / p.ms).toFixed(1), tfjs: p.tfjsText } : {}) }));
  }
}

if (o.screenshot) {
  // The picture for the docs: a few epochs (curves with some points), then a drawn 7.
  await pageRun(2, false, 4);
  const canvas = page.getByTestId('draw-canvas');
  await canvas.scrollIntoViewIfNeeded();
  const b = await canvas.boundingBox();
  const pts = [[0.25, 0.22], [0.75, 0.22], [0.6, 0.5], [0.45, 0.82]];
  await page.mouse.move(b.x + b.width * pts[0][0], b.y + b.height * pts[0][1]);
  await page.mouse.down();
  for (let i = 1; i < pts.length; i++) {
    for (let t = 0.1; t <= 1.001; t += 0.1) {
      const x = pts[i - 1][0] + (pts[i][0] - pts[i - 1][0]) * t, y = pts[i - 1][1] + (pts[i][1] - pts[i - 1][1]) * t;
      await page.mouse.move(b.x + b.width * x, b.y + b.height * y);
    }
  }
  await page.mouse.up();
  await page.waitForFunction(() => document.querySelector('[data-testid=prediction]').dataset.top !== undefined);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: o.screenshot, fullPage: true });
  console.log(`wrote ${o.screenshot}`);
}
await ctx.close();
await server.close();
rmSync(profile, { recursive: true, force: true });
