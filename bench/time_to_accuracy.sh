#!/usr/bin/env bash
# Time to accuracy, back to back: for each seed, PyTorch's recipe (bench/torch_recipe.py), then
# `--preset fast`, then optionally the recipe's network in wasmnist, one after another so that each
# pair shares the machine's state. Prints one markdown row per run: seed, load average at its
# start, training seconds, test accuracy, peak RSS of the whole process (MiB), and the ratio of
# each of ours to the PyTorch run before it. Measuring only: PyTorch is not a dependency.
# Usage: bench/time_to_accuracy.sh PYTHON [seeds...]   (default seeds 1 2 3; needs npm run build)
#   RECIPE=1 also runs the recipe's network; THREADS (default 2).
set -euo pipefail
py=${1:?usage: bench/time_to_accuracy.sh /path/to/python-with-torch [seeds...]}
shift
seeds=${*:-1 2 3}
dir=$(cd "$(dirname "$0")/.." && pwd)
threads=${THREADS:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
recipe=(--arch conv24k5-pool2-relu-conv32k3-pool2-relu-dense256-relu-dense10 --optimizer adam --lr 0.01
  --beta1 0.7 --beta2 0.9 --schedule onecycle --batch 256 --epochs 1 --scale 0.012728233130318015
  --shift -0.424212917883804)

load() { cut -d' ' -f1 /proc/loadavg; }
# Prints "train_seconds test_accuracy" from the JSON line on stdin (ours or PyTorch's keys).
fields() { node -e 'const d = JSON.parse(require("fs").readFileSync(0, "utf8").trim().split("\n").pop());
  console.log((d.train_seconds ?? d.train_s).toFixed(3), ((d.test_accuracy ?? d.test_acc) * 100).toFixed(2));'; }
rss() { awk '/Maximum resident/ { printf "%.0f", $NF / 1024 }' "$1"; }
ours() {  # name seed args...
  local name=$1 seed=$2; shift 2
  local l; l=$(load)
  /usr/bin/time -v node "$dir/dist/src/cli/bin.js" train --quiet --json --threads "$threads" --seed "$seed" \
    --out "$tmp/$name-$seed" "$@" >"$tmp/out" 2>"$tmp/time"
  read -r s acc < <(fields <"$tmp/out")
  echo "| $name | $seed | $l | $s | $acc% | $(rss "$tmp/time") | $(node -e "console.log(($s / $torch_s).toFixed(2))")x |"
}

echo "| run | seed | load | training s | test accuracy | peak RSS MiB | / PyTorch |"
echo "|---|--:|--:|--:|--:|--:|--:|"
for seed in $seeds; do
  l=$(load)
  /usr/bin/time -v "$py" "$dir/bench/torch_recipe.py" --threads "$threads" --seeds "$seed" >"$tmp/out" 2>"$tmp/time"
  read -r torch_s acc < <(fields <"$tmp/out")
  echo "| PyTorch recipe | $seed | $l | $torch_s | $acc% | $(rss "$tmp/time") | |"
  ours 'wasmnist --preset fast' "$seed" --preset fast
  if [ -n "${RECIPE:-}" ]; then ours 'wasmnist, recipe network' "$seed" "${recipe[@]}"; fi
done
