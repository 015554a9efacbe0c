// tests/cuda/test_cuda_kernel_logic.cu — the host-callable logic of kernels/seam/*.cuh, checked on
// the CPU (no GPU needed, so this program runs wherever it compiles; exit 0 pass, 1 fail).
//
// The kernels themselves can only run on a GPU, but the parts that decide what they touch are
// host-callable and tested here against independent computations:
//   * StridedIndexer + collapse_dims (elementwise.cuh's addressing): for thousands of random
//     layouts — broadcast (stride 0), permuted, gapped, size-1 dims — the offset of every operand
//     at every linear index equals Σ coordinate·stride computed naively;
//   * compare_values / CompareElement (elementwise.cuh's comparisons): C++'s IEEE rules on NaN, ±0
//     and ±inf, and a broadcast launch against a naive loop;
//   * MaxReducer::combine (reduce.cuh): combining the lifted elements in random tree orders gives
//     exactly the left-to-right scan's answer (NaN wins, first index on ties), i.e. the rule the
//     kernel's parallel tree relies on is associative and commutative;
//   * plan_reduce: the chunks partition [0, n) exactly, grid.y and block sizes are legal;
//   * topk_before (reduce.cuh): on random columns full of ties, ±0, infinities and NaN, the ranks
//     the kernel counts with it are the positions in an independently written order (NaN first
//     when largest, last when smallest; then by value; then by index), and the unsorted
//     selection (the pivot of rank k-1 and the elements before it) is exactly the first k;
//   * plan_layer_norm_params (norm.cuh): the row chunks partition [0, rows), grid.y is legal;
//   * the per-element functions of resize.cuh's kernels (the kernels' own code, host-callable): on
//     random nearest and bilinear tables, the forward equals the formula, and the backward gather
//     equals a naive scatter of the output gradient (nearest: bit for bit; bilinear: to rounding),
//     with tight reader ranges and with ranges that cover everything; version 2's 32-bit index
//     split (ResizeSplit) equals the divisions on maps up to 2^31 - 1 elements, and its results
//     equal version 1's bit for bit;
//   * optim.cuh's version 2 (16-byte groups): SGD (momentum, weight decay, Nesterov) and Adam /
//     AdamW (amsgrad) over every group, aligned and one element off, equal version 1's element
//     function bit for bit, and that function follows the update formulas in long double;
//   * the TF32 implicit-GEMM conv2d (conv2d_tf32.cuh), emulated block by block, warp by warp and
//     lane by lane on the CPU with the kernel's own staging, warp and epilogue mappings (Tf32Tile)
//     and the problem structs' own gathers and stores (conv2d.cuh, host-callable): every staged
//     shared-memory cell is written exactly once per K-tile (cells start as NaN, so a fragment
//     reading an unstaged cell poisons the result), every output element is written (outputs start
//     as NaN), and forward, backward-data and backward-weight (split-K included) equal naive
//     convolution loops on TF32-rounded inputs, on awkward shapes (odd maps, stride, padding,
//     dilation, groups, 1x1, M above one 128-row tile). The tensor-core arithmetic itself
//     (wmma fragments, __float_to_tf32) is not emulated: the emulation multiplies the staged
//     values in double, so this checks what is multiplied with what, not the hardware;
//   * gather_scatter.cuh's per-element (gather_source) and per-line (scatter_add_line) work, run
//     for every thread of a launch (lines in reverse order) on random shapes of rank 1..4, index
//     smaller than x off dim and any length along it, with and without out-of-range values:
//     gather equals a naive coordinate loop, scatter_add equals the CPU op's row-major loop bit for
//     bit (float), and the recorded bad position is the first out-of-range one.
//
//   nvcc -std=c++20 -Iinclude -Ikernels tests/cuda/test_cuda_kernel_logic.cu -o logic && ./logic
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "seam/conv2d_tf32.cuh"
#include "seam/elementwise.cuh"
#include "seam/gather_scatter.cuh"
#include "seam/norm.cuh"
#include "seam/reduce.cuh"
#include "seam/optim.cuh"
#include "seam/resize.cuh"

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

template <class T>
void check_topk_order(std::mt19937_64& rng) {
    using seam::kernels::topk_before;
    const T inf = std::numeric_limits<T>::infinity(), nan = std::numeric_limits<T>::quiet_NaN();
    const T pool[] = {T(0), -T(0), T(1), T(-1), T(0.5), inf, -inf, nan, T(2)};
    for (int trial = 0; trial < 600; ++trial) {
        const int n = 1 + static_cast<int>(rng() % 40);
        std::vector<T> x(n);
        for (T& v : x) v = pool[rng() % 9];
        for (bool largest : {true, false}) {
            // The reference order, written without topk_before: sort keys (class, value, index),
            // class 0 before 1; NaN is class 0 when largest, 1 when smallest. -0 and +0 compare
            // equal as doubles, so they fall back to the index, as they must.
            std::vector<int> order(n);
            for (int i = 0; i < n; ++i) order[i] = i;
            auto key = [&](int i) {
                const bool is_nan = std::isnan(x[i]);
                const int cls = largest ? (is_nan ? 0 : 1) : (is_nan ? 1 : 0);
                const double value = is_nan ? 0.0 : (largest ? -static_cast<double>(x[i]) : static_cast<double>(x[i]));
                return std::make_tuple(cls, value, i);
            };
            std::sort(order.begin(), order.end(), [&](int a, int b) { return key(a) < key(b); });
            // The kernel's ranks: how many elements come before each.
            std::vector<int> rank(n, 0);
            for (int u = 0; u < n; ++u)
                for (int v = 0; v < n; ++v) rank[u] += topk_before(x[v], v, x[u], u, largest);
            for (int t = 0; t < n; ++t) expect(rank[order[t]] == t, "topk rank = reference position", order[t], t);
            // sorted = false: the pivot (rank k-1) and the elements before it are the first k.
            const int k = 1 + static_cast<int>(rng() % n);
            int pivot = -1;
            for (int u = 0; u < n; ++u)
                if (rank[u] == k - 1) pivot = u;
            expect(pivot >= 0, "topk pivot exists", k, n);
            if (pivot < 0) continue;
            std::vector<int> chosen, first_k(order.begin(), order.begin() + k);
            for (int u = 0; u < n; ++u)
                if (u == pivot || topk_before(x[u], u, x[pivot], pivot, largest)) chosen.push_back(u);
            std::sort(first_k.begin(), first_k.end());
            expect(chosen == first_k, "topk unsorted selection = the first k, in index order", k, n);
        }
    }
}

