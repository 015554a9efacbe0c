#!/usr/bin/env bash
# One command on a fresh Debian machine: install what is missing, configure, build, and run the
# main job on the default data: `reproduce --table 2` (examples/reproduce.cpp) trains FashionNet
# and the plain VGG-16 classifier on SynthFashion (generated into out/synthfashion on first use)
# and prints Table 2 beside the papers' rows. Extra arguments are passed to reproduce (e.g.
# --data /path/to/DeepFashion/Category-and-Attribute-Prediction-Benchmark).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/tools/install-deps.sh"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/build" -j "$(nproc)" --target reproduce
mkdir -p "$root/out"
cd "$root"
"$root/build/examples/reproduce" --table 2 --data "$root/out/synthfashion" --log-dir "$root/out/reproduce" \
  --out "$root/out/reproduce_table2.json" "$@"
