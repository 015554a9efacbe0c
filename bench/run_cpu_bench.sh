#!/usr/bin/env bash
# run_cpu_bench.sh — build the CPU benchmark programs and run them all against LibTorch, writing one
# dated markdown report, bench/results/cpu-YYYY-MM-DD.md (device, threads, LibTorch version, and the
# load average before and after each program: timings taken on a loaded machine are not comparable).
#
#   bench/run_cpu_bench.sh [--quick] [--threads 1,2] [--steps N] [--max-load L] [--wait-minutes M]
#                          [--build-dir DIR] [--out FILE.md]
#
#   --quick          short runs of every program (a smoke test, not figures to keep)
#   --steps N        Fashion-MNIST: time N steps instead of the whole epoch (469 steps)
#   --max-load L     wait until the 1-minute load average is below L before each program (default 1.5)
#   --wait-minutes M give up waiting after M minutes in total and measure anyway, saying so (default 20)
#
# The build uses one compiler job (the machine has 2 cores shared with other people).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build-bench"
threads="1,2"
quick=""
steps=""
max_load="1.5"
wait_minutes=20
out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick="--quick" ;;
    --threads) threads="$2"; shift ;;
    --steps) steps="$2"; shift ;;
    --max-load) max_load="$2"; shift ;;
    --wait-minutes) wait_minutes="$2"; shift ;;
    --build-dir) build="$2"; shift ;;
    --out) out="$2"; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "run_cpu_bench.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
day="$(date -u +%F)"
[[ -n "$out" ]] || out="$root/bench/results/cpu-$day.md"
programs=(bench_gemm bench_conv bench_ops bench_vgg_step bench_fashion_mnist_epoch)

echo "== building ${programs[*]} in $build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSEAM_BUILD_TESTS=OFF -DSEAM_BUILD_EXAMPLES=OFF \
  -DSEAM_BUILD_BENCH=ON >/dev/null
make -C "$build" -j1 "${programs[@]}" >/dev/null

load1() { cut -d' ' -f1 /proc/loadavg; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
deadline=$(( $(date +%s) + 60 * wait_minutes ))
# Wait (within the overall budget) until the 1-minute load is below max_load; say what happened.
wait_for_quiet() {
  while awk -v l="$(load1)" -v m="$max_load" 'BEGIN { exit !(l >= m) }'; do
    if (( $(date +%s) >= deadline )); then
      echo "load $(loadavg) still above $max_load after the ${wait_minutes}-minute budget: measuring anyway" >&2
      return 1
    fi
    echo "load $(loadavg) >= $max_load: waiting 30 s" >&2
    sleep 30
  done
  return 0
}

torch_version="$(dpkg-query -W -f='${Version}' libtorch-dev 2>/dev/null || echo 'not installed')"
commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
git -C "$root" diff --quiet HEAD -- include bench 2>/dev/null || commit="$commit + uncommitted changes in include/ or bench/"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

{
  echo "# CPU benchmarks: seam vs LibTorch, $day"
  echo
  echo "- device: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores" \
       "(L2 $(lscpu 2>/dev/null | awk -F: '/L2 cache/ {gsub(/^ +/, "", $2); print $2}'))"
  echo "- threads: $threads (seam and LibTorch set to the same count in the same process)"
  echo "- LibTorch: Debian libtorch-dev $torch_version (oneDNN convolutions, OpenBLAS matrix products)"
  echo "- compiler: $(g++ --version | head -1); Release build (-O3 -march=native); seam commit $commit"
  echo "- load average (1, 5, 15 min) when the run started: $(loadavg); threshold for a quiet machine: $max_load"
  [[ -n "$quick" ]] && echo "- **--quick run: short samples, a smoke test only**"
  echo
} >"$out"

for p in "${programs[@]}"; do
  quiet="yes"
  wait_for_quiet || quiet="no"
  before="$(loadavg)"
  extra=()
  [[ "$p" == bench_fashion_mnist_epoch && -n "$steps" ]] && extra=(--steps "$steps")
  echo "== $p (load $before)"
  start=$(date +%s)
  "$build/bench/$p" --threads "$threads" $quick "${extra[@]}" --out "$tmp/$p.md" >/dev/null
  after="$(loadavg)"
  {
    # each program's report, its title demoted one level
    sed '1s/^# /## /' "$tmp/$p.md"
    echo
    echo "_load average before: $before, after: $after; $(( $(date +%s) - start )) s$(
      [[ $quiet == no ]] && echo "; **taken under load: figures not reliable**")_"
    echo
  } >>"$out"
done
echo "== wrote $out"
