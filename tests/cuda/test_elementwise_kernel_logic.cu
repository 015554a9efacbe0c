// tests/cuda/test_elementwise_kernel_logic.cu — version 2 of the elementwise and row-reduction
// kernels (kernels/seam/elementwise.cuh, kernels/seam/reduce.cuh), emulated on the CPU over every
// thread of their launches (no GPU needed: this program runs wherever it compiles; exit 0 pass,
// 1 fail).
//
// The launchers are templates over an executor: on the GPU DeviceElementwise / DeviceReduce launch
// the kernels; here HostElementwise / HostReduce run, for every block and thread of the same grid
// (plan_dense, plan_rows_v2), the kernels' own per-thread code — dense_tile with the op's body,
// accumulate_row, accumulate_column, the Output stores — and replay each warp's shuffle tree lane
// by lane in the kernel's order (R::combine(own, lane + offset's), a lane whose partner lies
// outside its group of `width` lanes combining with itself, as __shfl_down_sync returns its own
// value there). Version 3's columns tile kernel's tree in shared memory is not a copy kept here:
// replay_columns_tree runs the kernel's own schedule (k::ColumnsTree — its levels, each thread's
// partner and combining order, which threads store) for every thread of every level, from a
// snapshot of the level and in place in increasing and decreasing thread order, which must agree
// bit for bit (a slot read and written at one level would be a race on the GPU); so a wrong partner
// or level count in the kernel changes the emulated result. So the whole launcher runs: layout
// collapsing, the alignment tests that choose between the dense and the strided kernel, the
// channel-broadcast detection, the chunk plan and its two passes. The strided kernel (version 1) is emulated as its grid-stride loop, one linear
// index after the other. Vector loads and stores check their alignment on the host (load_vec /
// store_vec), so a misaligned pointer that reached the vector path would fail here as it would
// fault on the GPU. Outputs start as NaN (or a poison byte), so an element no thread writes fails.
//
// Checked against independent computations (naive loops and formulas written here):
//   * dense_tile's coverage: a counting body sees every element loaded and stored exactly once
//     (whole vectors by load/store, the partial last vector by scalar), for n = 0 .. 70 and around
//     tile and grid boundaries, 32- and 64-bit indices, grids smaller than the tile count;
//   * every unary op forward and backward, every binary op forward and backward (y and either
//     gradient absent too), fill (float, double, int64, int32, uint8; 0 via memset, -0.0 and other
//     values via the kernel), select (where): float and double, n from 0 to past several tiles
//     (n < one vector, n not a multiple of 4, grid-stride with a one-SM grid), every pointer
//     misaligned by 1..3 elements in turn (must take the strided kernel and still be right) —
//     bit-exact;
//   * the binary forward's channel broadcasts: bias [1,C,1,1] over [N,C,H,W] (H·W = 1, 3, 4, 35),
//     a row [C] over [R,C], a scalar, the broadcast operand first or second; two broadcast operands
//     and a transposed operand must take the strided kernel — bit-exact;
//   * sum, max and min along the last dim (rows kernel v2): rows of 1, 3, 10, 31, 32, 33, 1000,
//     1024, 1031, 4101 elements and long rows that take the chunked two-pass plan, float and
//     double, row starts misaligned by 1..3 elements, values with NaN (two: the first wins),
//     ties, ±inf, -0.0 and 0.0 — max/min value (bit for bit) and index exact against a
//     left-to-right scan with the CPU's rule; sums within n·2^-53·Σ|x| (+ the float rounding) of
//     a long-double sum, and bit-identical whatever the row start's alignment (the order of the
//     additions depends on the shape only); a few column reductions (inner > 1) through the same
//     executor.
//
// Built by CMake as seam_cuda_test_elementwise_kernel_logic (linked with seam::cuda, which defines
// op_name, used in the launchers' messages). By hand, with the library's object file:
//   nvcc -std=c++20 -O1 -Iinclude -Ikernels tests/cuda/test_elementwise_kernel_logic.cu seam_cuda.o -lcublas
//     -o ew_logic && ./ew_logic
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "seam/elementwise.cuh"
#include "seam/reduce.cuh"

#include "kernel_logic_check.hpp"

namespace {

namespace k = seam::kernels;
using seam::Shape;
using seam::cuda::BinaryOp;
using seam::cuda::UnaryOp;

using seam::kernel_logic::checks;
using seam::kernel_logic::expect;
using seam::kernel_logic::failures;
using seam::kernel_logic::same_bits;

template <class T>
const char* type_name() {
    if constexpr (std::is_same_v<T, float>) return "float";
    else if constexpr (std::is_same_v<T, double>) return "double";
    else if constexpr (std::is_same_v<T, int64_t>) return "int64";
    else if constexpr (std::is_same_v<T, int32_t>) return "int32";
    else return "uint8";
}

/// 64-byte aligned storage; at(k) is element k, so at(1) is misaligned for 16-byte vectors.
template <class T>
struct Buffer {
    struct Free {
        void operator()(T* p) const { std::free(p); }
    };
    std::unique_ptr<T, Free> storage;
    size_t size;
    explicit Buffer(size_t n) : size(n + 8) {
        const size_t bytes = (size * sizeof(T) + 63) / 64 * 64;
        storage.reset(static_cast<T*>(std::aligned_alloc(64, bytes)));
    }
    T* at(size_t k) const { return storage.get() + k; }
};

template <class T>
T poison() {
    if constexpr (std::is_floating_point_v<T>) return std::numeric_limits<T>::quiet_NaN();
    else return T(0x5a);
}

// ----- the executors -----------------------------------------------------------------------------------

/// Runs the elementwise launchers' kernels on the CPU, every thread of the launch.
struct HostElementwise {
    int version = 2;
    int multiprocessors = 132;    // the grid cap of plan_dense (1: grids smaller than the tile count)
    bool force_index64 = false;   // run dense_tile with int64_t indices even when n < 2^31
    mutable int dense_calls = 0;
    mutable int strided_calls = 0;

    template <int K, class F>
    void strided(int64_t n, const k::StridedIndexer<K>& indexer, const F& f) const {
        ++strided_calls;
        for (int64_t i = 0; i < n; ++i) {  // elementwise_kernel's grid-stride loop covers each i once
            int64_t off[K];
            indexer.offsets(i, off);
            f(i, off);
        }
    }
    template <class Body>
    void dense(int64_t n, const Body& body) const {
        ++dense_calls;
        const k::DenseGrid g = k::plan_dense(n, Body::kVec, multiprocessors);
        if (g.index32 && !force_index64) run<uint32_t>(n, g, body);
        else run<int64_t>(n, g, body);
    }
    template <class I, class Body>
    void run(int64_t n, const k::DenseGrid& g, const Body& body) const {
        for (int64_t block = 0; block < g.blocks; ++block)
            for (unsigned thread = 0; thread < unsigned(k::kThreads); ++thread)
                for (int64_t tile = block; tile < g.tiles; tile += g.blocks)  // dense_kernel's loop
                    k::dense_tile<I>(body, I(n), I(tile), thread);
    }
    void zero_bytes(void* p, size_t bytes) const { std::memset(p, 0, bytes); }
    void copy_bytes(void* dst, const void* src, size_t bytes) const { std::memcpy(dst, src, bytes); }
};

/// The shuffle tree of warp_tree on 32 lanes' values, replayed: at offsets width/2, ..., 1 lane l
/// takes R::combine(own, lane l + offset's) when that lane is in l's group of `width`, else
/// R::combine(own, own) (__shfl_down_sync returns the caller's own value there).
template <class R>
void replay_warp_tree(typename R::Acc (&lanes)[k::kWarpSize], int width) {
    using Acc = typename R::Acc;
    for (int offset = width / 2; offset > 0; offset /= 2) {
        Acc next[k::kWarpSize];
        for (int l = 0; l < k::kWarpSize; ++l) {
            const bool inside = (l % width) + offset < width;
            next[l] = R::combine(lanes[l], inside ? lanes[l + offset] : lanes[l]);
        }
        for (int l = 0; l < k::kWarpSize; ++l) lanes[l] = next[l];
    }
}

template <class Acc>
bool same_acc(const Acc& a, const Acc& b) {
    if constexpr (std::is_arithmetic_v<Acc>) return same_bits(a, b);
    else return same_bits(a.value, b.value) && a.index == b.index;
}

/// reduce_columns_tile_kernel's tree over ty on the kThreads · Vec slots of its shared memory, run
/// with the kernel's own schedule (k::ColumnsTree: its levels, each thread's step with the kernel's
/// partner and combining order), level by level for every thread. Each level is run three ways —
/// every thread reading the slots as they were before the level (as on the GPU between two
/// __syncthreads), in place in increasing thread order, in place in decreasing order — and the
/// three must agree bit for bit: if a slot were written and read at the same level, the GPU's
/// result would depend on the threads' timing, and here at least one order would differ (unless the
/// write left the value unchanged). A partner outside the block fails too.
template <class R, int Vec>
void replay_columns_tree(std::vector<typename R::Acc>& partial, const k::ColumnsTile& c) {
    using Acc = typename R::Acc;
    using Tree = k::ColumnsTree;
    for (int half = Tree::first(c); Tree::more(half); half = Tree::next(half)) {
        bool inside = true;
        for (int t = 0; t < k::kThreads; ++t)
            if (t / c.tx < half) inside = inside && Tree::partner(c, unsigned(t), half) < unsigned(k::kThreads);
        if (!inside) return expect(false, "columns tree: a partner outside the block at half=" + std::to_string(half));
        std::vector<Acc> snapshot = partial, forwards = partial, backwards = partial;
        for (int t = 0; t < k::kThreads; ++t) Tree::step<R, Vec>(snapshot.data(), partial.data(), c, half, t, t / c.tx);
        for (int t = 0; t < k::kThreads; ++t) Tree::step<R, Vec>(forwards.data(), forwards.data(), c, half, t, t / c.tx);
        for (int t = k::kThreads - 1; t >= 0; --t)
            Tree::step<R, Vec>(backwards.data(), backwards.data(), c, half, t, t / c.tx);
        bool same = true;
        for (size_t i = 0; i < partial.size(); ++i)
            same = same && same_acc(partial[i], forwards[i]) && same_acc(partial[i], backwards[i]);
        if (!same) expect(false, "columns tree: a slot read and written at level half=" + std::to_string(half));
    }
}

/// Runs launch_reduce's passes on the CPU: the version-2 rows kernels block by block, warp by
/// warp, lane by lane; the columns kernel column by column.
struct HostReduce {
    int version = 3;
    mutable int warp_launches = 0, block_launches = 0, column_launches = 0, short_launches = 0, tile_launches = 0;

