// The demo page's main thread: controls, live curves, the confusion matrix, the drawing canvas and
// the checkpoint picker. The engine runs in worker.ts (this thread may not block in Atomics.wait);
// a drawn digit goes through infer's own preparation (src/infer/prepare.ts) before the model.
import { NoInkError, prepareDigit } from '../infer/prepare.js';
import { tfjsStep } from './compare.js';
import type { FromWorker, TestResult, ToWorker } from './protocol.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
const send = (m: ToWorker, transfer: Transferable[] = []) => worker.postMessage(m, transfer);

// URL parameters preset the controls: ?epochs=1&limit=10000&threads=2&seed=1&preset=cnn
const params = new URLSearchParams(location.search);
for (const id of ['epochs', 'limit', 'threads', 'seed', 'preset']) {
  const v = params.get(id);
  if (v !== null) ($(id) as HTMLInputElement).value = v;
}
if (!params.has('threads')) ($('threads') as HTMLInputElement).value = String(navigator.hardwareConcurrency || 1);
$('isolated').textContent = crossOriginIsolated
  ? `Cross-origin isolated: shared memory on, ${navigator.hardwareConcurrency} cores.`
  : 'Not cross-origin isolated: serve the page with `wasmnist demo` (it sends COOP/COEP headers).';

function status(text: string, error = false): void {
  $('status').textContent = text;
  $('status').className = error ? 'error' : '';
}

// ---- curves: one point per report, x = fraction of the run ----
interface Series { color: string; points: [number, number][] }
const curves = {
  loss: { train: { color: '#3b6fd8', points: [] } as Series, test: { color: '#d8643b', points: [] } as Series },
  acc: { train: { color: '#3b6fd8', points: [] } as Series, test: { color: '#d8643b', points: [] } as Series },
};

function plot(id: 'loss' | 'acc'): void {
  const c = $<HTMLCanvasElement>(id);
  const g = c.getContext('2d')!;
  const series = Object.values(curves[id]);
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  g.clearRect(0, 0, c.width, c.height);
  if (ys.length === 0) return;
  const lo = id === 'acc' ? Math.min(...ys, 0.9) : 0;
  const hi = id === 'acc' ? 1 : Math.max(...ys) * 1.05;
  const X = (x: number) => 30 + x * (c.width - 40);
  const Y = (y: number) => c.height - 20 - ((y - lo) / (hi - lo || 1)) * (c.height - 30);
  g.strokeStyle = '#ccc';
  g.fillStyle = '#666';
  g.font = '10px sans-serif';
  g.strokeRect(30, 10, c.width - 40, c.height - 30);
  g.fillText(hi.toFixed(id === 'acc' ? 2 : 2), 0, 14);
  g.fillText(lo.toFixed(2), 0, c.height - 20);
  for (const s of series) {
    g.strokeStyle = g.fillStyle = s.color;
    g.beginPath();
    s.points.forEach(([x, y], i) => (i ? g.lineTo(X(x), Y(y)) : g.moveTo(X(x), Y(y))));
    g.stroke();
    if (s.points.length === 1 || s === curves[id].test) for (const [x, y] of s.points) g.fillRect(X(x) - 2, Y(y) - 2, 4, 4);
  }
  g.fillStyle = '#3b6fd8'; g.fillText('train', c.width - 80, c.height - 5);
  g.fillStyle = '#d8643b'; g.fillText('test', c.width - 40, c.height - 5);
}

function showTest(t: TestResult): void {
  const el = $('test-accuracy');
  el.textContent = `${(t.accuracy * 100).toFixed(2)}%`;
  el.dataset.correct = String(t.correct);
  el.dataset.n = String(t.n);
  el.dataset.accuracy = String(t.accuracy);
  const max = Math.max(...t.confusion.flat());
  const head = `<tr><th></th>${t.confusion.map((_, j) => `<th>${j}</th>`).join('')}</tr>`;
  const rows = t.confusion.map((row, i) => `<tr><th>${i}</th>${row.map((v, j) => {
    const a = v === 0 ? 0 : 0.08 + 0.92 * Math.sqrt(v / max);
    const hue = i === j ? '59,111,216' : '216,60,59';
    return `<td style="background: rgba(${hue},${a.toFixed(3)}); color: ${a > 0.5 ? '#fff' : '#222'}">${v}</td>`;
  }).join('')}</tr>`).join('');
  $('confusion').innerHTML = `<table class="confusion">${head}${rows}</table>`;
}

// ---- training ----
let epochs = 1;
$('train').addEventListener('click', () => {
  const num = (id: string) => Number(($(id) as HTMLInputElement).value);
  epochs = Math.max(1, num('epochs'));
  for (const k of ['loss', 'acc'] as const) for (const s of Object.values(curves[k])) s.points = [];
  plot('loss'); plot('acc');
  $('test-accuracy').textContent = '–';
  delete $('test-accuracy').dataset.accuracy;
  ($('train') as HTMLButtonElement).disabled = true;
  ($('save') as HTMLButtonElement).disabled = true;
  send({ type: 'train', preset: ($('preset') as HTMLSelectElement).value as 'default' | 'cnn', epochs,
    limit: num('limit'), threads: Math.max(1, num('threads')), seed: num('seed') });
});
$('save').addEventListener('click', () => send({ type: 'save' }));

