// The run's one seeded PRNG: parameter init, shuffling, validation split and dropout seeds all
// draw from it, never from Math.random, so the same seed gives the same run. Its whole state is
// four u32 words that a checkpoint stores, so a resumed run draws exactly what it would have.
// Algorithm: sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, PractRand-clean).

export class Rng {
  private s: Uint32Array;

  constructor(seed: number) {
    // Expand the seed with splitmix32 so nearby seeds start far apart.
    this.s = new Uint32Array(4);
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** Uniform integer in [0, 2^32). */
  u32(): number {
    const s = this.s;
    const t = (s[0] + s[1] + s[3]) >>> 0;
    s[3] = (s[3] + 1) >>> 0;
    s[0] = s[1] ^ (s[1] >>> 9);
    s[1] = (s[2] + (s[2] << 3)) >>> 0;
    s[2] = ((s[2] << 21) | (s[2] >>> 11)) >>> 0;
    s[2] = (s[2] + t) >>> 0;
    return t;
  }

  /** Uniform float in [0, 1) with 32 random bits. */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [0, n) (n <= 2^32), without modulo bias. */
  int(n: number): number {
    const limit = 4294967296 - (4294967296 % n);
    let x: number;
    do x = this.u32(); while (x >= limit);
    return x % n;
  }

  /** Standard normal draw (Box-Muller; uses two uniforms per call for a fixed draw count). */
  normal(): number {
    const u = 1 - this.float();
    const v = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Fisher-Yates shuffle in place. */
  shuffle(a: Int32Array | number[]): void {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i]; a[i] = a[j]; a[j] = t;
    }
  }

  /** The whole state, for checkpoints. */
  getState(): number[] {
    return Array.from(this.s);
  }

  setState(state: readonly number[]): void {
    if (state.length !== 4) throw new Error('RNG state must be 4 u32 words');
    for (let i = 0; i < 4; i++) this.s[i] = state[i] >>> 0;
  }
}