    template <class R, class In, class Out>
    void rows_v1(const In*, int64_t, int64_t, const k::ReducePlan&, Out) const {
        seam::fail("HostReduce: version 1 is not emulated");
    }
    template <class R, class In, class Out, int Version = 2>
    void rows_v2(const In* x, int64_t rows, int64_t n, const k::ReducePlan& p, Out out) const {
        using Acc = typename R::Acc;
        const k::RowsLaunch l = k::plan_rows_v2<In>(rows, p.chunk_len);
        ++(l.lanes == k::kThreads ? block_launches : warp_launches);
        for (int64_t chunk = 0; chunk < p.chunks; ++chunk) {  // blockIdx.y
            const int64_t begin = chunk * p.chunk_len, end = std::min(begin + p.chunk_len, n);
            if (l.lanes == k::kThreads) {  // reduce_rows_block_kernel
                for (int64_t block = 0; block < l.blocks; ++block)
                    for (int64_t row = block; row < rows; row += l.blocks) {
                        Acc warp_result[k::kWarps];
                        for (int w = 0; w < k::kWarps; ++w) {
                            Acc lanes[k::kWarpSize];
                            for (int lane = 0; lane < k::kWarpSize; ++lane)
                                lanes[lane] = k::accumulate_row_for<Version, R>(x + row * n, begin, end,
                                                                                w * k::kWarpSize + lane, k::kThreads);
                            replay_warp_tree<R>(lanes, k::kWarpSize);
                            warp_result[w] = lanes[0];
                        }
                        Acc lanes[k::kWarpSize];
                        for (int lane = 0; lane < k::kWarpSize; ++lane)
                            lanes[lane] = lane < k::kWarps ? warp_result[lane] : R::identity();
                        replay_warp_tree<R>(lanes, k::kWarps);
                        out.store(row * p.chunks + chunk, lanes[0]);
                    }
            } else {  // reduce_rows_warp_kernel
                const int rows_per_warp = k::kWarpSize / l.lanes;
                const int64_t step = l.blocks * k::kWarps * rows_per_warp;
                for (int64_t block = 0; block < l.blocks; ++block)
                    for (int w = 0; w < k::kWarps; ++w)
                        for (int64_t base = (block * k::kWarps + w) * rows_per_warp; base < rows; base += step) {
                            Acc lanes[k::kWarpSize];
                            for (int lane = 0; lane < k::kWarpSize; ++lane) {
                                const int64_t row = base + lane / l.lanes;
                                lanes[lane] = row < rows ? k::accumulate_row_for<Version, R>(x + row * n, begin, end,
                                                                                             lane & (l.lanes - 1), l.lanes)
                                                         : R::identity();
                            }
                            replay_warp_tree<R>(lanes, l.lanes);
                            for (int lane = 0; lane < k::kWarpSize; ++lane) {
                                const int64_t row = base + lane / l.lanes;
                                if (row < rows && (lane & (l.lanes - 1)) == 0) out.store(row * p.chunks + chunk, lanes[lane]);
                            }
                        }
            }
        }
    }
    /// Version 3: reduce_rows_short_kernel tile by tile — every thread's loads into a tile prefilled
    /// with NaN (a slot no thread writes poisons its row), then every thread's row — else the
    /// version-2 kernels with version 3's per-thread function.
    template <class R, class In, class Out>
    void rows_v3(const In* x, int64_t rows, int64_t n, const k::ReducePlan& p, Out out) const {
        if (p.chunks == 1 && k::short_rows_fit<In>(n)) {
            ++short_launches;
            const k::ShortRows s = k::plan_short_rows(n);
            const int64_t blocks = std::min<int64_t>((rows + k::kThreads - 1) / k::kThreads, int64_t(1) << 20);
            std::vector<In> tile(k::short_tile_bytes<In>(s) / sizeof(In));
            for (int64_t block = 0; block < blocks; ++block)
                for (int64_t row0 = block * k::kThreads; row0 < rows; row0 += blocks * k::kThreads) {
                    const int count = static_cast<int>(std::min<int64_t>(rows - row0, k::kThreads));
                    std::fill(tile.begin(), tile.end(), poison<In>());
                    for (int t = 0; t < k::kThreads; ++t)
                        k::load_short_tile(x + row0 * s.n, count * s.n, s, t, k::kThreads, tile.data());
                    for (int i = 0; i < count; ++i) out.store(row0 + i, k::reduce_short_row<R>(tile.data(), s, i));
                }
            return;
        }
        rows_v2<R, In, Out, 3>(x, rows, n, p, out);
    }
    /// Version 3's reduce_columns_tile_kernel: every thread's column_tile_partial, then the tree over
    /// ty level by level with the kernel's schedule (replay_columns_tree), then the stores of the
    /// threads that k::ColumnsTree::stores picks.
    template <class R, class In, class Out>
    void columns_v3(const In* x, int64_t outer, int64_t n, int64_t inner, const k::ReducePlan& p, Out out) const {
        const k::ColumnsTile c = k::plan_columns_v3<In>(inner);
        if (c.vec > 1) columns_v3_as<R, k::kGroupOf<In>>(x, outer, n, inner, p, c, out);
        else columns_v3_as<R, 1>(x, outer, n, inner, p, c, out);
    }
    template <class R, int Vec, class In, class Out>
    void columns_v3_as(const In* x, int64_t outer, int64_t n, int64_t inner, const k::ReducePlan& p,
                       const k::ColumnsTile& c, Out out) const {
        using Acc = typename R::Acc;
        ++tile_launches;
        if (c.tx * c.ty != k::kThreads || (c.tx & (c.tx - 1)) != 0) seam::fail("columns_v3: bad block shape");
        const int64_t tiles = outer * c.tiles_per_o, blocks = std::min<int64_t>(tiles, int64_t(1) << 20);
        for (int64_t chunk = 0; chunk < p.chunks; ++chunk) {
            const int64_t begin = chunk * p.chunk_len, end = std::min(begin + p.chunk_len, n);
            for (int64_t block = 0; block < blocks; ++block)
                for (int64_t tile = block; tile < tiles; tile += blocks) {
                    std::vector<Acc> partial(size_t(k::kThreads) * Vec);
                    for (int t = 0; t < k::kThreads; ++t) {
                        Acc acc[Vec];
                        k::column_tile_partial<R, Vec>(x, n, inner, c, tile, t % c.tx, t / c.tx, begin, end, acc);
                        for (int v = 0; v < Vec; ++v) partial[size_t(t) * Vec + v] = acc[v];
                    }
                    replay_columns_tree<R, Vec>(partial, c);
                    const int64_t o = tile / c.tiles_per_o;
                    for (int t = 0; t < k::kThreads; ++t) {
                        const int64_t g = (tile % c.tiles_per_o) * c.tx + t % c.tx;
                        if (k::ColumnsTree::stores(t / c.tx) && g < c.groups)
                            for (int v = 0; v < Vec; ++v)
                                out.store((o * p.chunks + chunk) * inner + g * Vec + v, partial[size_t(t) * Vec + v]);
                    }
                }
        }
    }
    template <class R, class In, class Out>
    void columns(const In* x, int64_t outer, int64_t n, int64_t inner, const k::ReducePlan& p, Out out) const {
        ++column_launches;
        for (int64_t chunk = 0; chunk < p.chunks; ++chunk) {
            const int64_t begin = chunk * p.chunk_len, end = std::min(begin + p.chunk_len, n);
            for (int64_t q = 0; q < outer * inner; ++q) {
                const int64_t o = q / inner, j = q % inner;
                out.store((o * p.chunks + chunk) * inner + j, k::accumulate_column<R>(x, o, j, n, inner, begin, end));
            }
        }
    }
};

// ----- dense_tile's coverage -----------------------------------------------------------------------------

/// A body that counts, per element, vector loads, vector stores and scalar visits (host-device
/// like the real bodies, since dense_tile is; it only ever runs on the host here).
template <int V>
struct CountingBody {
    static constexpr int kVec = V;
    struct Regs {
        int64_t first;
    };
    int* loads;
    int* stores;
    int* scalars;
    int* errors;
    int64_t n;
    template <class I>
    SEAM_HOST_DEVICE void load(I i, Regs& r) const {
        r.first = int64_t(i);
        for (int e = 0; e < V; ++e) {
            if (int64_t(i) + e >= n) ++*errors;  // a vector reaching past n
            else ++loads[int64_t(i) + e];
        }
    }
    template <class I>
    SEAM_HOST_DEVICE void store(I i, const Regs& r) const {
        if (r.first != int64_t(i)) ++*errors;  // a store of a vector this thread did not load
        for (int e = 0; e < V; ++e)
            if (int64_t(i) + e < n) ++stores[int64_t(i) + e];
    }
    template <class I>
    SEAM_HOST_DEVICE void scalar(I i) const {
        ++scalars[int64_t(i)];
    }
};

template <int V>
void check_dense_coverage() {
    std::vector<int64_t> ns;
    for (int64_t n = 0; n <= 70; ++n) ns.push_back(n);
    const int64_t tile = int64_t(k::kDenseTile) * V;
    for (int64_t base : {tile, 2 * tile, 33 * tile})
        for (int64_t d = -V - 1; d <= V + 1; ++d) ns.push_back(base + d);
    for (int sms : {1, 132})
        for (bool wide : {false, true})
            for (int64_t n : ns) {
                std::vector<int> loads(n + 1), stores(n + 1), scalars(n + 1);
                int errors = 0;
                HostElementwise exec;
                exec.multiprocessors = sms;
                exec.force_index64 = wide;
                exec.dense(n, CountingBody<V>{loads.data(), stores.data(), scalars.data(), &errors, n});
                bool ok = errors == 0;
                const int64_t whole = n / V * V;
                for (int64_t i = 0; i < n; ++i) {
                    const bool vectored = i < whole;
                    ok = ok && loads[i] == (vectored ? 1 : 0) && stores[i] == (vectored ? 1 : 0) &&
                         scalars[i] == (vectored ? 0 : 1);
                }
                expect(ok, "dense_tile covers every element once: V=" + std::to_string(V) + " n=" + std::to_string(n) +
                               " sms=" + std::to_string(sms) + (wide ? " int64" : " uint32"));
                const k::DenseGrid g = k::plan_dense(n, V, sms);
                expect(g.blocks >= 1 && g.blocks <= std::max<int64_t>(1, g.tiles) &&
                           g.blocks <= int64_t(sms) * (2048 / k::kThreads) * k::kDenseWaves &&
                           g.tiles * k::kDenseTile * V >= n,
                       "plan_dense grid: n=" + std::to_string(n));
            }
}

// ----- references for the elementwise ops (written from the CPU's formulas, not from the functors) --------

template <class T>
T ref_unary(UnaryOp op, T a, T b, T v) {
    switch (op) {
        case UnaryOp::neg: return -v;
        case UnaryOp::abs: return std::fabs(v);
        case UnaryOp::exp: return std::exp(v);
        case UnaryOp::log: return std::log(v);
        case UnaryOp::sqrt: return std::sqrt(v);
        case UnaryOp::square: return v * v;
        case UnaryOp::relu: return v > T(0) ? v : T(0);
        case UnaryOp::sigmoid: {
            if (v >= T(0)) return T(1) / (T(1) + std::exp(-v));
            const T e = std::exp(v);
            return e / (T(1) + e);
        }
        case UnaryOp::tanh: return std::tanh(v);
        case UnaryOp::gelu: return T(0.5) * v * (T(1) + std::erf(v * T(0.70710678118654752440)));
        case UnaryOp::add_scalar: return v + a;
        case UnaryOp::mul_scalar: return v * a;
        case UnaryOp::pow_scalar: return std::pow(v, a);
        case UnaryOp::clamp: return v < a ? a : (v > b ? b : v);
        case UnaryOp::leaky_relu: return v > T(0) ? v : a * v;
        case UnaryOp::elu: return v > T(0) ? v : a * std::expm1(v);
    }
    return T(0);
}

template <class T>
T ref_derivative(UnaryOp op, T a, T b, T v, T y) {
    switch (op) {
        case UnaryOp::neg: return T(-1);
        case UnaryOp::abs: return v > T(0) ? T(1) : (v < T(0) ? T(-1) : T(0));
        case UnaryOp::exp: return y;
        case UnaryOp::log: return T(1) / v;
        case UnaryOp::sqrt: return T(0.5) / y;
        case UnaryOp::square: return T(2) * v;
        case UnaryOp::relu: return y > T(0) ? T(1) : T(0);
        case UnaryOp::sigmoid: return y * (T(1) - y);
        case UnaryOp::tanh: return T(1) - y * y;
        case UnaryOp::gelu: {
            const T cdf = T(0.5) * (T(1) + std::erf(v * T(0.70710678118654752440)));
            return cdf + v * T(0.39894228040143267794) * std::exp(T(-0.5) * v * v);
        }
        case UnaryOp::add_scalar: return T(1);
        case UnaryOp::mul_scalar: return a;
        case UnaryOp::pow_scalar: return a * std::pow(v, a - T(1));
        case UnaryOp::clamp: return (v >= a && v <= b) ? T(1) : T(0);
        case UnaryOp::leaky_relu: return v > T(0) ? T(1) : a;
        case UnaryOp::elu: return v > T(0) ? T(1) : y + a;
    }
    return T(0);
}

template <class T>
T ref_binary(BinaryOp op, T a, T b) {
    switch (op) {
        case BinaryOp::add: return a + b;
        case BinaryOp::sub: return a - b;
        case BinaryOp::mul: return a * b;
        case BinaryOp::div: return a / b;
        case BinaryOp::maximum: return a >= b ? a : b;
        case BinaryOp::minimum: return a <= b ? a : b;
        case BinaryOp::pow: return std::pow(a, b);
    }
    return T(0);
}

template <class T>
void ref_binary_grad(BinaryOp op, T g, T a, T b, T y, T& ga, T& gb) {
    switch (op) {
        case BinaryOp::add: ga = g, gb = g; return;
        case BinaryOp::sub: ga = g, gb = -g; return;
        case BinaryOp::mul: ga = g * b, gb = g * a; return;
        case BinaryOp::div: ga = g / b, gb = -g * (y / b); return;
        case BinaryOp::maximum: ga = a >= b ? g : g * T(0), gb = a >= b ? g * T(0) : g; return;
        case BinaryOp::minimum: ga = a <= b ? g : g * T(0), gb = a <= b ? g * T(0) : g; return;
        case BinaryOp::pow:
            ga = g * (b * std::pow(a, b - T(1)));
            gb = g * (a > T(0) ? y * std::log(a) : T(0));
            return;
    }
}

struct UnaryCase {
    UnaryOp op;
    double a, b;
    bool positive;
};
const UnaryCase kUnaryCases[] = {
    {UnaryOp::neg, 0, 0, false},        {UnaryOp::abs, 0, 0, false},       {UnaryOp::exp, 0, 0, false},
    {UnaryOp::log, 0, 0, true},         {UnaryOp::sqrt, 0, 0, true},       {UnaryOp::square, 0, 0, false},
    {UnaryOp::relu, 0, 0, false},       {UnaryOp::sigmoid, 0, 0, false},   {UnaryOp::tanh, 0, 0, false},
    {UnaryOp::gelu, 0, 0, false},       {UnaryOp::add_scalar, 1.5, 0, false}, {UnaryOp::mul_scalar, -0.25, 0, false},
    {UnaryOp::pow_scalar, 2.5, 0, true}, {UnaryOp::clamp, -0.5, 0.75, false}, {UnaryOp::leaky_relu, 0.1, 0, false},
    {UnaryOp::elu, 0.7, 0, false},
};
const BinaryOp kBinaryOps[] = {BinaryOp::add, BinaryOp::sub,     BinaryOp::mul,    BinaryOp::div,
                               BinaryOp::maximum, BinaryOp::minimum, BinaryOp::pow};

/// Values with the ops' boundary points planted in (0, -0, ±1, ±0.5, -2, 0.75, halves for ties).
template <class T>
void fill_values(T* p, int64_t n, std::mt19937_64& rng, bool positive) {
    std::normal_distribution<double> normal(0.0, 1.5);
    const T planted[] = {T(0), T(-0.0), T(1), T(-1), T(0.5), T(-0.5), T(-2), T(0.75)};
    for (int64_t i = 0; i < n; ++i) {
        T v = static_cast<T>(normal(rng));
        if (i % 7 == 3) v = planted[(i / 7) % 8];
        if (i % 11 == 5) v = std::round(v * T(2)) / T(2);
        if (positive) v = std::fabs(v) + T(0.1);
        p[i] = v;
    }
}

std::vector<int64_t> element_counts() {
    return {0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 63, 1023, 4097, 4 * k::kDenseTile * 2 + 5, 41003};
}

template <class T>
void check_unary(std::mt19937_64& rng) {
    for (const UnaryCase& c : kUnaryCases) {
        const T a = static_cast<T>(c.a), b = static_cast<T>(c.b);
        for (int64_t n : element_counts())
            for (int mis = 0; mis < 4; ++mis) {  // 0: all aligned; 1: x; 2: out; 3: grad (backward)
                if (mis > 0 && n < 3) continue;
                const int sms = n > 40000 ? 1 : 132;  // one-SM grid: fewer blocks than tiles
                const std::string what = std::string(seam::cuda::op_name(c.op)) + "<" + type_name<T>() +
                                         "> n=" + std::to_string(n) + " misaligned=" + std::to_string(mis);
                Buffer<T> xb(n), yb(n), gb(n), gxb(n);
                T* x = xb.at(mis == 1 ? 1 : 0);
                T* y = yb.at(mis == 2 ? 3 : 0);
                T* g = gb.at(mis == 3 ? 1 : 0);
                T* gx = gxb.at(0);
                fill_values(x, n, rng, c.positive);
                fill_values(g, n, rng, false);
                std::fill(y, y + n, poison<T>());
                std::fill(gx, gx + n, poison<T>());
                HostElementwise exec;
                exec.multiprocessors = sms;
                k::unary_forward_on<T>(exec, c.op, a, b, x, {n}, {1}, y);
                bool ok = true;
                for (int64_t i = 0; i < n; ++i) ok = ok && same_bits(y[i], ref_unary(c.op, a, b, x[i]));
                expect(ok, what + " forward");
                const bool want_dense = n > 0 && mis != 1 && mis != 2;
                expect(exec.dense_calls == (want_dense ? 1 : 0) && exec.strided_calls == (n > 0 && !want_dense ? 1 : 0),
                       what + " forward: kernel choice");
                HostElementwise bexec;
                bexec.multiprocessors = sms;
                k::unary_backward_on<T>(bexec, c.op, a, b, g, {1}, x, {1}, y, {1}, {n}, gx);
                ok = true;
                for (int64_t i = 0; i < n; ++i) ok = ok && same_bits(gx[i], T(g[i] * ref_derivative(c.op, a, b, x[i], y[i])));
                expect(ok, what + " backward");
                expect(bexec.dense_calls == (n > 0 && mis == 0 ? 1 : 0), what + " backward: kernel choice");
            }
    }
    // In place (out == x), as ops/reduce.hpp scales a sum where it lies.
    for (int64_t n : {int64_t(5), int64_t(4099)}) {
        Buffer<T> xb(n);
        T* x = xb.at(0);
        fill_values(x, n, rng, false);
        std::vector<T> before(x, x + n);
        HostElementwise exec;
        k::unary_forward_on<T>(exec, UnaryOp::mul_scalar, T(0.5), T(0), x, {n}, {1}, x);
        bool ok = exec.dense_calls == 1;
        for (int64_t i = 0; i < n; ++i) ok = ok && same_bits(x[i], T(before[i] * T(0.5)));
        expect(ok, std::string("in-place mul_scalar<") + type_name<T>() + "> n=" + std::to_string(n));
    }
    // 64-bit indices in dense_tile (used for n >= 2^31 on the GPU; forced here on a small n).
    {
        const int64_t n = 4 * k::kDenseTile + 3;
        Buffer<T> xb(n), yb(n);
        fill_values(xb.at(0), n, rng, false);
        std::fill(yb.at(0), yb.at(0) + n, poison<T>());
        HostElementwise exec;
        exec.force_index64 = true;
        exec.multiprocessors = 1;
        k::unary_forward_on<T>(exec, UnaryOp::relu, T(0), T(0), xb.at(0), {n}, {1}, yb.at(0));
        bool ok = true;
        for (int64_t i = 0; i < n; ++i) ok = ok && same_bits(yb.at(0)[i], ref_unary(UnaryOp::relu, T(0), T(0), xb.at(0)[i]));
        expect(ok, std::string("relu<") + type_name<T>() + "> with int64 indices");
    }
}

/// Strides of an operand of shape `s` broadcast to `shape` (right-aligned; size 1: stride 0).
Shape broadcast_strides_of(const Shape& s, const Shape& shape) {
    Shape out(shape.size(), 0);
    const Shape dense = seam::contiguous_strides(s);
    const size_t lead = shape.size() - s.size();
    for (size_t d = 0; d < s.size(); ++d) out[lead + d] = s[d] == 1 ? 0 : dense[d];
    return out;
}

/// Offset of linear index i of `shape` in an operand with `strides`.
int64_t offset_of(int64_t i, const Shape& shape, const Shape& strides) {
    int64_t off = 0;
    for (size_t d = shape.size(); d-- > 0;) {
        off += (i % shape[d]) * strides[d];
        i /= shape[d];
    }
    return off;
}

template <class T>
void check_binary(std::mt19937_64& rng) {
    struct Case {
        Shape a, b;
        bool transposed_a;  // a is a transposed view of a [a1, a0] tensor
        int expect;         // 0: strided kernel; 1: dense; 2: dense with a channel-broadcast operand
        int channel;        // expect 2: the broadcast operand (0: a, 1: b)
    };
    const std::vector<Case> cases = {
        {{4099}, {4099}, false, 1, -1},          {{3}, {3}, false, 1, -1},
        {{}, {}, false, 1, -1},                  {{5, 1}, {5, 1}, false, 1, -1},
        {{2, 3, 1, 1}, {1, 3, 1, 1}, false, 2, 1}, {{2, 5, 3, 4}, {1, 5, 1, 1}, false, 2, 1},
        {{3, 6, 5, 7}, {1, 6, 1, 1}, false, 2, 1}, {{2, 7, 1, 3}, {1, 7, 1, 1}, false, 2, 1},
        {{1, 5, 2, 2}, {1, 5, 1, 1}, false, 2, 1}, {{1, 7, 1, 1}, {2, 7, 3, 3}, false, 2, 0},
        {{37, 1031}, {1031}, false, 2, 1},       {{9, 4}, {4}, false, 2, 1},
        {{4}, {9, 4}, false, 2, 0},              {{13, 3}, {3}, false, 2, 1},
        {{1031}, {}, false, 2, 1},               {{}, {17}, false, 2, 0},
        {{5, 1}, {1, 7}, false, 0, -1},          {{6, 4}, {4}, true, 0, -1},
        {{3, 4, 5}, {3, 1, 5}, false, 0, -1},    {{2, 3, 4}, {2, 3, 4}, true, 0, -1},
    };
    for (const Case& c : cases)
        for (BinaryOp op : kBinaryOps)
            for (int mis = 0; mis < 3; ++mis) {  // 0: aligned; 1: a; 2: out
                Shape a_shape = c.a;
                if (c.transposed_a) std::swap(a_shape[0], a_shape[1]);
                const Shape shape = seam::broadcast_shapes(c.a, c.b, "test");
                const int64_t n = seam::numel_of(shape), na = seam::numel_of(c.a), nb = seam::numel_of(c.b);
                if (mis > 0 && n < 4) continue;
                Shape a_strides = broadcast_strides_of(c.a, shape);
                if (c.transposed_a) {  // a's view of a dense [a1, a0, ...] tensor
                    const Shape base = seam::contiguous_strides(a_shape);
                    a_strides = broadcast_strides_of(c.a, shape);
                    const size_t lead = shape.size() - c.a.size();
                    a_strides[lead] = base[1];
                    a_strides[lead + 1] = base[0];
                }
                const Shape b_strides = broadcast_strides_of(c.b, shape);
                const std::string what = std::string(seam::cuda::op_name(op)) + "<" + type_name<T>() + "> " +
                                         seam::shape_str(c.a) + (c.transposed_a ? "T" : "") + " o " +
                                         seam::shape_str(c.b) + " misaligned=" + std::to_string(mis);
                Buffer<T> ab(na), bb(nb), yb(n), gb(n), gab(n), gbb(n);
                T* a = ab.at(mis == 1 ? 1 : 0);
                T* b = bb.at(0);
                T* y = yb.at(mis == 2 ? 1 : 0);
                T* g = gb.at(0);
                fill_values(a, na, rng, op == BinaryOp::pow);
                fill_values(b, nb, rng, false);
                if (op == BinaryOp::div)
                    for (int64_t i = 0; i < nb; ++i) b[i] = b[i] < T(0) ? b[i] - T(0.5) : b[i] + T(0.5);
                fill_values(g, n, rng, false);
                std::fill(y, y + n, poison<T>());
                HostElementwise exec;
                k::binary_forward_on<T>(exec, op, a, a_strides, b, b_strides, shape, y);
                bool ok = true;
                for (int64_t i = 0; i < n; ++i)
                    ok = ok && same_bits(y[i], ref_binary(op, a[offset_of(i, shape, a_strides)], b[offset_of(i, shape, b_strides)]));
                expect(ok, what + " forward");
                // Misaligned a or output: the strided kernel, unless only the broadcast operand (read
                // with scalar loads) is misaligned.
                const bool dense = c.expect > 0 && (mis == 0 || (mis == 1 && c.channel == 0));
                expect(exec.dense_calls == (dense ? 1 : 0) && exec.strided_calls == (dense ? 0 : 1),
                       what + " forward: kernel choice");

                // Backward at the broadcast shape: y present or absent, each gradient wanted or not.
                for (int variant = 0; variant < 4; ++variant) {
                    const bool with_y = variant != 1 || op == BinaryOp::div || op == BinaryOp::pow;
                    T* ga = variant == 2 ? nullptr : gab.at(0);
                    T* gbp = variant == 3 ? nullptr : gbb.at(0);
                    std::fill(gab.at(0), gab.at(0) + n, poison<T>());
                    std::fill(gbb.at(0), gbb.at(0) + n, poison<T>());
                    HostElementwise bexec;
                    k::binary_backward_on<T>(bexec, op, g, seam::contiguous_strides(shape), a, a_strides, b, b_strides,
                                             with_y ? y : nullptr, seam::contiguous_strides(shape), shape, ga, gbp);
                    ok = true;
                    for (int64_t i = 0; i < n; ++i) {
                        T ra, rb;
                        ref_binary_grad(op, g[i], a[offset_of(i, shape, a_strides)], b[offset_of(i, shape, b_strides)],
                                        with_y ? y[i] : T(0), ra, rb);
                        if (ga) ok = ok && same_bits(ga[i], ra);
                        if (gbp) ok = ok && same_bits(gbp[i], rb);
                        if (!ga) ok = ok && std::isnan(gab.at(0)[i]);  // not written
                        if (!gbp) ok = ok && std::isnan(gbb.at(0)[i]);
                    }
                    expect(ok, what + " backward variant " + std::to_string(variant));
                    // y is an input here: misaligned (mis 2) it sends the call to the strided kernel, absent it does not.
                    const bool dense_all = c.expect == 1 && (mis == 0 || (mis == 2 && !with_y));
                    expect(bexec.dense_calls == (dense_all && n > 0 ? 1 : 0), what + " backward: kernel choice");
                }
            }
}

/// The channel-broadcast detection against the strides themselves.
void check_channel_layout() {
    struct Case {
        Shape shape;
        Shape b_strides;
        bool is_channel;
        int64_t inner, channels;
    };
    const std::vector<Case> cases = {
        {{2, 5, 3, 4}, {0, 1, 0, 0}, true, 12, 5}, {{8, 16}, {0, 1}, true, 1, 16},   {{8, 16}, {0, 0}, true, 1, 1},
        {{8, 16}, {1, 0}, true, 16, 8},            {{8, 16}, {16, 1}, true, 1, 128},  {{4, 5, 6}, {0, 6, 1}, true, 1, 30},
        {{4, 5, 6}, {0, 2, 0}, false, 0, 0},      {{1, 5, 1, 1}, {0, 1, 0, 0}, true, 1, 5},
        {{4, 5, 6}, {6, 0, 1}, false, 0, 0},
    };
    for (const Case& c : cases) {
        const auto layout = k::collapse_dims(c.shape, {seam::contiguous_strides(c.shape), c.b_strides});
        const auto ch = k::channel_layout(layout, 1);
        bool ok = ch.is_channel == c.is_channel;
        if (ok && c.is_channel) ok = ch.inner == c.inner && ch.channels == c.channels;
        if (ok && c.is_channel)  // and it addresses what the strides address
            for (int64_t i = 0; i < seam::numel_of(c.shape); ++i)
                ok = ok && (i / ch.inner) % ch.channels == offset_of(i, c.shape, c.b_strides);
        expect(ok, "channel_layout " + seam::shape_str(c.shape) + " strides " + seam::shape_str(c.b_strides));
        expect(k::dense_in(layout, 0), "dense_in " + seam::shape_str(c.shape));
    }
}

template <class T>
void check_fill(std::mt19937_64& rng) {
    const T values[] = {T(0), T(3), static_cast<T>(-1)};
    for (int64_t n : element_counts())
        for (int mis = 0; mis < 4; ++mis) {
            if (mis > 0 && n < 3) continue;
            for (T v : values) {
                Buffer<T> ob(n);
                T* out = ob.at(mis);
                std::fill(out, out + n, poison<T>());
                HostElementwise exec;
                k::fill_on<T>(exec, out, {n}, {1}, v);
                bool ok = true;
                for (int64_t i = 0; i < n; ++i) ok = ok && same_bits(out[i], v);
                const bool zero = v == T(0);
                const bool want_dense = n > 0 && !zero && k::is_aligned(out, 16);
                ok = ok && exec.dense_calls == (want_dense ? 1 : 0);
                expect(ok, std::string("fill<") + type_name<T>() + "> n=" + std::to_string(n) + " misaligned=" +
                               std::to_string(mis) + " value=" + std::to_string(double(v)));
            }
        }
    if constexpr (std::is_floating_point_v<T>) {  // -0.0 is not all-zero bytes: the kernel writes it
        const int64_t n = 1031;
        Buffer<T> ob(n);
        std::fill(ob.at(0), ob.at(0) + n, poison<T>());
        HostElementwise exec;
        k::fill_on<T>(exec, ob.at(0), {n}, {1}, T(-0.0));
        bool ok = exec.dense_calls == 1;
        for (int64_t i = 0; i < n; ++i) ok = ok && same_bits(ob.at(0)[i], T(-0.0));
        expect(ok, std::string("fill<") + type_name<T>() + "> -0.0");
    }
    // A strided destination keeps the strided kernel: every other element of 2n.
    {
        const int64_t n = 37;
        Buffer<T> ob(2 * n);
        std::fill(ob.at(0), ob.at(0) + 2 * n, poison<T>());
        HostElementwise exec;
        k::fill_on<T>(exec, ob.at(0), {n}, {2}, T(7));
        bool ok = exec.strided_calls == 1;
        for (int64_t i = 0; i < 2 * n; ++i) ok = ok && same_bits(ob.at(0)[i], i % 2 ? poison<T>() : T(7));
        expect(ok, std::string("fill<") + type_name<T>() + "> strided");
    }
    (void)rng;
}

/// copy: dense both sides goes to the copy engine (copy_bytes), a transposed source to the strided kernel.
template <class T>
void check_copy(std::mt19937_64& rng) {
    const int64_t rows = 7, cols = 9, n = rows * cols;
    Buffer<T> src(n), dst(n);
    fill_values(src.at(0), n, rng, false);
    std::fill(dst.at(0), dst.at(0) + n, poison<T>());
    HostElementwise exec;
    k::copy_on<T>(exec, src.at(1), {1}, dst.at(0), {1}, {n - 1});
    bool ok = exec.strided_calls == 0 && exec.dense_calls == 0;
    for (int64_t i = 0; i < n - 1; ++i) ok = ok && same_bits(dst.at(0)[i], src.at(1)[i]);
    std::fill(dst.at(0), dst.at(0) + n, poison<T>());
    k::copy_on<T>(exec, src.at(0), {1, cols}, dst.at(0), {rows, 1}, {cols, rows});  // dst = srcᵀ
    ok = ok && exec.strided_calls == 1;
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) ok = ok && same_bits(dst.at(0)[c * rows + r], src.at(0)[r * cols + c]);
    expect(ok, std::string("copy<") + type_name<T>() + ">");
}

