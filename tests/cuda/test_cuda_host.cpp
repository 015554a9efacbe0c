// tests/cuda/test_cuda_host.cpp — CUDA-backend tests that need no GPU (test suite "host").
//
// They run on every machine, with or without a GPU: the allocator's size classes, the merging of
// dimensions the elementwise kernels iterate, the text of CUDA/cuBLAS errors, and what a CUDA
// build does where no GPU is usable (clear seam::Error, never a crash).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>

#include "seam/core/tensor.hpp"
#include "seam/cuda/api.hpp"

using namespace seam;

namespace {
std::string message_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "(no exception)";
}
bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }
}  // namespace

TEST_SUITE("host") {

TEST_CASE("cuda build: SEAM_WITH_CUDA is on") { CHECK(built_with_cuda()); }

TEST_CASE("allocation_size_class: 512-byte steps below 1 MiB, quarter powers of two above") {
    using cuda::allocation_size_class;
    CHECK(allocation_size_class(0) == 0);
    CHECK(allocation_size_class(1) == 512);
    CHECK(allocation_size_class(512) == 512);
    CHECK(allocation_size_class(513) == 1024);
    CHECK(allocation_size_class(4000) == 4096);
    CHECK(allocation_size_class((1u << 20) - 1) == (1u << 20));
    CHECK(allocation_size_class(1u << 20) == (1u << 20));
    CHECK(allocation_size_class((1u << 20) + 1) == (1u << 20) + (1u << 18));  // 1.25 MiB
    CHECK(allocation_size_class(3u << 20) == (3u << 20));                     // 1.5 × 2 MiB exactly
    CHECK(allocation_size_class((3u << 20) + 1) == (7u << 19));               // 3.5 MiB
    CHECK(allocation_size_class((size_t(1) << 30) + 1) == (size_t(5) << 28)); // 1.25 GiB
    // Every class holds the request and wastes at most 25% (or one 512-byte step).
    for (size_t bytes = 1; bytes < (size_t(64) << 20); bytes = bytes * 3 / 2 + 7) {
        const size_t c = allocation_size_class(bytes);
        CHECK(c >= bytes);
        CHECK(static_cast<double>(c) <= std::max(1.25 * static_cast<double>(bytes), static_cast<double>(bytes) + 511.0));
    }
}

TEST_CASE("collapse_layout: dense operands become one flat dimension") {
    const cuda::CollapsedLayout l = cuda::collapse_layout({2, 3, 4}, {{12, 4, 1}, {12, 4, 1}});
    CHECK(l.contiguous);
    CHECK(l.shape == Shape{24});
    CHECK(l.strides[0] == Shape{1});
    CHECK(l.strides[1] == Shape{1});
}

TEST_CASE("collapse_layout: [N,C,H,W] with a broadcast [1,C,1,1] keeps N, C and merges H·W") {
    // a: dense [2, 3, 4, 5] = strides (60, 20, 5, 1); b: [1, 3, 1, 1] broadcast = strides (0, 1, 0, 0).
    const cuda::CollapsedLayout l = cuda::collapse_layout({2, 3, 4, 5}, {{60, 20, 5, 1}, {0, 1, 0, 0}});
    CHECK_FALSE(l.contiguous);
    CHECK(l.shape == Shape{2, 3, 20});
    CHECK(l.strides[0] == Shape{60, 20, 1});
    CHECK(l.strides[1] == Shape{0, 1, 0});
}

TEST_CASE("collapse_layout: a transpose stays two-dimensional; size-1 dims are dropped; scalars are dense") {
    // x = base[3, 4].t(): shape [4, 3], strides (1, 4); out dense (3, 1).
    const cuda::CollapsedLayout t = cuda::collapse_layout({4, 1, 3}, {{1, 99, 4}, {3, 3, 1}});
    CHECK_FALSE(t.contiguous);
    CHECK(t.shape == Shape{4, 3});
    CHECK(t.strides[0] == Shape{1, 4});
    CHECK(t.strides[1] == Shape{3, 1});
    const cuda::CollapsedLayout s = cuda::collapse_layout({}, {{}, {}});
    CHECK(s.contiguous);
    CHECK(s.shape.empty());
    const cuda::CollapsedLayout ones = cuda::collapse_layout({1, 1}, {{5, 7}});
    CHECK(ones.contiguous);
    CHECK(ones.shape.empty());
    // A narrowed row (stride 10 between rows of 4) cannot merge rows.
    const cuda::CollapsedLayout n = cuda::collapse_layout({3, 4}, {{10, 1}});
    CHECK_FALSE(n.contiguous);
    CHECK(n.shape == Shape{3, 4});
}

TEST_CASE("CUDA and cuBLAS errors name the file, the line, the call and CUDA's own text") {
    const std::string cuda_text = message_of([] { cuda::throw_cuda_error(2, "cudaMalloc(&p, n)", "alloc.cu", 42); });
    MESSAGE(cuda_text);
    CHECK(contains(cuda_text, "alloc.cu:42"));
    CHECK(contains(cuda_text, "cudaMalloc(&p, n)"));
    CHECK(contains(cuda_text, "out of memory"));
    CHECK(contains(cuda_text, "cudaErrorMemoryAllocation"));
    try {
        cuda::throw_cuda_error(2, "x", "f.cu", 1);
    } catch (const cuda::CudaError& e) {
        CHECK(e.code() == 2);
    }
    const std::string blas_text = message_of([] { cuda::throw_cublas_error(1, "cublasSgemm(...)", "gemm.cu", 7); });
    MESSAGE(blas_text);
    CHECK(contains(blas_text, "gemm.cu:7"));
    CHECK(contains(blas_text, "CUBLAS_STATUS_NOT_INITIALIZED"));
}

TEST_CASE("without a usable GPU: clear seam::Errors, never a crash") {
    if (cuda::device_count() > 0) {
        const int count = cuda::device_count();
        CHECK(cuda::device_query_error().empty());
        CHECK(contains(message_of([&] { Device::cuda(count); }), "no such device"));
        CHECK(contains(message_of([] { Device::cuda(-1); }), "no such device"));
        return;
    }
    MESSAGE("no usable GPU here: " << cuda::device_query_error());
    CHECK_FALSE(cuda::device_query_error().empty());
    CHECK_FALSE(cuda::is_available());
    const std::string device_text = message_of([] { Device::cuda(0); });
    CHECK(contains(device_text, "Device::cuda(0): no CUDA device is available"));
    CHECK(contains(device_text, cuda::device_query_error()));
    // A device built by hand bypasses Device::cuda's check: allocation and copies still refuse cleanly.
    const Device by_hand{DeviceType::cuda, 0};
    CHECK(contains(message_of([&] { (void)empty<float>({2, 3}, by_hand); }), "does not exist"));
    Tensor<float> x = ones<float>({4});
    CHECK(contains(message_of([&] { (void)x.to(by_hand); }), "no CUDA device is available"));
    CHECK_THROWS_AS((void)cuda::memory_stats(), cuda::CudaError);  // the current device cannot be asked
    // The CPU side of the library is untouched.
    CHECK(x.to(Device::cpu()).data() == x.data());
}

}  // TEST_SUITE
