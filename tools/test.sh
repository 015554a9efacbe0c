#!/usr/bin/env bash
# Configure, build and run the CPU test suite (doctest through CTest). Usage: bash tools/test.sh [build-dir]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
jobs="$(nproc)"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSEAM_BUILD_TESTS=ON -DSEAM_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" -j "$jobs" --output-on-failure --timeout 900
