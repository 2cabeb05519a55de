#!/usr/bin/env bash
# Same bits: trains short runs of the default MLP, a small CNN and the seed preset on 1 and 2
# threads and prints the sha256 of each run's weights.npz. A refactor that must not change any
# result leaves every line of this output as it was (compare with `diff`).
# Usage: bench/same_bits.sh [project dir, default: this checkout]   (needs a build: npm run build)
set -euo pipefail
dir=$(cd "${1:-$(dirname "$0")/..}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run() {  # name threads args...
  local name=$1 threads=$2; shift 2
  (cd "$dir" && node dist/src/cli/train.js --quiet --threads "$threads" --out "$tmp/$name-$threads" "$@" >/dev/null)
  echo "$name threads=$threads $(sha256sum "$tmp/$name-$threads/weights.npz" | cut -c1-16)"
}
for t in 1 2; do
  run mlp "$t" --limit-train 10000 --limit-test 500 --epochs 2
  run mlp-dense "$t" --limit-train 2000 --limit-test 500 --epochs 1 --no-skip-zeros --optimizer momentum --lr 0.05 --dropout 0.2
  run cnn "$t" --preset cnn --limit-train 2000 --limit-test 200 --epochs 1
  run seed "$t" --preset seed --limit-train 6000 --limit-test 500 --epochs 20
done
