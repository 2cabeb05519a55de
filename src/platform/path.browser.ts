// POSIX path names for a page (file names there are only labels in messages).
const norm = (p: string) => p.replace(/\/+/g, '/');
export const isAbsolute = (p: string): boolean => p.startsWith('/');
export const join = (...parts: string[]): string => norm(parts.filter(Boolean).join('/'));
export const resolve = (...parts: string[]): string => {
  let out = '';
  for (const p of parts) out = isAbsolute(p) ? p : join(out, p);
  return isAbsolute(out) ? norm(out) : `/${norm(out)}`;
};
export const basename = (p: string, ext = ''): string => {
  const b = norm(p).replace(/\/$/, '').split('/').pop() ?? '';
  return ext && b.endsWith(ext) ? b.slice(0, -ext.length) : b;
};
export const dirname = (p: string): string => {
  const i = norm(p).replace(/\/$/, '').lastIndexOf('/');
  return i < 0 ? '.' : i === 0 ? '/' : p.slice(0, i);
};
export const extname = (p: string): string => {
  const b = basename(p);
  const i = b.lastIndexOf('.');
  return i <= 0 ? '' : b.slice(i);
};
export const relative = (_from: string, to: string): string => to;