void check_layer_norm_plans() {
    using seam::kernels::plan_layer_norm_params;
    const int64_t rows_list[] = {0, 1, 2, 15, 16, 17, 255, 4096, 5000, 100003, 50000000};
    const int64_t cols_list[] = {1, 6, 255, 256, 257, 768, 100000};
    for (int64_t rows : rows_list)
        for (int64_t cols : cols_list) {
            const auto p = plan_layer_norm_params(rows, cols);
            expect(p.chunks >= 1 && p.chunks <= 65535, "layer_norm grid.y in range", p.chunks);
            expect(seam::kernels::layer_norm_param_workspace_bytes(rows, cols) ==
                       static_cast<size_t>(2 * p.chunks * cols) * sizeof(double),
                   "layer_norm workspace = two [chunks, cols] doubles", rows, cols);
            if (rows == 0) {
                expect(p.chunks == 1 && p.rows_per_chunk == 0, "no rows: one empty chunk", p.chunks, p.rows_per_chunk);
                continue;
            }
            int64_t covered = 0;
            for (int64_t c = 0; c < p.chunks; ++c) {
                const int64_t begin = c * p.rows_per_chunk, end = std::min(rows, begin + p.rows_per_chunk);
                expect(begin == covered && end > begin, "layer_norm row chunks partition the rows", begin, end);
                covered = end;
            }
            expect(covered == rows, "layer_norm chunks cover the rows", covered, rows);
        }
}

/// One axis of a random resampling, built here from PyTorch's formulas (in double), with the
/// reader ranges either tight or covering every output coordinate.
template <class T>
struct HostAxis {
    std::vector<int64_t> i0, i1, begin, end;
    std::vector<T> w0, w1;
    seam::kernels::ResizeAxis<T> view() const {
        seam::kernels::ResizeAxis<T> a;
        a.i0 = i0.data(), a.i1 = i1.data(), a.w0 = w0.data(), a.w1 = w1.data();
        a.readers_begin = begin.data(), a.readers_end = end.data();
        return a;
    }
};

template <class T>
HostAxis<T> random_axis(int64_t out, int64_t in, bool linear, bool tight) {
    HostAxis<T> a;
    const double scale = static_cast<double>(in) / static_cast<double>(out);
    for (int64_t o = 0; o < out; ++o) {
        if (!linear) {
            const int64_t i = std::min(static_cast<int64_t>(std::floor(o * scale)), in - 1);
            a.i0.push_back(i), a.i1.push_back(i), a.w0.push_back(T(1)), a.w1.push_back(T(0));
            continue;
        }
        const double src = std::max(0.0, (o + 0.5) * scale - 0.5);
        const int64_t i = std::min(static_cast<int64_t>(std::floor(src)), in - 1);
        const double frac = std::min(std::max(src - static_cast<double>(i), 0.0), 1.0);
        a.i0.push_back(i), a.i1.push_back(std::min(i + 1, in - 1));
        a.w0.push_back(static_cast<T>(1.0 - frac)), a.w1.push_back(static_cast<T>(frac));
    }
    a.begin.assign(static_cast<size_t>(in), 0);
    a.end.assign(static_cast<size_t>(in), tight ? 0 : out);
    if (tight) {
        for (int64_t i = 0; i < in; ++i) {
            int64_t first = -1, last = -1;
            for (int64_t o = 0; o < out; ++o)
                if (a.i0[o] == i || a.i1[o] == i) last = o, first = first < 0 ? o : first;
            if (first >= 0) a.begin[i] = first, a.end[i] = last + 1;
        }
    }
    return a;
}

