// Inflate and CRC for the gzip and zip readers: node:zlib in Node, zlib.browser.ts (fflate) in a page.
export { constants, crc32, gunzipSync, inflateRawSync } from 'node:zlib';