// ---- drawing ----
const draw = $<HTMLCanvasElement>('draw');
const pen = draw.getContext('2d', { willReadFrequently: true })!;
function clear(): void {
  pen.fillStyle = '#fff';
  pen.fillRect(0, 0, draw.width, draw.height);
  $('prediction').textContent = '–';
  $('bars').innerHTML = '';
}
clear();
let down = false;
const at = (e: PointerEvent): [number, number] => {
  const r = draw.getBoundingClientRect();
  return [(e.clientX - r.left) * draw.width / r.width, (e.clientY - r.top) * draw.height / r.height];
};
draw.addEventListener('pointerdown', (e) => {
  down = true;
  draw.setPointerCapture(e.pointerId);
  pen.strokeStyle = '#000';
  pen.lineWidth = 18;
  pen.lineCap = pen.lineJoin = 'round';
  pen.beginPath();
  pen.moveTo(...at(e));
  pen.lineTo(...at(e));
  pen.stroke();
});
draw.addEventListener('pointermove', (e) => {
  if (!down) return;
  pen.lineTo(...at(e));
  pen.stroke();
});
const finish = () => {
  if (!down) return;
  down = false;
  const img = pen.getImageData(0, 0, draw.width, draw.height);
  try {
    const { pixels } = prepareDigit({ width: img.width, height: img.height, data: new Uint8Array(img.data.buffer) });
    send({ type: 'predict', pixels });
  } catch (e) {
    $('prediction').textContent = e instanceof NoInkError ? 'draw a digit' : String(e);
  }
};
draw.addEventListener('pointerup', finish);
draw.addEventListener('pointercancel', finish);
$('clear').addEventListener('click', clear);

// ---- checkpoints: file picker or drag and drop ----
async function loadFile(f: File): Promise<void> {
  status(`reading ${f.name}…`);
  send({ type: 'load', name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) });
}
$('file').addEventListener('change', () => {
  const f = ($('file') as HTMLInputElement).files?.[0];
  if (f) void loadFile(f);
});
const drop = $('drop');
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const f = e.dataTransfer?.files[0];
  if (f) void loadFile(f);
});

// ---- ?compare=tfjs: TensorFlow.js's wasm backend, same model and batch, same visit ----
async function compareTfjs(ours: number, threads: number): Promise<void> {
  const el = $('compare');
  el.textContent = 'timing TensorFlow.js (wasm backend)…';
  try {
    const t = await tfjsStep(threads);
    el.dataset.msPerStep = String(t.msPerStep);
    console.log(JSON.stringify(t));
    el.textContent = `TensorFlow.js ${t.backend} (${t.threads} threads, SIMD ${t.simd ? 'on' : 'off'}): ${t.msPerStep.toFixed(2)} ms per step, ` +
      `${(t.msPerStep / ours).toFixed(1)}x this engine's`;
  } catch (e) {
    el.textContent = `TensorFlow.js comparison failed: ${(e as Error).message}`;
  }
}

// ---- the worker's messages ----
worker.onmessage = (e: MessageEvent<FromWorker>) => {
  const m = e.data;
  switch (m.type) {
    case 'status': status(m.text); break;
    case 'begin':
      status(`training ${m.arch} (${m.params.toLocaleString()} parameters) on ${m.threads} thread(s), ` +
        `${m.stepsPerEpoch} steps per epoch…`);
      break;
    case 'batch': {
      const x = (m.epoch - 1 + m.step / m.stepsPerEpoch) / epochs;
      curves.loss.train.points.push([x, m.loss]);
      curves.acc.train.points.push([x, m.acc]);
      plot('loss'); plot('acc');
      status(`epoch ${m.epoch}/${epochs}, step ${m.step}/${m.stepsPerEpoch}: loss ${m.loss.toFixed(4)}, ` +
        `accuracy ${(m.acc * 100).toFixed(2)}%, ${Math.round(m.samplesPerSec).toLocaleString()} images/s`);
      break;
    }
    case 'epoch':
      curves.loss.test.points.push([m.metrics.epoch / epochs, m.metrics.test_loss ?? NaN]);
      curves.acc.test.points.push([m.metrics.epoch / epochs, m.test.accuracy]);
      plot('loss'); plot('acc');
      showTest(m.test);
      break;
    case 'done':
      showTest(m.test);
      $('hash').textContent = m.hash;
      $('hash').dataset.firstLossBits = m.firstLossBits;
      $('step').textContent = m.msPerStep.toFixed(2);
      status(`done: ${(m.test.accuracy * 100).toFixed(2)}% on the ${m.test.n.toLocaleString()} test images. Draw a digit below.`);
      ($('train') as HTMLButtonElement).disabled = false;
      ($('save') as HTMLButtonElement).disabled = false;
      if (params.get('compare') === 'tfjs') void compareTfjs(m.msPerStep, m.threads);
      break;
    case 'loaded':
      showTest(m.test);
      status(`loaded ${m.name} (${m.arch}): ${(m.test.accuracy * 100).toFixed(2)}% on the test images. Draw a digit below.`);
      ($('save') as HTMLButtonElement).disabled = false;
      break;
    case 'prediction': {
      const order = m.probs.map((p, i) => [p, i]).sort((a, b) => b[0] - a[0]);
      const el = $('prediction');
      el.textContent = order.slice(0, 3).map(([p, i]) => `${m.classNames[i]} (${(p * 100).toFixed(1)}%)`).join('  ·  ');
      el.dataset.top = m.classNames[order[0][1]];
      $('bars').innerHTML = m.probs.map((p, i) => `<div><span class="name">${m.classNames[i]}</span>` +
        `<span class="bar" style="width:${Math.max(1, p * 200).toFixed(0)}px"></span>${(p * 100).toFixed(1)}%</div>`).join('');
      break;
    }
    case 'checkpoint': {
      const a = document.createElement('a');
      a.href = URL.createObjectURL(new Blob([m.bytes], { type: 'application/octet-stream' }));
      a.download = 'checkpoint.safetensors';
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
      break;
    }
    case 'error':
      status(m.message, true);
      ($('train') as HTMLButtonElement).disabled = false;
      break;
  }
};
