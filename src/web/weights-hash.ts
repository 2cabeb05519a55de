// A short fingerprint of a network's weights, so that a page run and a Node run can be compared
// bit for bit (test/browser.test.ts): FNV-1a over every parameter's bytes, in the model's order.
export function weightsHash(weights: Record<string, Float32Array>): string {
  let h = 0x811c9dc5;
  for (const name of Object.keys(weights)) {
    const w = weights[name];
    const b = new Uint8Array(w.buffer, w.byteOffset, w.byteLength);
    for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** A float's exact bits as hex (a loss printed in decimal may round two different values alike). */
export function bitsOf(x: number): string {
  const v = new DataView(new ArrayBuffer(8));
  v.setFloat64(0, x);
  return v.getBigUint64(0).toString(16);
}
