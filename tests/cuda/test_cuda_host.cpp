// tests/cuda/test_cuda_host.cpp — CUDA-backend tests that need no GPU (test suite "host").
//
// They run on every machine, with or without a GPU: the allocator's size classes, the merging of
// dimensions the elementwise kernels iterate, the text of CUDA/cuBLAS errors, and what a CUDA
// build does where no GPU is usable (clear seam::Error, never a crash).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "seam/core/tensor.hpp"
#include "seam/cuda/api.hpp"
#include "seam/cuda/block_cache.hpp"

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

TEST_CASE("the allocator's block cache: exact reuse per device and stream; best fit for scratch of 1 MiB up") {
    using cuda::allocator_detail::BlockCache;
    constexpr size_t MiB = size_t(1) << 20;
    // Fake handles: the cache only stores and compares them.
    auto fake = [](uintptr_t v) { return reinterpret_cast<void*>(v); };
    const cuda::StreamHandle s1 = reinterpret_cast<cuda::StreamHandle>(uintptr_t(0x100));
    const cuda::StreamHandle s2 = reinterpret_cast<cuda::StreamHandle>(uintptr_t(0x200));
    BlockCache cache;
    CHECK(cache.take(0, s1, 4096, false).ptr == nullptr);  // empty
    cache.put(0, s1, 4096, fake(0x1000));
    CHECK(cache.take(0, s2, 4096, true).ptr == nullptr);   // another stream: never
    CHECK(cache.take(1, s1, 4096, true).ptr == nullptr);   // another device: never
    CHECK(cache.take(0, s1, 3584, true).ptr == nullptr);   // smaller class, below 1 MiB: exact only
    const BlockCache::Block b = cache.take(0, s1, 4096, false);
    CHECK(b.ptr == fake(0x1000));
    CHECK(b.size == 4096);
    CHECK(cache.take(0, s1, 4096, false).ptr == nullptr);  // taken out
    cache.put(0, s1, 8192, fake(0x2000));
    CHECK(cache.take(0, s1, 4096, true).ptr == nullptr);   // 4 KiB scratch: below kBestFitFrom, no best fit

    // Best fit: scratch of at least 1 MiB takes the smallest cached block at least as large, on its
    // own device and stream only; other requests take their exact class only.
    cache.put(0, s1, 1024 * MiB, fake(0x3000));
    cache.put(0, s1, 80 * MiB, fake(0x4000));
    cache.put(0, s2, 256 * MiB, fake(0x5000));
    CHECK(cache.take(0, s1, 224 * MiB, false).ptr == nullptr);
    const BlockCache::Block fit = cache.take(0, s1, 64 * MiB, true);
    CHECK(fit.ptr == fake(0x4000));  // 80 MiB, not 1 GiB
    CHECK(fit.size == 80 * MiB);
    const BlockCache::Block big = cache.take(0, s1, 224 * MiB, true);
    CHECK(big.ptr == fake(0x3000));  // the 256 MiB block is s2's
    CHECK(big.size == 1024 * MiB);
    CHECK(cache.take(0, s1, 2 * MiB, true).ptr == nullptr);  // the 8 KiB block is too small
    CHECK(cache.take(0, s1, 2048 * MiB, true).ptr == nullptr);

    // release: every block of one device, each with its size; the other device's stay.
    cache.put(1, s1, 4096, fake(0x6000));
    std::vector<std::pair<void*, size_t>> freed;
    cache.release(0, [&](void* p, size_t size) { freed.emplace_back(p, size); });
    std::sort(freed.begin(), freed.end());
    CHECK(freed == std::vector<std::pair<void*, size_t>>{{fake(0x2000), 8192}, {fake(0x5000), 256 * MiB}});
    CHECK(cache.take(0, s2, 256 * MiB, false).ptr == nullptr);
    CHECK(cache.take(1, s1, 4096, false).ptr == fake(0x6000));

    // Best fit looks past a size whose list is empty (its blocks all handed out).
    BlockCache again;
    again.put(0, s1, 80 * MiB, fake(0x7000));
    again.put(0, s1, 1024 * MiB, fake(0x8000));
    CHECK(again.take(0, s1, 64 * MiB, true).ptr == fake(0x7000));
    CHECK(again.take(0, s1, 64 * MiB, true).ptr == fake(0x8000));
    CHECK(again.take(0, s1, 64 * MiB, true).ptr == nullptr);
}

TEST_CASE("the allocator's block cache: a VGG-16 step's Winograd workspaces cached as one block, not eight") {
    // The workspace size classes of the Winograd passes of a VGG-16 training step at batch 16,
    // 224x224, in MiB, in the order the step asks for them (kernels::winograd_workspace_bytes of each
    // worthwhile pass through allocation_size_class: forward conv1_2 .. conv5_3, then the gradients
    // from conv5_3 back to conv1_1), each given back before the next is asked for.
    using cuda::allocator_detail::BlockCache;
    constexpr size_t MiB = size_t(1) << 20;
    const std::vector<size_t> forward = {1024, 640, 896, 320, 448, 448, 160, 224, 224, 80, 80, 80};
    // backward-data and backward-weight of each layer where worthwhile (conv1_x and conv2_1's
    // backward-weight: O·C < 16384, implicit GEMM)
    const std::vector<size_t> backward = {80,  80,  80,  80,  80,  80,  224, 224, 224, 224, 160, 160,
                                          448, 448, 448, 448, 320, 320, 896, 896, 640, 1024, 896};
    std::vector<size_t> step = forward;
    step.insert(step.end(), backward.begin(), backward.end());
    const cuda::StreamHandle stream = nullptr;
    for (bool best_fit : {false, true}) {
        BlockCache cache;
        size_t held = 0;  // bytes taken from the device (cudaMalloc): the cache's final size
        uintptr_t next = 0x10000;
        for (int run = 0; run < 2; ++run)  // a second step must allocate nothing new
            for (size_t mib : step) {
                BlockCache::Block b = cache.take(0, stream, mib * MiB, best_fit);
                if (!b.ptr) {
                    b = {reinterpret_cast<void*>(next++), mib * MiB};
                    held += mib * MiB;
                    CHECK(run == 0);
                }
                cache.put(0, stream, b.size, b.ptr);
            }
        // Exact reuse keeps one block of each of the 8 classes: 896 + 1024 + 640 + 320 + 448 + 160
        // + 224 + 80 MiB; best fit keeps the first, the largest.
        CHECK(held == (best_fit ? 1024 : 3792) * MiB);
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