template <class T>
void check_select(std::mt19937_64& rng) {
    for (int64_t n : element_counts())
        for (int mis = 0; mis < 4; ++mis) {  // 0: aligned; 1: cond by 1 byte; 2: a; 3: out
            if (mis > 0 && n < 3) continue;
            Buffer<uint8_t> cb(n);
            Buffer<T> ab(n), bb(n), ob(n);
            uint8_t* cond = cb.at(mis == 1 ? 1 : 0);
            T* a = ab.at(mis == 2 ? 1 : 0);
            T* b = bb.at(0);
            T* out = ob.at(mis == 3 ? 1 : 0);
            for (int64_t i = 0; i < n; ++i) cond[i] = static_cast<uint8_t>(rng() % 3);  // 0, 1, 2: nonzero is true
            if constexpr (std::is_floating_point_v<T>) {
                fill_values(a, n, rng, false);
                fill_values(b, n, rng, false);
                if (n > 3) a[1] = -std::numeric_limits<T>::infinity(), b[2] = std::numeric_limits<T>::quiet_NaN();
            } else {
                for (int64_t i = 0; i < n; ++i) a[i] = T(rng() % 100), b[i] = T(rng() % 100);
            }
            std::fill(out, out + n, poison<T>());
            HostElementwise exec;
            k::select_on<T>(exec, cond, {1}, a, {1}, b, {1}, {n}, out);
            bool ok = true;
            for (int64_t i = 0; i < n; ++i) ok = ok && same_bits(out[i], cond[i] ? a[i] : b[i]);
            // The mask must be aligned to its share of a vector (4 bytes for float, 2 for double
            // and int64): one byte off falls back, as do 1-byte T (never dense, see select_on).
            const bool want_dense = n > 0 && sizeof(T) >= 4 && mis == 0;
            ok = ok && exec.dense_calls == (want_dense ? 1 : 0);
            expect(ok, std::string("select<") + type_name<T>() + "> n=" + std::to_string(n) + " misaligned=" +
                           std::to_string(mis));
        }
}

