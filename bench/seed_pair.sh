#!/usr/bin/env bash
# Times `npm run train -- --preset seed` against bench/seed_numpy.py (the seed in numpy, float32,
# one thread), back to back, so that each ratio comes from one spell of a shared machine.
#
#   bench/seed_pair.sh [PAIRS] [EPOCHS] [more train flags, e.g. --threads 1]
#
# Needs python3 with numpy, and the built project (npm install). Prints one line per pair (the
# training seconds of each: numpy's loop, our `seconds` from --json) and the median ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
PAIRS=${1:-3}
EPOCHS=${2:-1000}
shift $(( $# < 2 ? $# : 2 ))
python3 -c 'import numpy' 2>/dev/null || { echo "seed_pair.sh: needs python3 with numpy (pip install numpy)"; exit 2; }
[ -f dist/src/cli/train.js ] || { echo "seed_pair.sh: build first (npm install, or npm run build)"; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
ratios=()
for p in $(seq 1 "$PAIRS"); do
  np=$(OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python3 bench/seed_numpy.py --epochs "$EPOCHS" |
    sed -n 's/.* epochs in \([0-9.]*\) s .*/\1/p')
  ours=$(node dist/src/cli/train.js --preset seed --epochs "$EPOCHS" --quiet --json --out "$out/run$p" "$@" |
    tail -1 | node -e 'let s = ""; process.stdin.on("data", (d) => s += d).on("end", () => {
      const j = JSON.parse(s); console.log(`${j.seconds} ${j.threads} ${(100 * j.test_accuracy).toFixed(2)}`); })')
  read -r secs threads acc <<< "$ours"
  ratio=$(awk -v a="$np" -v b="$secs" 'BEGIN { printf "%.2f", a / b }')
  ratios+=("$ratio")
  [ "$threads" = 1 ] && tw=thread || tw=threads
  echo "pair $p: numpy float32 ${np} s, ours ${secs} s (${threads} ${tw}, ${acc}% test): ${ratio}x"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }')
echo "median ${median}x over ${PAIRS} pairs of ${EPOCHS} epochs"
