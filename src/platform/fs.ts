// The file system, for the core modules that read and write files (data loaders, checkpoints,
// atomic writes). In Node it is node:fs; the browser build swaps in fs.browser.ts, where every
// call says that a page has no files (the page hands bytes to the decoders instead).
export {
  closeSync, constants, existsSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, readdirSync,
  renameSync, rmSync, statSync, unlinkSync, writeSync,
} from 'node:fs';
