#!/usr/bin/env bash
# fuzz/run_fuzz.sh — build every fuzz/fuzz_*.cpp as a libFuzzer target and run each for a bounded
# time; exit 1 on any crash, sanitizer report, leak, timeout or broken property.
#
#   fuzz/run_fuzz.sh                      all targets, SEAM_FUZZ_SECONDS each
#   fuzz/run_fuzz.sh fuzz_list_bbox ...   only these targets
#
# Environment:
#   SEAM_FUZZ_SECONDS  seconds of fuzzing per target (default 20)
#   SEAM_FUZZ_CXX      the compiler (default clang++-14, else clang++)
#   SEAM_FUZZ_BUILD    build folder (default <repo>/build-fuzz; git ignores build*/)
#   SEAM_SHARED_DIR    the shared folder with fixtures/ (default <repo>/../shared), for seeds
#
# Each target is compiled with -fsanitize=fuzzer,address,undefined (UBSan made fatal). A target
# source may declare, in comment lines of its own:
#   // fuzz-flags: <extra compiler/linker flags>           e.g. -lz for a decoder that needs zlib
#   // fuzz-dict: <file in fuzz/>                          a libFuzzer dictionary
#   // fuzz-seeds: <path under SEAM_SHARED_DIR/fixtures/deepfashion-real>   extra seed inputs
# Seeds in fuzz/seeds/<target>/ are used when present. The corpus each run grows is kept in
# the build folder (never in the repository), so later runs start from it.
#
# Slot for the image pipeline: its decoder target (e.g. fuzz/fuzz_image_decode.cpp) is built and
# run by this script like any other fuzz_*.cpp; declare its extra flags with "// fuzz-flags:".
set -uo pipefail

fuzz_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$fuzz_dir")
seconds=${SEAM_FUZZ_SECONDS:-20}
build=${SEAM_FUZZ_BUILD:-$repo/build-fuzz}
shared=${SEAM_SHARED_DIR:-$repo/../shared}
if [[ -n ${SEAM_FUZZ_CXX:-} ]]; then cxx=$SEAM_FUZZ_CXX
elif command -v clang++-14 >/dev/null; then cxx=clang++-14
else cxx=clang++; fi

mkdir -p "$build"
declare -a sources=()
if (($# > 0)); then
    for name in "$@"; do sources+=("$fuzz_dir/${name%.cpp}.cpp"); done
else
    sources=("$fuzz_dir"/fuzz_*.cpp)
fi

# The value of "// fuzz-<key>: value" lines of a source (all of them, space-separated).
declared() { sed -n "s|^// fuzz-$2: *||p" "$1" | tr '\n' ' '; }

declare -a summary=()
failed=0
for source in "${sources[@]}"; do
    name=$(basename "$source" .cpp)
    if [[ ! -f $source ]]; then
        summary+=("$name: no such source"); failed=1; continue
    fi
    binary=$build/$name
    # Rebuild when the binary is older than its source or any header it may include.
    if [[ ! -x $binary ]] || [[ -n $(find "$source" "$fuzz_dir"/*.hpp "$repo/include" -newer "$binary" -print -quit) ]]; then
        echo "== build $name"
        # shellcheck disable=SC2046
        if ! "$cxx" -std=c++20 -O1 -g -fno-omit-frame-pointer \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
                -I"$repo/include" -I/usr/include/eigen3 -I/usr/include/stb \
                "$source" -o "$binary" $(declared "$source" flags); then
            summary+=("$name: BUILD FAILED"); failed=1; continue
        fi
    fi

    corpus=$build/corpus/$name
    seeds=$build/seeds/$name
    mkdir -p "$corpus" "$build/artifacts"
    rm -rf "$seeds"; mkdir -p "$seeds"
    [[ -d $fuzz_dir/seeds/$name ]] && cp "$fuzz_dir/seeds/$name"/* "$seeds"/ 2>/dev/null
    for fixture in $(declared "$source" seeds); do
        [[ -f $shared/fixtures/deepfashion-real/$fixture ]] && cp "$shared/fixtures/deepfashion-real/$fixture" "$seeds/"
    done
    declare -a options=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
                        -artifact_prefix="$build/artifacts/$name-")
    for dict in $(declared "$source" dict); do options+=(-dict="$fuzz_dir/$dict"); done

    echo "== run $name for ${seconds}s"
    log=$build/$name.log
    "$binary" "${options[@]}" "$corpus" "$seeds" >"$log" 2>&1
    status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    edges=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    if ((status != 0)) || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|fuzz property failed' "$log"; then
        summary+=("$name: FAILED (exit $status, log $log)")
        failed=1
        tail -n 40 "$log"
    else
        summary+=("$name: ok, ${runs:-?} runs, ${edges:-cov ?} edges")
    fi
done

echo
echo "== fuzz summary (${seconds}s per target, $cxx)"
printf '  %s\n' "${summary[@]}"
exit $failed
