// Where the package lives on disk, found from this file whether it runs from src/ (vitest), from
// dist/src/ (the compiled CLI) or from an installed package (node_modules/wasmnist/dist/src/).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | null = null;

export function projectRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!isOurs(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the project root (the package.json named wasmnist)');
    dir = up;
  }
  cached = dir;
  return dir;
}

function isOurs(packageJson: string): boolean {
  try {
    return JSON.parse(readFileSync(packageJson, 'utf8')).name === 'wasmnist';
  } catch {
    return false;
  }
}
