// npm pack/publish hooks. `prepack`: build (unless WASMNIST_PREBUILT=1: dist/ and build/ are
// fresh, as after `npm ci`), then take `prepare` out of package.json, because npm runs a
// tarball's `prepare` as an install script (it builds a checkout, which needs the compiler, and an
// installed package ships built). `postpack`: put package.json back as it was. Both swap files by
// rename, so package.json is whole at every moment.
import { execSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

const MANIFEST = 'package.json';
const BACKUP = '.package.json.prepack';

if (process.argv[2] === 'restore') {
  if (existsSync(BACKUP)) renameSync(BACKUP, MANIFEST);
} else {
  if (existsSync(BACKUP)) renameSync(BACKUP, MANIFEST); // left by a pack that failed half-way
  if (process.env.WASMNIST_PREBUILT !== '1') execSync('npm run build', { stdio: 'inherit' });
  const text = readFileSync(MANIFEST, 'utf8');
  const pkg = JSON.parse(text);
  delete pkg.scripts.prepare;
  writeFileSync(BACKUP, text);
  // temp file + rename: a process reading package.json meanwhile (a test, npm) never sees it empty
  writeFileSync(`${MANIFEST}.tmp`, JSON.stringify(pkg, null, 2) + '\n');
  renameSync(`${MANIFEST}.tmp`, MANIFEST);
}
