// A decode worker: receives { paths }, answers { results } with each file's planes (their buffers
// transferred) or its error line. Started by decode-pool.ts.
import { parentPort } from 'node:worker_threads';
import { decodeFile, type Decoded } from './decode-file.js';

parentPort!.on('message', async (msg: { paths: string[] }) => {
  const results: Decoded[] = [];
  for (const p of msg.paths) results.push(await decodeFile(p));
  const buffers = results.flatMap((r) => (r.ok ? [r.planes.data.buffer as ArrayBuffer] : []));
  parentPort!.postMessage({ results }, buffers);
});
