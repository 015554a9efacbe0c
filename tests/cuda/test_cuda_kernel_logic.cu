// tests/cuda/test_cuda_kernel_logic.cu — the host-callable logic of kernels/seam/*.cuh, checked on
// the CPU (no GPU needed, so this program runs wherever it compiles; exit 0 pass, 1 fail).
//
// The kernels themselves can only run on a GPU, but the parts that decide what they touch are
// host-callable and tested here against independent computations:
//   * StridedIndexer + collapse_dims (elementwise.cuh's addressing): for thousands of random
//     layouts — broadcast (stride 0), permuted, gapped, size-1 dims — the offset of every operand
//     at every linear index equals Σ coordinate·stride computed naively;
//   * MaxReducer::combine (reduce.cuh): combining the lifted elements in random tree orders gives
//     exactly the left-to-right scan's answer (NaN wins, first index on ties), i.e. the rule the
//     kernel's parallel tree relies on is associative and commutative;
//   * plan_reduce: the chunks partition [0, n) exactly, grid.y and block sizes are legal.
//
//   nvcc -std=c++20 -Iinclude -Ikernels tests/cuda/test_cuda_kernel_logic.cu -o logic && ./logic
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <vector>

#include "seam/elementwise.cuh"
#include "seam/reduce.cuh"

namespace {

int failures = 0;

void expect(bool ok, const char* what, long long a = 0, long long b = 0) {
    if (ok) return;
    if (++failures <= 20) std::printf("FAIL: %s (%lld, %lld)\n", what, a, b);
}

void check_indexer(std::mt19937_64& rng) {
    using seam::Shape;
    constexpr int K = 3;
    std::uniform_int_distribution<int> rank_dist(0, 6), size_dist(1, 4), kind_dist(0, 3), stride_dist(1, 40);
    for (int trial = 0; trial < 3000; ++trial) {
        const int rank = rank_dist(rng);
        Shape shape(rank);
        for (auto& s : shape) s = size_dist(rng);
        std::vector<Shape> strides(K, Shape(rank));
        for (int k = 0; k < K; ++k) {
            const int kind = kind_dist(rng);
            if (kind == 0 || kind == 1) {  // dense row-major (kind 1: then some dims broadcast)
                strides[k] = seam::contiguous_strides(shape);
                if (kind == 1)
                    for (int d = 0; d < rank; ++d)
                        if (rng() % 3 == 0) strides[k][d] = 0;
            } else if (kind == 2) {  // a permutation of dense strides (transposes)
                std::vector<int> order(rank);
                for (int d = 0; d < rank; ++d) order[d] = d;
                std::shuffle(order.begin(), order.end(), rng);
                int64_t s = 1;
                for (int d = rank - 1; d >= 0; --d) {
                    strides[k][order[d]] = s;
                    s *= shape[order[d]];
                }
            } else {  // arbitrary (gaps, narrowed views)
                for (int d = 0; d < rank; ++d) strides[k][d] = stride_dist(rng);
            }
        }
        const auto indexer = seam::kernels::make_indexer<K>("test", shape, strides);
        const int64_t n = seam::numel_of(shape);
        for (int64_t i = 0; i < n; ++i) {
            int64_t got[K];
            indexer.offsets(i, got);
            int64_t rest = i;
            int64_t want[K] = {0, 0, 0};
            for (int d = rank - 1; d >= 0; --d) {
                const int64_t c = rest % shape[d];
                rest /= shape[d];
                for (int k = 0; k < K; ++k) want[k] += c * strides[k][d];
            }
            for (int k = 0; k < K; ++k) expect(got[k] == want[k], "indexer offset", got[k], want[k]);
        }
        // Dense everywhere must be detected as such (the kernel's flat fast path).
        bool all_dense = true;
        for (int k = 0; k < K; ++k) {
            const Shape dense = seam::contiguous_strides(shape);
            for (int d = 0; d < rank; ++d)
                if (shape[d] != 1 && strides[k][d] != dense[d]) all_dense = false;
        }
        expect(indexer.contiguous == all_dense, "contiguous flag", indexer.contiguous, all_dense);
    }
}

template <class T>
void check_max_rule(std::mt19937_64& rng) {
    using R = seam::kernels::MaxReducer<T>;
    const T nan = std::numeric_limits<T>::quiet_NaN(), inf = std::numeric_limits<T>::infinity();
    const T pool[] = {T(-1), T(0), T(1), T(1), T(2), -inf, nan};
    for (int trial = 0; trial < 2000; ++trial) {
        const int n = 1 + static_cast<int>(rng() % 40);
        std::vector<T> x(n);
        for (T& v : x) v = pool[rng() % 7];
        if (trial % 3 == 0)
            for (T& v : x)
                if (std::isnan(v)) v = T(0);  // also cover arrays without NaN
        // The reference: the CPU's left-to-right scan.
        int best = 0;
        for (int r = 1; r < n; ++r) {
            if (std::isnan(x[best])) break;
            if (std::isnan(x[r]) || x[r] > x[best]) best = r;
        }
        // A random tree: repeatedly combine two random candidates (random order within the pair).
        std::vector<typename R::Acc> items;
        for (int r = 0; r < n; ++r) items.push_back(R::lift(x[r], r));
        items.push_back(R::identity());  // threads with no element contribute the identity
        while (items.size() > 1) {
            const size_t i = rng() % items.size();
            auto a = items[i];
            items.erase(items.begin() + static_cast<long>(i));
            const size_t j = rng() % items.size();
            items[j] = (rng() & 1) ? R::combine(a, items[j]) : R::combine(items[j], a);
        }
        expect(items[0].index == best, "max index", items[0].index, best);
        const bool same_value = (std::isnan(items[0].value) && std::isnan(x[best])) || items[0].value == x[best];
        expect(same_value, "max value", trial, n);
    }
}

void check_plans() {
    using seam::kernels::plan_reduce;
    const int64_t outers[] = {0, 1, 2, 3, 255, 256, 1000, 100000};
    const int64_t ns[] = {0, 1, 2, 31, 33, 64, 65, 1000, 4097, 8193, 100003, 1000003, 50000000};
    const int64_t inners[] = {1, 2, 3, 64, 1000};
    for (int64_t outer : outers)
        for (int64_t n : ns)
            for (int64_t inner : inners) {
                const auto p = plan_reduce(outer, n, inner);
                expect(p.rows == (inner == 1), "rows iff inner == 1", inner, p.rows);
                expect(p.threads >= 32 && p.threads <= seam::kernels::kThreads && (p.threads & (p.threads - 1)) == 0,
                       "block size a power of two in [32, 256]", p.threads);
                expect(p.chunks >= 1 && p.chunks <= 65535, "grid.y in range", p.chunks);
                if (n == 0) continue;
                // The chunks partition [0, n): each starts where the previous ended, none is empty.
                int64_t covered = 0;
                for (int64_t c = 0; c < p.chunks; ++c) {
                    const int64_t begin = c * p.chunk_len, end = std::min(n, begin + p.chunk_len);
                    expect(begin == covered && end > begin, "chunk partition", begin, end);
                    covered = end;
                }
                expect(covered == n, "chunks cover n", covered, n);
            }
}

}  // namespace

int main() {
    std::mt19937_64 rng(20261126);
    check_indexer(rng);
    check_max_rule<float>(rng);
    check_max_rule<double>(rng);
    check_plans();
    if (failures) {
        std::printf("test_cuda_kernel_logic: %d FAILED\n", failures);
        return 1;
    }
    std::printf("test_cuda_kernel_logic: all passed (host-side logic of the CUDA kernels; no GPU used)\n");
    return 0;
}
