#!/usr/bin/env bash
# run_cpu_bench.sh — build the CPU benchmark programs and run them all against LibTorch, writing one
# dated markdown report, bench/results/cpu-YYYY-MM-DD.md (device, threads, LibTorch version, and for
# each program how busy the machine was before and during its run: timings taken while other work
# runs on these 2 cores are not comparable, and are flagged).
#
#   bench/run_cpu_bench.sh [--quick] [--threads 1,2] [--steps N] [--max-busy C] [--wait-minutes M]
#                          [--build-dir DIR] [--out FILE.md]
#
#   --quick          short runs of every program (a smoke test, not figures to keep)
#   --steps N        Fashion-MNIST: time N steps instead of the whole epoch (469 steps)
#   --max-busy C     before each program, wait until other processes keep at most C cores busy
#                    (measured over 5 s from /proc/stat; default 0.3)
#   --wait-minutes M give up waiting after M minutes in total and measure anyway, saying so (default 20)
#
# The build uses one compiler job (the machine has 2 cores shared with other people).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build-bench"
threads="1,2"
quick=""
steps=""
max_busy="0.3"
wait_minutes=20
out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick="--quick" ;;
    --threads) threads="$2"; shift ;;
    --steps) steps="$2"; shift ;;
    --max-busy) max_busy="$2"; shift ;;
    --wait-minutes) wait_minutes="$2"; shift ;;
    --build-dir) build="$2"; shift ;;
    --out) out="$2"; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "run_cpu_bench.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
day="$(date -u +%F)"
[[ -n "$out" ]] || out="$root/bench/results/cpu-$day.md"
# most important first: the machine may get busy again halfway through
programs=(bench_conv bench_vgg_step bench_fashion_mnist_epoch bench_ops bench_gemm)

echo "== building ${programs[*]} in $build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSEAM_BUILD_TESTS=OFF -DSEAM_BUILD_EXAMPLES=OFF \
  -DSEAM_BUILD_BENCH=ON >/dev/null
make -C "$build" -j1 "${programs[@]}" >/dev/null

load1() { cut -d' ' -f1 /proc/loadavg; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
cores="$(nproc)"
tick="$(getconf CLK_TCK)"
# "busy idle" CPU jiffies summed over all cores (steal counts as busy: another guest took the core).
cpu_jiffies() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat; }
# Idle cores over the next 5 seconds, e.g. "1.97". The load average is a poor guide right after a
# benchmark of ours ended (it decays over minutes), so quiet is judged from what the cores do now.
idle_cores() {
  local b0 i0 b1 i1
  read -r b0 i0 < <(cpu_jiffies)
  sleep 5
  read -r b1 i1 < <(cpu_jiffies)
  awk -v b=$((b1 - b0)) -v i=$((i1 - i0)) -v n="$cores" 'BEGIN { printf "%.2f", ((b + i) > 0 ? n * i / (b + i) : n) }'
}
deadline=$(( $(date +%s) + 60 * wait_minutes ))
# Wait (within the overall budget) until other processes keep at most max_busy cores busy.
quiet_threshold() { awk -v n="$cores" -v m="$max_busy" 'BEGIN { printf "%.2f", n - m }'; }
wait_for_quiet() {
  local idle
  while idle="$(idle_cores)"; awk -v i="$idle" -v t="$(quiet_threshold)" 'BEGIN { exit !(i < t) }'; do
    if (( $(date +%s) >= deadline )); then
      echo "only $idle of $cores cores idle (load $(loadavg)) after the ${wait_minutes}-minute budget: measuring anyway" >&2
      last_idle="$idle"
      return 1
    fi
    echo "only $idle of $cores cores idle (load $(loadavg)): waiting 25 s" >&2
    sleep 25
  done
  last_idle="$idle"
  return 0
}

# LibTorch's matrix products go to whatever libblas.so.3 the system selects: OpenBLAS, or Debian's
# unoptimised reference BLAS (netlib), which is ~30x slower. Say which, so a reader can tell.
blas_library="$(ldd "$build/bench/bench_conv" 2>/dev/null | awk '/libblas/ { print $3 }' | xargs -r readlink -f)"
case "$blas_library" in
  */openblas*) ;;
  */blas/libblas*) blas_library="$blas_library (**reference netlib BLAS, not OpenBLAS**: LibTorch's mm/linear are slow here)" ;;
  "") blas_library="none found" ;;
esac
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
  echo "- LibTorch: Debian libtorch-dev $torch_version; convolutions by oneDNN, matrix products by the BLAS it loads:" \
       "$blas_library"
  echo "- compiler: $(g++ --version | head -1); Release build (-O3 -march=native); seam commit $commit"
  echo "- load average (1, 5, 15 min) when the run started: $(loadavg); after each program: the idle cores before"
  echo "  it and the CPU time other processes took while it ran (above $max_busy of a core: flagged as not reliable)"
  [[ -n "$quick" ]] && echo "- **--quick run: short samples, a smoke test only**"
  echo
} >"$out"

for p in "${programs[@]}"; do
  quiet="yes"
  wait_for_quiet || quiet="no"
  before="$(loadavg)"
  extra=()
  [[ "$p" == bench_fashion_mnist_epoch && -n "$steps" ]] && extra=(--steps "$steps")
  echo "== $p ($last_idle of $cores cores idle, load $before)"
  read -r busy0 idle0 < <(cpu_jiffies)
  TIMEFORMAT='%R %U %S'
  { time "$build/bench/$p" --threads "$threads" $quick "${extra[@]}" --out "$tmp/$p.md" >/dev/null 2>"$tmp/$p.err"; } \
    2>"$tmp/$p.time" || { cat "$tmp/$p.err" >&2; echo "run_cpu_bench.sh: $p failed" >&2; exit 1; }
  read -r busy1 idle1 < <(cpu_jiffies)
  read -r wall user sys <"$tmp/$p.time"
  # CPU time the rest of the machine took while the program ran, in cores on average
  others="$(awk -v b=$((busy1 - busy0)) -v t="$tick" -v u="$user" -v s="$sys" -v w="$wall" \
    'BEGIN { o = b / t - u - s; if (o < 0) o = 0; printf "%.2f", (o / w) }')"
  noisy="$(awk -v o="$others" -v m="$max_busy" 'BEGIN { if (o > m) print "yes"; else print "no" }')"
  after="$(loadavg)"
  {
    # each program's report, its title demoted one level
    sed '1s/^# /## /' "$tmp/$p.md"
    echo
    echo "_machine: $last_idle of $cores cores idle just before; other processes used $others cores on average" \
         "during the ${wall%.*} s run; load average before: $before, after: $after$(
      [[ $quiet == no || $noisy == yes ]] && echo "; **other work was running: figures not reliable**")_"
    echo
  } >>"$out"
done
echo "== wrote $out"