template <class T>
void check_resize_elements(std::mt19937_64& rng) {
    namespace k = seam::kernels;
    std::uniform_int_distribution<int> size(1, 11);
    std::uniform_real_distribution<double> value(-2.0, 2.0);
    for (int trial = 0; trial < 400; ++trial) {
        k::ResizeShape s;
        s.N = 1 + trial % 2, s.C = 1 + trial % 3, s.H = size(rng), s.W = size(rng), s.OH = size(rng), s.OW = size(rng);
        const bool linear = trial % 2 == 1, tight = trial % 4 < 2;
        const HostAxis<T> rows = random_axis<T>(s.OH, s.H, linear, tight), cols = random_axis<T>(s.OW, s.W, linear, tight);
        const k::ResizeAxis<T> r = rows.view(), c = cols.view();
        const int64_t planes = s.N * s.C;
        std::vector<T> x(static_cast<size_t>(planes * s.H * s.W)), g(static_cast<size_t>(planes * s.OH * s.OW));
        for (T& v : x) v = static_cast<T>(value(rng));
        for (T& v : g) v = static_cast<T>(value(rng));
        // Forward: the formula, element by element.
        for (int64_t e = 0; e < static_cast<int64_t>(g.size()); ++e) {
            const int64_t ow = e % s.OW, oh = (e / s.OW) % s.OH, p = e / (s.OW * s.OH);
            auto at = [&](int64_t ih, int64_t iw) { return static_cast<double>(x[(p * s.H + ih) * s.W + iw]); };
            const double want =
                linear ? double(rows.w0[oh]) * (at(rows.i0[oh], cols.i0[ow]) * double(cols.w0[ow]) +
                                                at(rows.i0[oh], cols.i1[ow]) * double(cols.w1[ow])) +
                             double(rows.w1[oh]) * (at(rows.i1[oh], cols.i0[ow]) * double(cols.w0[ow]) +
                                                    at(rows.i1[oh], cols.i1[ow]) * double(cols.w1[ow]))
                       : at(rows.i0[oh], cols.i0[ow]);
            const double got = linear ? double(k::bilinear_forward_at(x.data(), s, r, c, e))
                                      : double(k::nearest_forward_at(x.data(), s, r, c, e));
            expect(std::abs(got - want) <= 1e-5 * (1 + std::abs(want)), "resize forward element", trial, e);
        }
        // Backward: a naive scatter of g through the same taps (output order: rows, then columns).
        std::vector<T> scatter(x.size(), T(0));
        for (int64_t e = 0; e < static_cast<int64_t>(g.size()); ++e) {
            const int64_t ow = e % s.OW, oh = (e / s.OW) % s.OH, p = e / (s.OW * s.OH);
            T* plane = scatter.data() + p * s.H * s.W;
            if (!linear) {
                plane[rows.i0[oh] * s.W + cols.i0[ow]] += g[e];
                continue;
            }
            const int64_t hs[2] = {rows.i0[oh], rows.i1[oh]}, ws[2] = {cols.i0[ow], cols.i1[ow]};
            const T hw[2] = {rows.w0[oh], rows.w1[oh]}, ww[2] = {cols.w0[ow], cols.w1[ow]};
            for (int a = 0; a < 2; ++a)
                for (int b = 0; b < 2; ++b) plane[hs[a] * s.W + ws[b]] += g[e] * hw[a] * ww[b];
        }
        for (int64_t e = 0; e < static_cast<int64_t>(x.size()); ++e) {
            const double got = linear ? double(k::bilinear_backward_at(g.data(), s, r, c, e))
                                      : double(k::nearest_backward_at(g.data(), s, r, c, e));
            const double want = scatter[e];
            if (linear)
                expect(std::abs(got - want) <= 1e-5 * (1 + std::abs(want)), "bilinear backward element", trial, e);
            else
                expect(got == want, "nearest backward element (same order: exact)", trial, e);
        }
        // Version 2 (32-bit index split by FastDivisors) gives version 1's bits, element by element.
        const k::ResizeSplit out_split = k::resize_split(s.OH, s.OW), in_split = k::resize_split(s.H, s.W);
        for (int e = 0; e < static_cast<int>(g.size()); ++e) {
            const T v1 = linear ? k::bilinear_forward_at(x.data(), s, r, c, e) : k::nearest_forward_at(x.data(), s, r, c, e);
            const T v2 = linear ? k::resize_at<2>(x.data(), s, r, c, out_split, e) : k::resize_at<0>(x.data(), s, r, c, out_split, e);
            expect(std::memcmp(&v1, &v2, sizeof(T)) == 0, "resize version 2 forward = version 1", trial, e);
        }
        for (int e = 0; e < static_cast<int>(x.size()); ++e) {
            const T v1 = linear ? k::bilinear_backward_at(g.data(), s, r, c, e) : k::nearest_backward_at(g.data(), s, r, c, e);
            const T v2 = linear ? k::resize_at<3>(g.data(), s, r, c, in_split, e) : k::resize_at<1>(g.data(), s, r, c, in_split, e);
            expect(std::memcmp(&v1, &v2, sizeof(T)) == 0, "resize version 2 backward = version 1", trial, e);
        }
    }
}

/// Version 2's index split against the divisions, on large maps (up to 2^31 - 1 elements).
void check_resize_split(std::mt19937_64& rng) {
    namespace k = seam::kernels;
    std::uniform_int_distribution<int> dim(1, 5000);
    for (int trial = 0; trial < 2000; ++trial) {
        const int64_t rows = trial % 3 == 0 ? 1 : dim(rng), cols = trial % 5 == 0 ? 1 : dim(rng);
        const int64_t planes = std::max<int64_t>(1, ((int64_t(1) << 31) - 1) / (rows * cols));
        const int64_t n = std::min<int64_t>(planes * rows * cols, (int64_t(1) << 31) - 1);
        expect(k::resize_v2_fits(n), "a map below 2^31 elements fits version 2", trial, n);
        const k::ResizeSplit sp = k::resize_split(rows, cols);
        std::uniform_int_distribution<int64_t> any(0, n - 1);
        for (int j = 0; j < 200; ++j) {
            const int64_t e = j < 4 ? std::vector<int64_t>{0, n - 1, cols - 1, std::min(n - 1, rows * cols)}[j] : any(rng);
            int64_t plane, r, c;
            sp.split(static_cast<int>(e), plane, r, c);
            expect(plane == e / (rows * cols) && r == (e / cols) % rows && c == e % cols, "resize split", trial, e);
        }
    }
    expect(!k::resize_v2_fits(int64_t(1) << 31), "2^31 elements run version 1", 0, 0);
}


// ----- the fused optimizer steps, version 2 (optim.cuh) --------------------------------------------