// ----- row reductions ----------------------------------------------------------------------------------

/// The CPU's rule as a left-to-right scan: the first NaN if any, else the first extreme value.
template <class T>
int64_t ref_extreme(const T* p, int64_t n, bool largest) {
    int64_t best = 0;
    for (int64_t r = 1; r < n; ++r) {
        const T v = p[r], b = p[best];
        if (std::isnan(b)) break;
        if (std::isnan(v) || (largest ? v > b : v < b)) best = r;
    }
    return best;
}

template <class T>
void fill_row_values(T* p, int64_t n, std::mt19937_64& rng, int flavour) {
    std::normal_distribution<double> normal(0.0, 1.0);
    const T inf = std::numeric_limits<T>::infinity(), nan = std::numeric_limits<T>::quiet_NaN();
    for (int64_t i = 0; i < n; ++i) {
        T v = static_cast<T>(normal(rng));
        switch (flavour) {
            case 0: break;                                                           // plain
            case 1: v = std::round(v * T(2)) / T(2); break;                          // many ties
            case 2: v = (rng() % 2) ? T(0) : T(-0.0); break;                         // ±0 only
            case 3: v = (rng() % 5 == 0) ? ((rng() % 2) ? inf : -inf) : v; break;    // infinities
            case 4: v = -inf; break;                                                 // all -inf
            default: break;
        }
        p[i] = v;
    }
    if (flavour == 5 && n > 0) {  // two NaN: the first must win
        p[(n - 1) * 2 / 3] = nan;
        p[n - 1] = nan;
    }
    if (flavour == 6 && n > 0) p[n / 2] = inf, p[n - 1] = inf;  // two +inf: the first wins
}

