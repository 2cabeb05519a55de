// Reference softmax and fused softmax + cross-entropy.
// For one row with logits z and label t:  p = softmax(z),  loss = -log p_t
//   = log(sum_j e^(z_j - m)) - (z_t - m)   with m = max_j z_j, so e^ never overflows;
// and d loss / d z_j = p_j - [j == t]. Over a batch the mean loss divides both by B.

export function softmaxForward(probs: Float32Array, logits: Float32Array, B: number, C: number): void {
  for (let b = 0; b < B; b++) {
    const row = b * C;
    let max = -Infinity;
    for (let j = 0; j < C; j++) max = Math.max(max, logits[row + j]);
    let sum = 0;
    for (let j = 0; j < C; j++) sum += Math.exp(logits[row + j] - max);
    for (let j = 0; j < C; j++) probs[row + j] = Math.exp(logits[row + j] - max) / sum;
  }
}

/** Returns the summed loss; dlogits (optional) gets (softmax - onehot) / B. */
export function softmaxCrossEntropy(dlogits: Float32Array | null, logits: Float32Array,
  labels: Int32Array, B: number, C: number): number {
  let total = 0;
  for (let b = 0; b < B; b++) {
    const row = b * C;
    const t = labels[b];
    let max = -Infinity;
    for (let j = 0; j < C; j++) max = Math.max(max, logits[row + j]);
    let sum = 0;
    for (let j = 0; j < C; j++) sum += Math.exp(logits[row + j] - max);
    total += Math.log(sum) - (logits[row + t] - max);
    if (dlogits) {
      for (let j = 0; j < C; j++) {
        const p = Math.exp(logits[row + j] - max) / sum;
        dlogits[row + j] = (p - (j === t ? 1 : 0)) / B;
      }
    }
  }
  return total;
}

/** Rows whose first maximum sits at the label. */
export function countCorrect(logits: Float32Array, labels: Int32Array, B: number, C: number): number {
  let correct = 0;
  for (let b = 0; b < B; b++) {
    let best = 0;
    for (let j = 1; j < C; j++) if (logits[b * C + j] > logits[b * C + best]) best = j;
    if (best === labels[b]) correct++;
  }
  return correct;
}