/// 64-byte aligned storage, `offset` elements in (1: misaligned for 16-byte vectors).
template <class T>
struct OptimBuffer {
    std::vector<T> storage;
    size_t offset;
    OptimBuffer(const std::vector<T>& values, size_t off) : storage(values.size() + 32, T(7)), offset(0) {
        while (reinterpret_cast<uintptr_t>(storage.data() + offset) % 64 != 0) ++offset;  // < 16 elements
        offset += off;  // a 64-byte aligned start, then `off` elements in; sevens after the values
        std::copy(values.begin(), values.end(), storage.begin() + static_cast<std::ptrdiff_t>(offset));
    }
    T* data() { return storage.data() + offset; }
    std::vector<T> values(size_t n) const {
        return std::vector<T>(storage.begin() + static_cast<std::ptrdiff_t>(offset),
                              storage.begin() + static_cast<std::ptrdiff_t>(offset + n));
    }
};

/// Version 2's groups (sgd_group, adam_group over every group, aligned and one element off) give
/// version 1's per-element bits, and both follow the update formula computed here in long double.
template <class T>
void check_optim_groups(std::mt19937_64& rng) {
    namespace k = seam::kernels;
    std::normal_distribution<double> normal(0.0, 1.0);
    for (int64_t n : {1, 3, 4, 5, 7, 8, 1001}) {
        std::vector<T> w(n), g(n), b1(n), m(n), v(n), vm(n);
        for (int64_t i = 0; i < n; ++i) {
            w[i] = T(normal(rng)), g[i] = T(normal(rng)), b1[i] = T(normal(rng)), m[i] = T(0.1 * normal(rng));
            v[i] = T(std::abs(normal(rng))), vm[i] = T(std::abs(normal(rng)));
        }
        for (int variant = 0; variant < 4; ++variant) {
            k::SgdParams<T> s{T(0.1), variant % 2 ? T(1e-2) : T(0), T(0.9), T(0.75), variant >= 2, false};
            k::AdamParams<T> a{T(0.9), T(0.999), T(1e-8), T(1e-3), T(0.3), variant % 2 ? T(1e-2) : T(0), T(1 - 1e-5),
                               variant >= 2};
            const bool amsgrad = variant == 3;
            std::vector<T> ref_w = w, ref_b = b1, ref_aw = w, ref_m = m, ref_v = v, ref_vm = vm;
            for (int64_t i = 0; i < n; ++i) {  // version 1's element function
                k::sgd_element(ref_w[i], g[i], &ref_b[i], s);
                k::adam_element(ref_aw[i], g[i], ref_m[i], ref_v[i], amsgrad ? &ref_vm[i] : nullptr, a);
            }
            for (size_t off : {size_t(0), size_t(1)}) {
                OptimBuffer<T> bw(w, off), bg(g, off), bb(b1, off), aw(w, off), am(m, off), av(v, off), avm(vm, off);
                const bool vec = k::optim_vector_aligned({bw.data(), bg.data(), bb.data()});
                expect(vec == (off == 0), "optim: the vector path iff aligned", n, off);
                const int64_t groups = (n + k::kVecOf<T> - 1) / k::kVecOf<T>;
                for (int64_t b = 0; b < groups; ++b) k::sgd_group(bw.data(), bg.data(), bb.data(), n, s, b, vec);
                const bool avec = k::optim_vector_aligned({aw.data(), bg.data(), am.data(), av.data(), amsgrad ? avm.data() : nullptr});
                for (int64_t b = 0; b < groups; ++b)
                    k::adam_group(aw.data(), bg.data(), am.data(), av.data(), amsgrad ? avm.data() : nullptr, n, a, b, avec);
                expect(bw.values(n) == ref_w && bb.values(n) == ref_b, "sgd version 2 = version 1, bit for bit", n, variant);
                expect(aw.values(n) == ref_aw && am.values(n) == ref_m && av.values(n) == ref_v && avm.values(n) == (amsgrad ? ref_vm : vm),
                       "adam version 2 = version 1, bit for bit", n, variant);
                bool guards = true;  // a group past n would update them (their gradient is 7 too)
                for (size_t i = 0; i < 4; ++i)
                    guards = guards && bw.storage[bw.offset + n + i] == T(7) && bb.storage[bb.offset + n + i] == T(7) &&
                             aw.storage[aw.offset + n + i] == T(7) && am.storage[am.offset + n + i] == T(7);
                expect(guards, "optim: nothing written past n", n, off);
            }
            // The formulas, in long double (the element functions against an independent computation).
            for (int64_t i = 0; i < n; ++i) {
                long double d = g[i];
                if (s.weight_decay != T(0)) d += (long double)s.weight_decay * w[i];
                const long double buf = (long double)s.momentum * b1[i] + (long double)s.keep * d;
                const long double step = s.nesterov ? d + (long double)s.momentum * buf : buf;
                const long double want_w = w[i] - (long double)s.lr * step;
                expect(std::abs((double)(ref_w[i] - want_w)) <= 8 * std::numeric_limits<T>::epsilon() * (1 + std::abs((double)want_w)),
                       "sgd element against the formula", n, i);
                long double gi = g[i], wi = w[i];
                if (a.weight_decay != T(0)) {
                    if (a.decoupled) wi *= (long double)a.decay;
                    else gi += (long double)a.weight_decay * wi;
                }
                const long double mi = (long double)a.beta1 * m[i] + (1 - (long double)a.beta1) * gi;
                const long double vi = (long double)a.beta2 * v[i] + (1 - (long double)a.beta2) * gi * gi;
                const long double second = amsgrad ? std::max<long double>(vm[i], vi) : vi;
                const long double want_aw = wi - (long double)a.step_size * mi / (std::sqrt(second) / (long double)a.bias_correction2_sqrt + (long double)a.eps);
                expect(std::abs((double)(ref_aw[i] - want_aw)) <= 64 * std::numeric_limits<T>::epsilon() * (1 + std::abs((double)want_aw)),
                       "adam element against the formula", n, i);
            }
        }
    }
}