template <class T>
void check_rows(std::mt19937_64& rng, int version) {
    struct RowCase {
        int64_t rows, n;
    };
    const std::vector<RowCase> cases = {
        {1, 1},   {7, 1},    {37, 3},  {300, 10}, {5, 31},  {9, 32},    {70, 33},  {3, 1000}, {11, 1024},
        {4, 1031}, {3, 4101}, {1, 100003}, {3, 20000}, {2, 8193}, {1, 0},    {260, 1500}, {1, 2},   {33, 64},
        // version 3's short rows: tiles of 256 rows, a partial last tile, every n up to the limit
        {256, 10}, {257, 10}, {1000, 10}, {513, 5}, {600, 7}, {300, 16}, {259, 17}, {520, 32}, {255, 2},
        {700, 1}, {300, 9}, {257, 31}, {258, 15}, {3, 33},
    };
    for (const RowCase& c : cases)
        for (int mis = 0; mis < 4; ++mis) {
            if (mis > 0 && c.n * c.rows < 2) continue;
            const std::string shape = "<" + std::string(type_name<T>()) + "> [" + std::to_string(c.rows) + ", " +
                                      std::to_string(c.n) + "] misaligned=" + std::to_string(mis) + " v" +
                                      std::to_string(version);
            const bool short_path = version >= 3 && k::short_rows_fit<T>(c.n) && k::plan_reduce(c.rows, c.n, 1).chunks == 1;
            const int64_t total = c.rows * c.n;
            Buffer<T> xb(total);
            T* x = xb.at(mis);
            const auto p = k::plan_reduce(c.rows, c.n, 1);

            // ---- sum (float carried in double)
            {
                using R = k::SumReducer<T>;
                fill_row_values(x, total, rng, 0);
                std::vector<T> out(c.rows, poison<T>());
                std::vector<unsigned char> ws(k::reduce_workspace_bytes<R>(c.rows, c.n, 1) + 16);
                HostReduce exec;
                exec.version = version;
                k::launch_reduce_on<R>(exec, x, c.rows, c.n, 1, k::SumOutput<T, typename R::Acc>{out.data()}, ws.data());
                bool ok = true;
                double worst = 0;
                for (int64_t r = 0; r < c.rows; ++r) {
                    long double s = 0, abs_sum = 0;
                    for (int64_t i = 0; i < c.n; ++i) s += x[r * c.n + i], abs_sum += std::fabs((long double)x[r * c.n + i]);
                    const double ref = static_cast<double>(static_cast<T>(s));
                    const double tol = double(std::max<int64_t>(c.n, 1)) * std::ldexp(1.0, -53) * double(abs_sum) +
                                       (std::is_same_v<T, float> ? std::ldexp(std::fabs(ref), -22) : 0.0) + 1e-300;
                    const double err = std::fabs(double(out[r]) - ref);
                    ok = ok && err <= tol;
                    worst = std::max(worst, err / tol);
                }
                expect(ok, "sum" + shape + " (worst error / tolerance " + std::to_string(worst) + ")");
                const int launches = exec.warp_launches + exec.block_launches + exec.short_launches;
                expect(p.chunks > 1 ? launches == 2 : launches == 1, "sum" + shape + ": passes");
                if (p.chunks == 1)  // one pass: short rows (v3), a warp or less a row up to kWarpRowMax elements, else a block
                    expect(exec.short_launches == (short_path ? 1 : 0) &&
                               exec.warp_launches == (!short_path && c.n <= k::kWarpRowMax ? 1 : 0),
                           "sum" + shape + ": rows kernel");
                if (short_path) {  // the plain left-to-right sum in the accumulator type, bit for bit
                    bool same = true;
                    for (int64_t r = 0; r < c.rows; ++r) {
                        typename R::Acc acc = 0;
                        for (int64_t i = 0; i < c.n; ++i) acc += x[r * c.n + i];
                        same = same && same_bits(out[r], static_cast<T>(acc));
                    }
                    expect(same, "sum" + shape + ": short rows sum left to right");
                } else if (version >= 3 && p.chunks == 1) {
                    // version 2's kernels and order: the same bits as version 2 (a chunked plan's second
                    // pass over a few partials takes the short-row kernel, another order)
                    std::vector<T> out2(c.rows, poison<T>());
                    HostReduce v2;
                    v2.version = 2;
                    k::launch_reduce_on<R>(v2, x, c.rows, c.n, 1, k::SumOutput<T, typename R::Acc>{out2.data()}, ws.data());
                    bool same = true;
                    for (int64_t r = 0; r < c.rows; ++r) same = same && same_bits(out[r], out2[r]);
                    expect(same, "sum" + shape + ": version 3 = version 2 bit for bit past the short rows");
                }
                // Bit-identical at every alignment of the same values (the order depends on the shape only).
                if (mis == 0 && total > 0) {
                    for (int shift = 1; shift < 4; ++shift) {
                        Buffer<T> sb(total);
                        std::copy(x, x + total, sb.at(shift));
                        std::vector<T> out2(c.rows, poison<T>());
                        HostReduce shifted;
                        shifted.version = version;
                        k::launch_reduce_on<R>(shifted, sb.at(shift), c.rows, c.n, 1,
                                               k::SumOutput<T, typename R::Acc>{out2.data()}, ws.data());
                        bool same = true;
                        for (int64_t r = 0; r < c.rows; ++r) same = same && same_bits(out[r], out2[r]);
                        expect(same, "sum" + shape + ": same bits with the row start shifted by " + std::to_string(shift));
                    }
                }
            }
            // ---- a row of -0.0 sums to +0.0, as on the CPU (whose sum starts from +0.0): catches a
            // reducer that starts from the first element instead of from zero
            {
                using R = k::SumReducer<T>;
                std::fill(x, x + total, -T(0));
                std::vector<T> out(c.rows, poison<T>());
                std::vector<unsigned char> ws(k::reduce_workspace_bytes<R>(c.rows, c.n, 1) + 16);
                HostReduce exec;
                exec.version = version;
                k::launch_reduce_on<R>(exec, x, c.rows, c.n, 1, k::SumOutput<T, typename R::Acc>{out.data()}, ws.data());
                bool ok = true;
                for (int64_t r = 0; r < c.rows; ++r) ok = ok && same_bits(out[r], T(0));
                expect(ok, "sum" + shape + ": rows of -0.0 sum to +0.0");
            }
            if (c.n == 0) continue;

            // ---- max and min with indices, every flavour of values
            for (int flavour = 0; flavour <= 6; ++flavour)
                for (bool largest : {true, false}) {
                    fill_row_values(x, total, rng, flavour);
                    std::vector<T> values(c.rows, poison<T>());
                    std::vector<int64_t> indices(c.rows, -7);
                    HostReduce exec;
                    exec.version = version;
                    if (largest) {
                        using R = k::MaxReducer<T>;
                        std::vector<unsigned char> ws(k::reduce_workspace_bytes<R>(c.rows, c.n, 1) + 16);
                        k::launch_reduce_on<R>(exec, x, c.rows, c.n, 1, k::MaxOutput<T>{values.data(), indices.data()},
                                               ws.data());
                    } else {
                        using R = k::MinReducer<T>;
                        std::vector<unsigned char> ws(k::reduce_workspace_bytes<R>(c.rows, c.n, 1) + 16);
                        k::launch_reduce_on<R>(exec, x, c.rows, c.n, 1, k::MaxOutput<T>{values.data(), indices.data()},
                                               ws.data());
                    }
                    bool ok = true;
                    for (int64_t r = 0; r < c.rows; ++r) {
                        const int64_t want = ref_extreme(x + r * c.n, c.n, largest);
                        ok = ok && indices[r] == want && same_bits(values[r], x[r * c.n + want]);
                    }
                    expect(ok, std::string(largest ? "max" : "min") + shape + " flavour " + std::to_string(flavour));
                }
        }
}

