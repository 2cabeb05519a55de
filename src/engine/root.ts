// Where the package lives on disk, found from this file whether it runs from src/ (vitest) or
// from dist/src/ (the compiled CLI).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | null = null;

export function projectRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'asconfig.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the project root (package.json next to asconfig.json)');
    dir = up;
  }
  cached = dir;
  return dir;
}