// ----- the TF32 conv2d kernel's tiling, emulated on the CPU ------------------------------------

/// Round to TF32 as cvt.rna.tf32.f32 does: to a 10-bit mantissa, to nearest, ties away from zero.
float tf32_round(float v) {
    uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    if ((bits & 0x7f800000u) == 0x7f800000u) return v;  // inf, NaN
    bits = (bits + 0x1000u) & 0xffffe000u;              // on the magnitude: ties go away from zero
    std::memcpy(&v, &bits, sizeof v);
    return v;
}

/// The TF32 kernel's work for one problem, emulated: the same grid, the same thread -> element
/// staging, the same warp tiles, the same epilogue lanes. Products summed in double per fragment.
template <int BM, class Problem>
void emulate_tf32_gemm(const Problem& p, int groups, int slices, int k_slice, const char* what) {
    namespace d = seam::kernels::conv2d_tf32_detail;
    using Cfg = d::Tf32Tile<BM>;
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const int grid_n = (p.N + Cfg::BN - 1) / Cfg::BN, grid_m = (p.M + BM - 1) / BM;
    std::vector<float> As(Cfg::A_SIZE), Bs(Cfg::B_SIZE);
    std::vector<int> a_writes(Cfg::A_SIZE), b_writes(Cfg::B_SIZE);
    constexpr int kWarps = d::kThreads / 32;
    std::vector<double> acc(size_t(kWarps) * Cfg::FM * Cfg::FN * d::kFrag * d::kFrag);
    auto acc_at = [&](int warp, int i, int j, int r, int c) -> double& {
        return acc[((((size_t(warp) * Cfg::FM + i) * Cfg::FN + j) * d::kFrag + r) * d::kFrag) + c];
    };
    for (int z = 0; z < groups * slices; ++z)
        for (int by = 0; by < grid_m; ++by)
            for (int bx = 0; bx < grid_n; ++bx) {
                const int g = z / slices, slice = z % slices;
                const int m0 = by * BM, n0 = bx * Cfg::BN;
                const int k_begin = slice * k_slice;
                const int k_end = p.K - k_begin < k_slice ? p.K : k_begin + k_slice;
                std::fill(acc.begin(), acc.end(), 0.0);
                for (int k0 = k_begin; k0 < k_end; k0 += Cfg::BK) {
                    std::fill(As.begin(), As.end(), nan), std::fill(Bs.begin(), Bs.end(), nan);
                    std::fill(a_writes.begin(), a_writes.end(), 0), std::fill(b_writes.begin(), b_writes.end(), 0);
                    for (int tid = 0; tid < d::kThreads; ++tid) {
                        const int a_m = Cfg::a_m(tid), a_k = Cfg::a_k(tid), b_n = Cfg::b_n(tid), b_k = Cfg::b_k(tid);
                        const auto row = p.a_row(g, m0 + a_m);
                        const auto col = p.b_col(g, n0 + b_n);
                        for (int e = 0; e < Cfg::A_PER; ++e) {
                            const int k = k0 + a_k + e, at = Cfg::a_offset(a_m, a_k + e);
                            As[size_t(at)] = tf32_round(k < k_end ? p.a(row, k) : 0.0f);
                            ++a_writes[size_t(at)];
                        }
                        for (int e = 0; e < Cfg::B_PER; ++e) {
                            const int k = k0 + b_k + e, at = Cfg::b_offset(b_k + e, b_n);
                            Bs[size_t(at)] = tf32_round(k < k_end ? p.b(col, k) : 0.0f);
                            ++b_writes[size_t(at)];
                        }
                    }
                    // Every cell a fragment reads was staged exactly once (pads are never read).
                    for (int m = 0; m < BM; ++m)
                        for (int k = 0; k < Cfg::BK; ++k)
                            expect(a_writes[size_t(Cfg::a_offset(m, k))] == 1, what, m, k);
                    for (int k = 0; k < Cfg::BK; ++k)
                        for (int n = 0; n < Cfg::BN; ++n)
                            expect(b_writes[size_t(Cfg::b_offset(k, n))] == 1, what, k, n);
                    for (int warp = 0; warp < kWarps; ++warp) {
                        const int wr = Cfg::warp_row(warp), wc = Cfg::warp_col(warp);
                        for (int kk = 0; kk < Cfg::BK; kk += d::kFragK)
                            for (int i = 0; i < Cfg::FM; ++i)
                                for (int j = 0; j < Cfg::FN; ++j)
                                    for (int r = 0; r < d::kFrag; ++r)
                                        for (int c = 0; c < d::kFrag; ++c) {
                                            double sum = 0;
                                            for (int q = 0; q < d::kFragK; ++q)
                                                sum += double(As[size_t(Cfg::a_offset(wr + i * d::kFrag + r, kk + q))]) *
                                                       double(Bs[size_t(Cfg::b_offset(kk + q, wc + j * d::kFrag + c))]);
                                            acc_at(warp, i, j, r, c) += sum;
                                        }
                    }
                }
                for (int warp = 0; warp < kWarps; ++warp) {
                    const int wr = Cfg::warp_row(warp), wc = Cfg::warp_col(warp);
                    for (int j = 0; j < Cfg::FN; ++j)
                        for (int i = 0; i < Cfg::FM; ++i)
                            for (int lane = 0; lane < 32; ++lane) {
                                const int c = Cfg::frag_col(lane), n = n0 + wc + j * d::kFrag + c;
                                const auto out = p.c_col(g, slice, n < p.N ? n : 0);
                                if (n >= p.N) continue;
                                for (int t = 0; t < Cfg::kRowsPerLane; ++t) {
                                    const int r = Cfg::frag_row(lane, t), m = m0 + wr + i * d::kFrag + r;
                                    if (m < p.M) p.c_store(out, m, static_cast<float>(acc_at(warp, i, j, r, c)));
                                }
                            }
                }
            }
}

