// tests/cuda/test_cuda_runtime.cpp — the CUDA runtime layer on a real device (test suite "gpu"):
// the caching allocator (reuse, peak bytes, release, out-of-memory), Tensor::to round trips through
// pinned staging (sizes that take several staging chunks, non-contiguous sources on either side,
// integer types, autograd across devices), streams and events, and cuBLAS GEMM against a naive loop
// (full fp32 unless TF32 is asked for).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "seam/core/tensor.hpp"
#include "seam/cuda/api.hpp"
#include "seam/ops/elementwise.hpp"

#include "cuda_test_support.hpp"

using namespace seam;
using namespace seam::cuda_test;

namespace {

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

/// Round trip CPU -> GPU -> CPU must give back every bit.
template <class T>
void check_round_trip(const Tensor<T>& x, const std::string& what) {
    Tensor<T> d = x.to(gpu());
    CHECK(d.device() == gpu());
    CHECK(d.shape() == x.shape());
    CHECK(d.is_contiguous());
    Tensor<T> back = d.to(Device::cpu());
    CHECK(back.device().is_cpu());
    CHECK_MESSAGE(same_bits(back.to_vector(), x.to_vector()), what);
}

/// Row-major reference C = op(A) op(B) in double.
std::vector<double> naive_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const std::vector<double>& a, int64_t lda,
                               const std::vector<double>& b, int64_t ldb) {
    std::vector<double> c(static_cast<size_t>(m * n), 0.0);
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
            double acc = 0;
            for (int64_t p = 0; p < k; ++p) acc += a[ta ? p * lda + i : i * lda + p] * b[tb ? j * ldb + p : p * ldb + j];
            c[i * n + j] = acc;
        }
    return c;
}

template <class T>
void check_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double tol_per_sqrt_k) {
    Generator gen(static_cast<uint64_t>(m * 1000003 + n * 1009 + k * 7 + ta * 2 + tb));
    // Leading dimensions larger than the rows (a sub-matrix) to test the ld arguments.
    const int64_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2;
    const int64_t a_rows = ta ? k : m, b_rows = tb ? n : k;
    Tensor<T> a = randn<T>({a_rows, lda}, gen), b = randn<T>({b_rows, ldb}, gen);
    Tensor<T> c = full<T>({m, ldc}, T(0.5));  // beta = 0.25 keeps a quarter of it
    std::vector<double> av(a.numel()), bv(b.numel());
    for (int64_t i = 0; i < a.numel(); ++i) av[i] = a.data()[i];
    for (int64_t i = 0; i < b.numel(); ++i) bv[i] = b.data()[i];
    const std::vector<double> ref = naive_gemm(ta, tb, m, n, k, av, lda, bv, ldb);
    Tensor<T> ad = a.to(gpu()), bd = b.to(gpu()), cd = c.to(gpu());
    cuda::gemm<T>(ta, tb, m, n, k, T(2), ad.data(), lda, bd.data(), ldb, T(0.25), cd.data(), ldc);
    const std::vector<T> got = cd.to(Device::cpu()).to_vector();
    const double tol = tol_per_sqrt_k * std::sqrt(static_cast<double>(std::max<int64_t>(k, 1)));
    int64_t wrong = 0;
    for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < ldc; ++j) {
            const double expected = j < n ? 2.0 * ref[i * n + j] + 0.125 : 0.5;  // padding columns untouched
            const double g = static_cast<double>(got[i * ldc + j]);
            if (!(std::abs(g - expected) <= tol) && ++wrong <= 5)
                MESSAGE("gemm ta=", ta, " tb=", tb, " [", m, "x", n, "x", k, "] at (", i, ", ", j, "): got ", g,
                        ", expected ", expected);
        }
    }
    CHECK_MESSAGE(wrong == 0, "gemm<", dtype_name<T>(), "> ta=", ta, " tb=", tb, " m=", m, " n=", n, " k=", k, ": ", wrong,
                  " wrong elements");
}

}  // namespace

