// tests/cuda/main.cpp — the doctest main of seam_cuda_tests, in two rounds.
//
// Round 1, test suite "host": what needs no GPU (size classes, layout merging, error messages, the
// behaviour of a CUDA build on a machine without a usable GPU). Round 2, test suite "gpu": every
// kernel against the CPU, the allocator, copies, streams, cuBLAS. Without a usable GPU round 2 is
// not run and the program exits 77 (CTest's SKIP_RETURN_CODE), unless round 1 failed (exit 1).
// Any failure of cudaGetDeviceCount counts as "no GPU" (e.g. "CUDA driver version is insufficient
// for CUDA runtime version" on a machine with the toolkit but no driver).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "seam/cuda/runtime.hpp"

namespace {
bool asked_only_for_help = false;  // --help, --list-test-cases, ...: doctest answered, nothing ran

int run_suite(int argc, char** argv, const char* suite) {
    doctest::Context context;
    context.applyCommandLine(argc, argv);
    context.setOption("test-suite", suite);
    const int result = context.run();
    asked_only_for_help = context.shouldExit();
    return result;
}
}  // namespace

int main(int argc, char** argv) {
    const int host = run_suite(argc, argv, "host");
    if (host != 0 || asked_only_for_help) return host;
    if (seam::cuda::device_count() == 0) {
        std::printf("seam_cuda_tests: skipped the GPU tests: no usable CUDA device (%s)\n",
                    seam::cuda::device_query_error().c_str());
        return 77;
    }
    return run_suite(argc, argv, "gpu");
}