template <class Problem>
void emulate_tf32(const Problem& p, int groups, int slices, int k_slice, const char* what) {
    if (seam::kernels::conv2d_tf32_detail::block_rows(p.M) == 128) emulate_tf32_gemm<128>(p, groups, slices, k_slice, what);
    else emulate_tf32_gemm<64>(p, groups, slices, k_slice, what);
}

/// |got - want| <= 1e-6 · Σ|terms| + 1e-30 (the emulation and the loops differ only in the order of
/// double sums and the final rounding to float); NaN (an unwritten element) fails.
void expect_conv_close(const std::vector<float>& got, const std::vector<double>& want, const std::vector<double>& magnitude,
                       const char* what) {
    for (size_t i = 0; i < want.size(); ++i) {
        const double diff = std::abs(double(got[i]) - want[i]);
        expect(diff <= 1e-6 * magnitude[i] + 1e-30, what, static_cast<long long>(i),
               static_cast<long long>(std::isnan(got[i]) ? -1 : diff * 1e9));
    }
}

void check_tf32_conv_tiling(std::mt19937_64& rng) {
    namespace k = seam::kernels;
    namespace d = seam::kernels::conv2d_tf32_detail;
    // The epilogue's lanes cover a 16 x 16 fragment exactly once.
    {
        using Cfg = d::Tf32Tile<64>;
        std::vector<int> hits(d::kFrag * d::kFrag, 0);
        for (int lane = 0; lane < 32; ++lane)
            for (int t = 0; t < Cfg::kRowsPerLane; ++t) ++hits[size_t(Cfg::frag_row(lane, t) * d::kFrag + Cfg::frag_col(lane))];
        for (int h : hits) expect(h == 1, "tf32 epilogue: a fragment element written once", h);
    }
    struct Case {
        const char* name;
        int64_t N, C, H, W, O, KH, KW, sh, sw, ph, pw, dh, dw, groups;
    };
    const std::vector<Case> cases = {
        {"3x3 pad 1, odd map, C=3 (K=27)", 2, 3, 7, 9, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1},
        {"3x3 stride 2 pad 1, C=5, O=7, batch 3", 3, 5, 9, 8, 7, 3, 3, 2, 2, 1, 1, 1, 1, 1},
        {"3x3 dilation 2 pad 2, groups 2", 2, 6, 8, 7, 4, 3, 3, 1, 1, 2, 2, 2, 2, 2},
        {"1x1, batch 1 (backward-weight not split)", 1, 5, 6, 9, 7, 1, 1, 1, 1, 0, 0, 1, 1, 1},
        {"O=130 (128-row tiles, M edge)", 1, 4, 5, 5, 130, 3, 3, 1, 1, 1, 1, 1, 1, 1},
        {"C=70 stride 2 (backward-data with 128-row tiles)", 1, 70, 5, 6, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1},
        {"5x3 kernel, dilation 2x3, padding 2x1, stride 1x2", 2, 6, 12, 11, 10, 5, 3, 1, 2, 2, 1, 2, 3, 1},
        {"batch 3, 19x21 (backward-weight split over K)", 3, 2, 19, 21, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1},
    };
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    for (const Case& c : cases) {
        k::Conv2dShape s;
        s.N = c.N, s.C = c.C, s.H = c.H, s.W = c.W, s.O = c.O, s.KH = c.KH, s.KW = c.KW, s.sh = c.sh, s.sw = c.sw;
        s.ph = c.ph, s.pw = c.pw, s.dh = c.dh, s.dw = c.dw, s.groups = c.groups;
        s.OH = (s.H + 2 * s.ph - s.dh * (s.KH - 1) - 1) / s.sh + 1;
        s.OW = (s.W + 2 * s.pw - s.dw * (s.KW - 1) - 1) / s.sw + 1;
        expect(k::conv2d_detail::valid(s) && k::conv2d_detail::gemm_fits(s), c.name);
        const int64_t Cg = s.C / s.groups, Og = s.O / s.groups;
        const size_t nx = size_t(s.N * s.C * s.H * s.W), nw = size_t(s.O * Cg * s.KH * s.KW);
        const size_t ny = size_t(s.N * s.O * s.OH * s.OW);
        std::vector<float> x(nx), w(nw), b(size_t(s.O)), dy(ny);
        for (auto* v : {&x, &w, &b, &dy})
            for (float& e : *v) e = uniform(rng);
        // Naive loops in double on the TF32-rounded operands (the bias is added in fp32, unrounded).
        std::vector<double> y_ref(ny, 0), y_mag(ny, 0), dx_ref(nx, 0), dx_mag(nx, 0), dw_ref(nw, 0), dw_mag(nw, 0);
        for (int64_t n = 0; n < s.N; ++n)
            for (int64_t o = 0; o < s.O; ++o)
                for (int64_t oh = 0; oh < s.OH; ++oh)
                    for (int64_t ow = 0; ow < s.OW; ++ow) {
                        const int64_t g = o / Og, yi = ((n * s.O + o) * s.OH + oh) * s.OW + ow;
                        for (int64_t cc = 0; cc < Cg; ++cc)
                            for (int64_t ki = 0; ki < s.KH; ++ki)
                                for (int64_t kj = 0; kj < s.KW; ++kj) {
                                    const int64_t ih = oh * s.sh - s.ph + ki * s.dh, iw = ow * s.sw - s.pw + kj * s.dw;
                                    if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
                                    const size_t xi = size_t(((n * s.C + g * Cg + cc) * s.H + ih) * s.W + iw);
                                    const size_t wi = size_t(((o * Cg + cc) * s.KH + ki) * s.KW + kj);
                                    const double xv = tf32_round(x[xi]), wv = tf32_round(w[wi]);
                                    const double gv = tf32_round(dy[size_t(yi)]);
                                    y_ref[size_t(yi)] += xv * wv, y_mag[size_t(yi)] += std::abs(xv * wv);
                                    dx_ref[xi] += wv * gv, dx_mag[xi] += std::abs(wv * gv);
                                    dw_ref[wi] += gv * xv, dw_mag[wi] += std::abs(gv * xv);
                                }
                        y_ref[size_t(yi)] += b[size_t(o)], y_mag[size_t(yi)] += std::abs(b[size_t(o)]);
                    }
        const float nan = std::numeric_limits<float>::quiet_NaN();
        char what[160];
        {
            std::vector<float> y(ny, nan);
            const auto p = d::forward_problem(x.data(), w.data(), b.data(), y.data(), s);
            std::snprintf(what, sizeof what, "tf32 forward: %s", c.name);
            emulate_tf32(p, int(s.groups), 1, p.K > 0 ? p.K : d::kBK, what);
            expect_conv_close(y, y_ref, y_mag, what);
        }
        {
            std::vector<float> dx(nx, nan);
            const auto p = d::backward_data_problem(w.data(), dy.data(), dx.data(), s);
            std::snprintf(what, sizeof what, "tf32 backward-data: %s", c.name);
            emulate_tf32(p, int(s.groups), 1, p.K > 0 ? p.K : d::kBK, what);
            expect_conv_close(dx, dx_ref, dx_mag, what);
        }
        {
            const auto plan = d::backward_weight_slices(s);
            const int64_t K = s.N * s.OH * s.OW;
            std::snprintf(what, sizeof what, "tf32 backward-weight plan: %s", c.name);
            expect(plan.slices >= 1 && plan.k_slice % d::kBK == 0 && int64_t(plan.slices) * plan.k_slice >= K &&
                       int64_t(plan.slices - 1) * plan.k_slice < std::max<int64_t>(K, 1),
                   what, plan.slices, plan.k_slice);
            const size_t bytes = k::conv2d_backward_weight_tf32_workspace_bytes(s);
            expect(bytes == (plan.slices > 1 ? size_t(plan.slices) * nw * sizeof(float) : 0), what, (long long)bytes);
            std::vector<float> partial(size_t(plan.slices) * nw, nan), dw(nw, nan);
            const auto p = d::backward_weight_problem(x.data(), dy.data(), partial.data(), s);
            std::snprintf(what, sizeof what, "tf32 backward-weight: %s (%d slices)", c.name, plan.slices);
            emulate_tf32(p, int(s.groups), plan.slices, plan.k_slice, what);
            for (size_t i = 0; i < nw; ++i) {  // sum_slices_kernel: in slice order, in double
                double sum = 0;
                for (int sl = 0; sl < plan.slices; ++sl) sum += double(partial[size_t(sl) * nw + i]);
                dw[i] = static_cast<float>(sum);
            }
            // Each slice's partial was rounded to float: allow that per slice.
            std::vector<double> tol_mag(dw_mag);
            for (double& m : tol_mag) m *= plan.slices;
            expect_conv_close(dw, dw_ref, tol_mag, what);
            if (std::string(c.name).find("split over K") != std::string::npos) expect(plan.slices > 1, "split case splits", plan.slices);
            if (s.KH == 1 && s.N == 1) expect(plan.slices == 1, "1x1 batch-1 case is not split", plan.slices);
        }
    }
}

}  // namespace