TEST_SUITE("gpu") {

TEST_CASE("device information") {
    const cuda::DeviceInfo info = cuda::device_info(0);
    MESSAGE("cuda:0 is ", info.name, " (sm_", info.compute_major, info.compute_minor, ", ", info.multiprocessors,
            " SMs, ", info.total_memory >> 20, " MiB), driver ", info.driver_version, ", runtime ", info.runtime_version);
    CHECK_FALSE(info.name.empty());
    CHECK(info.compute_major >= 5);
    CHECK(info.multiprocessors > 0);
    CHECK(cuda::device_query_error().empty());
    CHECK(Device::cuda(0).is_cuda());
    CHECK_THROWS_WITH_AS(Device::cuda(cuda::device_count()), doctest::Contains("no such device"), Error);
}

TEST_CASE("caching allocator: reuse by size class, peak bytes, release") {
    cuda::synchronize();
    cuda::empty_cache();
    const cuda::MemoryStats s0 = cuda::memory_stats();
    CHECK(s0.cached_bytes == 0);

    void* p = cuda::allocate(4000);
    const cuda::MemoryStats s1 = cuda::memory_stats();
    CHECK(s1.allocated_bytes == s0.allocated_bytes + 4096);  // the 512-byte class of 4000
    CHECK(s1.device_mallocs == s0.device_mallocs + 1);
    cuda::deallocate(p, gpu());
    const cuda::MemoryStats s2 = cuda::memory_stats();
    CHECK(s2.allocated_bytes == s0.allocated_bytes);
    CHECK(s2.cached_bytes == 4096);

    void* q = cuda::allocate(3900);  // same class: the same block comes back, no cudaMalloc
    const cuda::MemoryStats s3 = cuda::memory_stats();
    CHECK(q == p);
    CHECK(s3.cache_hits == s2.cache_hits + 1);
    CHECK(s3.device_mallocs == s2.device_mallocs);
    CHECK(s3.cached_bytes == 0);
    cuda::deallocate(q, gpu());

    // Peak: two live tensors of 1 MiB and 3 MiB, then both freed.
    cuda::reset_peak_memory();
    const size_t base = cuda::memory_stats().allocated_bytes;
    {
        Tensor<float> a = empty<float>({1 << 18}, gpu());      // 1 MiB
        Tensor<float> b = empty<float>({3 << 18}, gpu());      // 3 MiB
        CHECK(cuda::memory_stats().allocated_bytes == base + (4u << 20));
    }
    const cuda::MemoryStats s4 = cuda::memory_stats();
    CHECK(s4.allocated_bytes == base);
    CHECK(s4.peak_allocated_bytes == base + (4u << 20));
    CHECK(s4.cached_bytes >= (4u << 20));
    CHECK(s4.reserved_bytes == s4.allocated_bytes + s4.cached_bytes);

    // A tensor allocated again with the same shape reuses the freed block.
    const uint64_t mallocs = cuda::memory_stats().device_mallocs;
    { Tensor<float> again = empty<float>({3 << 18}, gpu()); }
    CHECK(cuda::memory_stats().device_mallocs == mallocs);

    cuda::empty_cache();
    const cuda::MemoryStats s5 = cuda::memory_stats();
    CHECK(s5.cached_bytes == 0);
    CHECK(s5.device_frees > s4.device_frees);
    CHECK(s5.reserved_bytes == s5.allocated_bytes);
}

TEST_CASE("caching allocator: a block freed on one stream is not handed to another") {
    cuda::empty_cache();
    void* p = cuda::allocate(8192);
    cuda::deallocate(p, gpu());
    cuda::Stream other = cuda::Stream::create();
    {
        cuda::StreamGuard guard(other);
        void* q = cuda::allocate(8192);
        CHECK(q != p);
        cuda::deallocate(q, gpu());
    }
    void* r = cuda::allocate(8192);  // back on the default stream: the first block again
    CHECK(r == p);
    cuda::deallocate(r, gpu());
    cuda::empty_cache();
}

TEST_CASE("caching allocator: out of memory is a clear error and the allocator keeps working") {
    const size_t absurd = size_t(1) << 50;  // 1 PiB
    CHECK_THROWS_WITH_AS(cuda::allocate(absurd), doctest::Contains("CUDA allocation of"), cuda::CudaError);
    Tensor<float> fine = empty<float>({1000}, gpu());
    fine.fill_(1.0f);
    CHECK(fine.to(Device::cpu()).to_vector() == std::vector<float>(1000, 1.0f));
}

TEST_CASE("Tensor::to round trips every bit (sizes across staging chunks, dtypes, empty)") {
    Generator gen(3);
    check_round_trip(randn<float>({1}, gen), "1 float");
    check_round_trip(randn<float>({7, 11, 13}, gen), "odd float");
    check_round_trip(randn<double>({1001}, gen), "1001 doubles");
    const size_t chunk_floats = cuda::staging_chunk_bytes() / sizeof(float);
    check_round_trip(randn<float>({static_cast<int64_t>(2 * chunk_floats + 12345)}, gen), "2 chunks + a part");
    check_round_trip(randn<float>({static_cast<int64_t>(chunk_floats)}, gen), "exactly one chunk");
    check_round_trip(arange<int64_t>(-500, 500), "int64");
    check_round_trip(from_vector<uint8_t>({0, 1, 255, 7}), "uint8");
    check_round_trip(empty<float>({0, 5}), "empty");
    // Special values travel unchanged.
    const float inf = std::numeric_limits<float>::infinity();
    check_round_trip(from_vector<float>({std::numeric_limits<float>::quiet_NaN(), inf, -inf, -0.0f, 1e-45f}), "specials");
}

TEST_CASE("Tensor::to with non-contiguous sources on either side") {
    Generator gen(4);
    Tensor<float> x = randn<float>({5, 9}, gen);
    // CPU view -> GPU: made dense on the way.
    Tensor<float> t = x.transpose(0, 1).to(gpu());
    CHECK(t.shape() == Shape{9, 5});
    CHECK(same_bits(t.to(Device::cpu()).to_vector(), x.transpose(0, 1).contiguous().to_vector()));
    // GPU view -> CPU.
    Tensor<float> xd = x.to(gpu());
    CHECK(same_bits(xd.narrow(1, 2, 4).to(Device::cpu()).to_vector(), x.narrow(1, 2, 4).contiguous().to_vector()));
    CHECK(same_bits(xd.transpose(0, 1).to(Device::cpu()).to_vector(), x.transpose(0, 1).contiguous().to_vector()));
    // The same device: the same tensor.
    CHECK(xd.to(gpu()).data() == xd.data());
    // Host accessors refuse device tensors with advice.
    CHECK_THROWS_WITH_AS((void)xd.to_vector(), doctest::Contains(".to(Device::cpu())"), Error);
    CHECK_THROWS_WITH_AS((void)xd.at({0, 0}), doctest::Contains(".to(Device::cpu())"), Error);
}

TEST_CASE("Tensor::to is differentiable: the gradient goes back to the source device") {
    Generator gen(5);
    Tensor<double> x = randn<double>({3, 4}, gen);
    x.set_requires_grad();
    Tensor<double> w = randn<double>({3, 4}, gen);
    Tensor<double> there = x.to(gpu());
    CHECK(there.requires_grad());
    Tensor<double> back = there.to(Device::cpu());
    (back * w).backward(ones<double>({3, 4}));
    REQUIRE(x.grad().defined());
    CHECK(x.grad().device().is_cpu());
    CHECK(same_bits(x.grad().to_vector(), w.to_vector()));
}

TEST_CASE("fill_ and copy_ between devices") {
    Tensor<float> d = empty<float>({4, 3}, gpu());
    d.fill_(2.0f);
    Tensor<float> h = zeros<float>({4, 3});
    h.copy_(d);  // device -> host
    CHECK(h.to_vector() == std::vector<float>(12, 2.0f));
    Tensor<float> src = arange<float>(0.0f, 3.0f);
    d.copy_(src);  // host [3] broadcast into device [4, 3]
    CHECK(d.to(Device::cpu()).to_vector() == std::vector<float>{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2});
}

TEST_CASE("streams and events: current-stream guard, ordering, timing") {
    const cuda::Stream default_stream = cuda::Stream::default_stream();
    CHECK(cuda::Stream::current() == default_stream);
    cuda::Stream side = cuda::Stream::create();
    CHECK_FALSE(side == default_stream);
    Tensor<float> big = empty<float>({1 << 22}, gpu());
    cuda::Event start = cuda::Event::create(), stop = cuda::Event::create();
    {
        cuda::StreamGuard guard(side);
        CHECK(cuda::Stream::current() == side);
        start.record(side);
        big.fill_(3.0f);  // enqueued on `side`
        stop.record(side);
    }
    CHECK(cuda::Stream::current() == default_stream);
    stop.block(default_stream);  // the default stream waits for the fill
    stop.synchronize();
    CHECK(stop.ready());
    CHECK(stop.elapsed_ms_since(start) >= 0.0f);
    side.synchronize();
    CHECK(side.ready());
    const std::vector<float> v = big.to(Device::cpu()).to_vector();
    CHECK(v.front() == 3.0f);
    CHECK(v.back() == 3.0f);
}

TEST_CASE("cuBLAS gemm: row-major, every transpose, leading dimensions, against a naive loop") {
    CHECK_FALSE(cuda::allow_tf32());
    for (bool ta : {false, true})
        for (bool tb : {false, true}) {
            check_gemm<double>(ta, tb, 1, 1, 1, 1e-12);
            check_gemm<double>(ta, tb, 7, 5, 3, 1e-12);
            check_gemm<double>(ta, tb, 64, 33, 17, 1e-12);
            check_gemm<float>(ta, tb, 7, 5, 3, 1e-5);
            check_gemm<float>(ta, tb, 65, 31, 129, 1e-5);
        }
}

TEST_CASE("cuBLAS gemm: float is full fp32 by default (a TF32 result would miss this tolerance)") {
    // Unit normal inputs, k = 1024, alpha = 2: fp32 rounding gives errors of order 1e-4 (a few
    // 1e-4 at most over the 9216 outputs); TF32's 10-bit mantissas give about 2e-2 (rms). The bound
    // 4e-5 · √k = 1.3e-3 passes the first and fails the second.
    CHECK_FALSE(cuda::allow_tf32());
    check_gemm<float>(false, false, 96, 96, 1024, 4e-5);
}

TEST_CASE("cuBLAS strided batched gemm") {
    const int64_t batch = 3, m = 5, n = 4, k = 6;
    Generator gen(9);
    Tensor<double> a = randn<double>({batch, m, k}, gen), b = randn<double>({batch, k, n}, gen);
    Tensor<double> ad = a.to(gpu()), bd = b.to(gpu());
    Tensor<double> cd = empty<double>({batch, m, n}, gpu());
    cd.fill_(std::numeric_limits<double>::quiet_NaN());  // beta = 0 must not read C
    cuda::gemm_strided_batched<double>(false, false, m, n, k, 1.0, ad.data(), k, m * k, bd.data(), n, k * n, 0.0,
                                       cd.data(), n, m * n, batch);
    const std::vector<double> got = cd.to(Device::cpu()).to_vector();
    for (int64_t i = 0; i < batch; ++i) {
        std::vector<double> av(a.data() + i * m * k, a.data() + (i + 1) * m * k);
        std::vector<double> bv(b.data() + i * k * n, b.data() + (i + 1) * k * n);
        const std::vector<double> ref = naive_gemm(false, false, m, n, k, av, k, bv, n);
        for (int64_t j = 0; j < m * n; ++j) CHECK(std::abs(got[i * m * n + j] - ref[j]) <= 1e-12);
    }
}

TEST_CASE("cuBLAS gemm: bad leading dimensions are refused before cuBLAS sees them") {
    Tensor<float> a = empty<float>({16}, gpu());
    CHECK_THROWS_WITH_AS(cuda::gemm<float>(false, false, 2, 2, 4, 1.0f, a.data(), 3, a.data(), 2, 0.0f, a.data(), 2),
                         doctest::Contains("lda"), Error);
}

TEST_CASE("a second device, when there is one") {
    if (cuda::device_count() < 2) {
        MESSAGE("skipped: only one CUDA device");
        return;
    }
    Generator gen(11);
    Tensor<float> x = randn<float>({1000}, gen);
    Tensor<float> on1 = x.to(Device::cuda(1));
    CHECK(on1.device() == Device::cuda(1));
    Tensor<float> on0 = on1.to(gpu());
    CHECK(same_bits(on0.to(Device::cpu()).to_vector(), x.to_vector()));
}

}  // TEST_SUITE
