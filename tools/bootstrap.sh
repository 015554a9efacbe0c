#!/usr/bin/env bash
# One command on a fresh Debian machine: install what is missing, configure, build, and run the
# main job on the default data (for now: Fashion-MNIST training, examples/fashion_mnist.cpp).
# Extra arguments are passed to the main job.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/tools/install-deps.sh"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/build" -j "$(nproc)" --target fashion_mnist
mkdir -p "$root/out"
"$root/build/examples/fashion_mnist" --out "$root/out/fashion_mnist.json" "$@"
