// Reference softmax and fused softmax + cross-entropy.
// For one row with logits z and label t:  p = softmax(z),  loss = -log p_t
//   = log(sum_j e^(z_j - m)) - (z_t - m)   with m = max_j z_j, so e^ never overflows;
// and d loss / d z_j = p_j - [j == t]. The gradient of the mean over N rows divides by N (N = B
// for one batch; a full batch that goes through in chunks passes its own size).

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

/**
 * Returns the summed loss; dlogits (optional) gets (softmax - onehot) / N; correct (optional) gets
 * countCorrect of these rows in correct[0].
 */
export function softmaxCrossEntropy(dlogits: Float32Array | null, logits: Float32Array,
  labels: Int32Array, B: number, C: number, N = B, correct: Int32Array | null = null): number {
  if (correct) correct[0] = countCorrect(logits, labels, B, C); // before dlogits, which may alias logits
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
        dlogits[row + j] = (p - (j === t ? 1 : 0)) / N;
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