/// Columns (inner > 1) through the same executor, versions 2 (reduce_columns_kernel) and 3 (the tile
/// kernel): max and min (value bit for bit, index exact) against a scan of each column, sums within
/// the rounding bound of a long-double sum and bit-identical whatever the alignment of x.
template <class T>
void check_columns(std::mt19937_64& rng, int version) {
    struct ColCase {
        int64_t outer, n, inner;
    };
    const std::vector<ColCase> cases = {
        {4, 1000, 3}, {7, 5, 300}, {2, 200, 64}, {1, 5000, 2}, {1, 1, 2},   {3, 2, 3},    {1, 700, 4},
        {5, 33, 5},   {1, 3000, 8}, {2, 129, 1024}, {1, 4100, 1024}, {9, 17, 12}, {1, 600, 1030}, {40, 3, 6},
        {1, 2000, 16}, {2, 1, 4},  {1, 0, 5},
    };
    for (const ColCase& c : cases)
        for (int mis = 0; mis < 4; ++mis) {
            const int64_t total = c.outer * c.n * c.inner, outs = c.outer * c.inner;
            const std::string shape = "<" + std::string(type_name<T>()) + "> [" + std::to_string(c.outer) + ", " +
                                      std::to_string(c.n) + ", " + std::to_string(c.inner) + "] misaligned=" +
                                      std::to_string(mis) + " v" + std::to_string(version);
            Buffer<T> xb(total);
            T* x = xb.at(mis);
            // ---- sum
            {
                using R = k::SumReducer<T>;
                fill_row_values(x, total, rng, 0);
                std::vector<T> out(outs, poison<T>());
                std::vector<unsigned char> ws(k::reduce_workspace_bytes<R>(c.outer, c.n, c.inner) + 16);
                HostReduce exec;
                exec.version = version;
                k::launch_reduce_on<R>(exec, x, c.outer, c.n, c.inner, k::SumOutput<T, typename R::Acc>{out.data()},
                                       ws.data());
                expect(version >= 3 ? exec.tile_launches >= 1 && exec.column_launches == 0
                                    : exec.column_launches >= 1 && exec.tile_launches == 0,
                       "sum columns" + shape + ": kernel");
                bool ok = true;
                for (int64_t o = 0; o < c.outer; ++o)
                    for (int64_t j = 0; j < c.inner; ++j) {
                        long double sum = 0, mag = 0;
                        for (int64_t r = 0; r < c.n; ++r) {
                            const T v = x[(o * c.n + r) * c.inner + j];
                            sum += v, mag += std::fabs((long double)v);
                        }
                        const double ref = static_cast<double>(static_cast<T>(sum));
                        const double tol = double(std::max<int64_t>(c.n, 1)) * std::ldexp(1.0, -53) * double(mag) +
                                           (std::is_same_v<T, float> ? std::ldexp(std::fabs(ref), -22) : 0.0) + 1e-300;
                        ok = ok && std::fabs(double(out[o * c.inner + j]) - ref) <= tol;
                    }
                expect(ok, "sum columns" + shape);
                for (int shift = 1; shift < 4 && mis == 0 && total > 0; ++shift) {
                    Buffer<T> sb(total);
                    std::copy(x, x + total, sb.at(shift));
                    std::vector<T> out2(outs, poison<T>());
                    k::launch_reduce_on<R>(exec, sb.at(shift), c.outer, c.n, c.inner,
                                           k::SumOutput<T, typename R::Acc>{out2.data()}, ws.data());
                    bool same = true;
                    for (int64_t i = 0; i < outs; ++i) same = same && same_bits(out[i], out2[i]);
                    expect(same, "sum columns" + shape + ": same bits with x shifted by " + std::to_string(shift));
                }
            }
            if (c.n == 0) continue;
            // ---- max and min
            for (int flavour : {1, 3, 4, 5, 6})
                for (bool largest : {true, false}) {
                    fill_row_values(x, total, rng, flavour);
                    if (flavour == 5 && total > 2) x[total / 3] = std::numeric_limits<T>::quiet_NaN();  // NaNs mid-column too
                    std::vector<T> values(outs, poison<T>());
                    std::vector<int64_t> indices(outs, -7);
                    HostReduce exec;
                    exec.version = version;
                    if (largest) {
                        using R = k::MaxReducer<T>;
                        std::vector<unsigned char> ws(k::reduce_workspace_bytes<R>(c.outer, c.n, c.inner) + 16);
                        k::launch_reduce_on<R>(exec, x, c.outer, c.n, c.inner, k::MaxOutput<T>{values.data(), indices.data()},
                                               ws.data());
                    } else {
                        using R = k::MinReducer<T>;
                        std::vector<unsigned char> ws(k::reduce_workspace_bytes<R>(c.outer, c.n, c.inner) + 16);
                        k::launch_reduce_on<R>(exec, x, c.outer, c.n, c.inner, k::MaxOutput<T>{values.data(), indices.data()},
                                               ws.data());
                    }
                    bool ok = true;
                    std::vector<T> col(c.n);
                    for (int64_t o = 0; o < c.outer; ++o)
                        for (int64_t j = 0; j < c.inner; ++j) {
                            for (int64_t r = 0; r < c.n; ++r) col[r] = x[(o * c.n + r) * c.inner + j];
                            const int64_t want = ref_extreme(col.data(), c.n, largest);
                            ok = ok && indices[o * c.inner + j] == want && same_bits(values[o * c.inner + j], col[want]);
                        }
                    expect(ok, std::string(largest ? "max" : "min") + " columns" + shape + " flavour " +
                                   std::to_string(flavour));
                }
        }
}

