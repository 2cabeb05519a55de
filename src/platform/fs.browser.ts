// A page has no file system: the same names as fs.ts, each failing with one line.
import { UserError } from '../errors.js';

function none(name: string): never {
  throw new UserError(`${name}: there are no files in a browser page; pass the file's bytes instead`);
}
export const constants = { F_OK: 0, R_OK: 4, W_OK: 2, X_OK: 1, O_RDONLY: 0 } as const;
export const closeSync = (..._: unknown[]): never => none('closeSync');
export const existsSync = (..._: unknown[]): boolean => false;
export const fstatSync = (..._: unknown[]): never => none('fstatSync');
export const fsyncSync = (..._: unknown[]): never => none('fsyncSync');
export const mkdirSync = (..._: unknown[]): never => none('mkdirSync');
export const openSync = (..._: unknown[]): never => none('openSync');
export const readFileSync = (..._: unknown[]): never => none('readFileSync');
export const readSync = (..._: unknown[]): never => none('readSync');
export const readdirSync = (..._: unknown[]): never => none('readdirSync');
export const renameSync = (..._: unknown[]): never => none('renameSync');
export const rmSync = (..._: unknown[]): never => none('rmSync');
export const statSync = (..._: unknown[]): never => none('statSync');
export const unlinkSync = (..._: unknown[]): never => none('unlinkSync');
export const writeSync = (..._: unknown[]): never => none('writeSync');