/// elementwise.cuh's comparisons: compare_values against C++'s own operators on NaN, ±0, ±inf and
/// ordinary values, and CompareElement run over a broadcast launch (the strided kernel's loop:
/// offsets from make_indexer, one functor call per linear index) against a naive double loop.
template <class T>
void check_compare_rule() {
    namespace k = seam::kernels;
    using Op = seam::cuda::CompareOp;
    const T nan = std::numeric_limits<T>::quiet_NaN(), inf = std::numeric_limits<T>::infinity();
    const std::vector<T> values = {T(0), -T(0), T(1), T(-1), T(0.5), inf, -inf, nan};
    for (T a : values)
        for (T b : values) {
            expect(k::compare_values(Op::eq, a, b) == (a == b), "compare eq");
            expect(k::compare_values(Op::ne, a, b) == (a != b), "compare ne");
            expect(k::compare_values(Op::gt, a, b) == (a > b), "compare gt");
            expect(k::compare_values(Op::lt, a, b) == (a < b), "compare lt");
            expect(k::compare_values(Op::ge, a, b) == (a >= b), "compare ge");
            expect(k::compare_values(Op::le, a, b) == (a <= b), "compare le");
            expect(k::compare_values(Op::logical_and, a, b) == (a != T(0) && b != T(0)), "compare and");
            expect(k::compare_values(Op::logical_or, a, b) == (a != T(0) || b != T(0)), "compare or");
        }
    // [4, 1] against [1, 8] broadcast to [4, 8], out contiguous.
    const seam::Shape shape = {4, 8};
    std::vector<T> a(4), b(8);
    for (int i = 0; i < 4; ++i) a[size_t(i)] = values[size_t(i * 2)];
    for (int j = 0; j < 8; ++j) b[size_t(j)] = values[size_t(j)];
    std::vector<uint8_t> out(32, 7);
    const auto indexer = k::make_indexer<3>("compare", shape, {{1, 0}, {0, 1}, {8, 1}});
    const k::CompareElement<T> f{Op::le, a.data(), b.data(), out.data()};
    for (int64_t i = 0; i < 32; ++i) {
        int64_t off[3];
        indexer.offsets(i, off);
        f(i, off);
    }
    for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 8; ++j)
            expect(out[size_t(i * 8 + j)] == (a[size_t(i)] <= b[size_t(j)] ? 1 : 0), "broadcast compare le", i, j);
}