/// Version 3's plans: the columns tile covers every column once (vec · groups = inner, tx · ty =
/// 256, tx a power of two ≤ 32), chunks cover n without overlap and none is empty (n = 4225, inner
/// ≥ 64: 66 chunks asked, of ⌈4225/66⌉ = 65 rows, so 65 suffice; the recount drops the 66th) and
/// are at least max(64, 4 · ty) rows long when there are several, the
/// workspace covers both versions; short rows: e / n by the multiply-shift is exact for every e of a
/// tile, and the shared-memory stride is odd and ≥ n.
void check_v3_plans() {
    for (int64_t n = 1; n <= k::kShortRowMax; ++n) {
        const k::ShortRows s = k::plan_short_rows(n);
        bool ok = s.stride >= n && s.stride % 2 == 1;
        for (uint32_t e = 0; e < uint32_t(k::kThreads * n); ++e) ok = ok && k::short_div(e, s.magic) == e / uint32_t(n);
        expect(ok, "short rows plan n=" + std::to_string(n));
    }
    expect(k::short_rows_fit<float>(32) && !k::short_rows_fit<float>(33) && k::short_rows_fit<double>(16) &&
               !k::short_rows_fit<double>(17) && !k::short_rows_fit<float>(0) && k::short_rows_fit<uint8_t>(32) && !k::short_rows_fit<uint8_t>(33) &&
               !k::short_rows_fit<k::ValueIndex<float>>(2),
           "short_rows_fit limits");
    for (int64_t inner : {2, 3, 4, 5, 8, 12, 64, 100, 128, 129, 1024, 1030})
        for (int64_t outer : {1, 3, 1000})
            for (int64_t n : {0, 1, 5, 127, 128, 129, 1000, 4225, 65536}) {
                const k::ColumnsTile c = k::plan_columns_v3<float>(inner);
                const k::ReducePlan p = k::plan_reduce_v3<float>(outer, n, inner);
                bool ok = c.vec * c.groups == inner && c.tx * c.ty == k::kThreads && (c.tx & (c.tx - 1)) == 0 &&
                          c.tx <= 32 && (c.tx >= c.groups || c.tx == 32) && c.tiles_per_o * c.tx >= c.groups &&
                          !p.rows && p.chunks >= 1 && p.chunks <= 65535 &&
                          (n == 0 || (p.chunk_len * p.chunks >= n && p.chunk_len * (p.chunks - 1) < n)) &&
                          (p.chunks == 1 || p.chunk_len >= std::max<int64_t>(64, 4 * c.ty));
                const size_t ws = k::reduce_workspace_bytes<k::SumReducer<float>>(outer, n, inner);
                if (p.chunks > 1) ok = ok && ws >= size_t(outer * p.chunks * inner) * sizeof(double);
                expect(ok, "columns v3 plan outer=" + std::to_string(outer) + " n=" + std::to_string(n) +
                               " inner=" + std::to_string(inner));
            }
}

