// Path names, for the core modules that name files. node:path in Node; path.browser.ts in a page.
export { basename, dirname, extname, isAbsolute, join, relative, resolve } from 'node:path';