/// gather / scatter_add (gather_scatter.cuh) against naive loops over coordinates.
void check_gather_scatter(std::mt19937_64& rng) {
    namespace sk = seam::kernels;
    int with_bad = 0, clean = 0;
    for (int trial = 0; trial < 400; ++trial) {
        const int rank = 1 + int(rng() % 4), dim = int(rng() % uint64_t(rank));
        seam::Shape xs(static_cast<size_t>(rank)), is(static_cast<size_t>(rank));
        for (int r = 0; r < rank; ++r) {
            xs[size_t(r)] = 1 + int64_t(rng() % 5);
            is[size_t(r)] = r == dim ? int64_t(rng() % 7) : 1 + int64_t(rng() % uint64_t(xs[size_t(r)]));
        }
        int64_t nx = 1, ni = 1;
        for (int r = 0; r < rank; ++r) nx *= xs[size_t(r)], ni *= is[size_t(r)];
        const bool allow_bad = trial % 3 == 0;
        std::vector<float> x(static_cast<size_t>(nx)), src(static_cast<size_t>(ni));
        std::vector<int64_t> idx(static_cast<size_t>(ni));
        std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
        for (float& v : x) v = uniform(rng);
        for (float& v : src) v = uniform(rng);
        const int64_t S = xs[size_t(dim)];
        for (int64_t& v : idx) v = allow_bad && rng() % 8 == 0 ? (rng() % 2 ? -1 - int64_t(rng() % 3) : S + int64_t(rng() % 3))
                                                                : int64_t(rng() % uint64_t(S));
        // Naive: walk the index row-major by coordinates.
        std::vector<float> want_gather(static_cast<size_t>(ni), 0.0f), want_scatter(x);
        int64_t first_bad = INT64_MAX;
        std::vector<int64_t> c(static_cast<size_t>(rank), 0);
        for (int64_t e = 0; e < ni; ++e) {
            int64_t rest = e;
            for (int r = rank - 1; r >= 0; --r) c[size_t(r)] = rest % is[size_t(r)], rest /= is[size_t(r)];
            const int64_t v = idx[size_t(e)];
            if (v < 0 || v >= S) {
                if (first_bad == INT64_MAX) first_bad = e;
                continue;
            }
            int64_t xo = 0;
            for (int r = 0; r < rank; ++r) xo = xo * xs[size_t(r)] + (r == dim ? v : c[size_t(r)]);
            want_gather[size_t(e)] = x[size_t(xo)];
            want_scatter[size_t(xo)] += src[size_t(e)];
        }
        first_bad == INT64_MAX ? ++clean : ++with_bad;
        const sk::GatherGeometry g = sk::gather_geometry(xs, dim, is);
        // gather: every thread of the launch (the kernel's body: skip and record a bad value).
        std::vector<float> got(static_cast<size_t>(ni), NAN);
        int64_t bad = INT64_MAX;
        for (int64_t e = 0; e < ni; ++e) {
            const int64_t source = g.gather_source(e, idx[size_t(e)]);
            if (source < 0) bad = std::min(bad, e), got[size_t(e)] = 0.0f;
            else got[size_t(e)] = x[size_t(source)];
        }
        expect(bad == first_bad, "gather: the recorded bad position is the first out-of-range one", bad, first_bad);
        for (int64_t e = 0; e < ni; ++e)
            if (std::memcmp(&got[size_t(e)], &want_gather[size_t(e)], 4) != 0) {
                expect(false, "gather equals the naive loop", trial, e);
                break;
            }
        // scatter_add: every line, in reverse order (lines are independent).
        std::vector<float> out(x);
        int64_t sbad = INT64_MAX;
        const int64_t lines = is[size_t(dim)] == 0 ? 0 : g.lines();
        expect(is[size_t(dim)] == 0 || lines * is[size_t(dim)] == ni, "scatter_add: lines x line length = index size", lines, ni);
        for (int64_t l = lines - 1; l >= 0; --l) sk::scatter_add_line(g, l, out.data(), idx.data(), src.data(), sbad);
        expect(sbad == first_bad, "scatter_add: the recorded bad position is the first out-of-range one", sbad, first_bad);
        for (int64_t i = 0; i < nx; ++i)
            if (std::memcmp(&out[size_t(i)], &want_scatter[size_t(i)], 4) != 0) {
                expect(false, "scatter_add equals the CPU op's row-major loop bit for bit", trial, i);
                break;
            }
    }
    expect(with_bad > 50 && clean > 200, "gather/scatter trials with and without out-of-range values", with_bad, clean);
}

int main() {
    std::mt19937_64 rng(20261126);
    check_indexer(rng);
    check_compare_rule<float>();
    check_compare_rule<double>();
    check_max_rule<float>(rng);
    check_max_rule<double>(rng);
    check_plans();
    check_topk_order<float>(rng);
    check_topk_order<double>(rng);
    check_layer_norm_plans();
    check_resize_elements<float>(rng);
    check_resize_elements<double>(rng);
    check_resize_split(rng);
    {  // its own generator: the checks after it draw their trials from `rng`'s sequence as before
        std::mt19937_64 optim_rng(20261128);
        check_optim_groups<float>(optim_rng);
        check_optim_groups<double>(optim_rng);
    }
    check_tf32_conv_tiling(rng);
    check_gather_scatter(rng);
    if (failures) {
        std::printf("test_cuda_kernel_logic: %d FAILED\n", failures);
        return 1;
    }
    std::printf("test_cuda_kernel_logic: all passed (host-side logic of the CUDA kernels; no GPU used)\n");
    return 0;
}