/// Version 3's per-thread max/min (value first, the index only for a winning group) against version
/// 2's (combine every element): the same (value, index) for every thread of every launch shape,
/// including threads with no element (identity) and rows of -inf / +inf only.
template <class T>
void check_select_threads(std::mt19937_64& rng) {
    for (int64_t len : {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 257, 1023, 1024, 1031, 4101})
        for (int threads : {1, 2, 4, 8, 32, 256})
            for (int mis = 0; mis < 4; ++mis)
                for (int flavour = 0; flavour <= 6; ++flavour) {
                    Buffer<T> xb(len);
                    T* x = xb.at(mis);
                    fill_row_values(x, len, rng, flavour);
                    bool ok = true;
                    for (int t = 0; t < threads; ++t) {
                        const auto a = k::accumulate_row_for<3, k::MaxReducer<T>>(x, 0, len, t, threads);
                        const auto b = k::accumulate_row_for<2, k::MaxReducer<T>>(x, 0, len, t, threads);
                        const auto c = k::accumulate_row_for<3, k::MinReducer<T>>(x, 0, len, t, threads);
                        const auto d = k::accumulate_row_for<2, k::MinReducer<T>>(x, 0, len, t, threads);
                        ok = ok && a.index == b.index && same_bits(a.value, b.value) && c.index == d.index &&
                             same_bits(c.value, d.value);
                    }
                    expect(ok, "select per thread <" + std::string(type_name<T>()) + "> len=" + std::to_string(len) +
                                   " threads=" + std::to_string(threads) + " misaligned=" + std::to_string(mis) +
                                   " flavour " + std::to_string(flavour));
                }
}

/// The launch shapes of version 2's rows kernels: a power of two of lanes covering the groups
/// (up to a warp), a block per row past kWarpRowMax, grids within limits.
void check_rows_plans() {
    for (int64_t rows : {1, 7, 300, 100000})
        for (int64_t len : {0, 1, 3, 4, 5, 31, 32, 33, 128, 129, 1000, 1024, 1025, 5000}) {
            const auto l = k::plan_rows_v2<float>(rows, len);
            bool ok = l.blocks >= 1 && l.blocks <= (int64_t(1) << 20);
            if (len > k::kWarpRowMax) ok = ok && l.lanes == k::kThreads;
            else {
                const int64_t groups = (len + 3) / 4;
                ok = ok && l.lanes >= 1 && l.lanes <= 32 && (l.lanes & (l.lanes - 1)) == 0 &&
                     (l.lanes >= groups || l.lanes == 32) && (l.lanes == 1 || l.lanes / 2 < groups) &&
                     l.blocks * k::kWarps * (32 / l.lanes) >= std::min<int64_t>(rows, (int64_t(1) << 20) * k::kWarps * (32 / l.lanes));
            }
            expect(ok, "plan_rows_v2 rows=" + std::to_string(rows) + " len=" + std::to_string(len));
        }
}

/// Runs one check; an exception (a misaligned vector load, a refused layout) counts as a failure.
void run_check(const char* name, const std::function<void()>& check) {
    try {
        check();
    } catch (const std::exception& e) {
        ++checks;
        ++failures;
        std::printf("FAIL: %s threw: %s\n", name, e.what());
    }
}

}  // namespace

int main() {
    std::mt19937_64 rng(20261127);
    run_check("dense coverage", [] {
        check_dense_coverage<4>();
        check_dense_coverage<2>();
        check_dense_coverage<16>();
    });
    run_check("unary", [&] {
        check_unary<float>(rng);
        check_unary<double>(rng);
    });
    run_check("channel layout", [] { check_channel_layout(); });
    run_check("binary", [&] {
        check_binary<float>(rng);
        check_binary<double>(rng);
    });
    run_check("fill", [&] {
        check_fill<float>(rng);
        check_fill<double>(rng);
        check_fill<int64_t>(rng);
        check_fill<int32_t>(rng);
        check_fill<uint8_t>(rng);
    });
    run_check("copy", [&] {
        check_copy<float>(rng);
        check_copy<double>(rng);
    });
    run_check("select", [&] {
        check_select<float>(rng);
        check_select<double>(rng);
        check_select<int64_t>(rng);
        check_select<uint8_t>(rng);
    });
    run_check("rows plans", [] { check_rows_plans(); });
    run_check("v3 plans", [] { check_v3_plans(); });
    run_check("v3 select per thread", [&] {
        check_select_threads<float>(rng);
        check_select_threads<double>(rng);
    });
    for (int version : {2, 3}) {
        run_check("rows float", [&] { check_rows<float>(rng, version); });
        run_check("rows double", [&] { check_rows<double>(rng, version); });
        run_check("columns", [&] {
            check_columns<float>(rng, version);
            check_columns<double>(rng, version);
        });
    }
    if (failures) {
        std::printf("test_elementwise_kernel_logic: %d of %lld checks FAILED\n", failures, static_cast<long long>(checks));
        return 1;
    }
    std::printf("test_elementwise_kernel_logic: all %lld checks passed (version-2 elementwise kernels, version-2 and "
                "version-3 reduction kernels emulated on the CPU; no GPU used)\n",
                static_cast<long long>(checks));
    return 0;
}
