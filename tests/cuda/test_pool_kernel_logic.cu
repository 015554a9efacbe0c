// tests/cuda/test_pool_kernel_logic.cu — version 2 of the pooling kernels (kernels/seam/pool2d.cuh)
// run on the CPU and compared with seam's CPU ops bit for bit (no GPU needed: this program runs
// wherever it compiles; exit 0 pass, 1 fail).
//
// Every v2 kernel only maps threads to elements and calls a __host__ __device__ function for one
// element (*_v2_at); the launchers pick the kernel, the element count and the grid with
// pool2d_detail::plan_v2. This program takes the same plan, walks every thread of that grid on the
// CPU in the kernels' grid-stride order (ascending threads, and again descending: two threads that
// wrote the same cell differently would show), calls the same per-element function (the 2x2
// stride-2 fast path, with or without 2-element vector accesses, when the plan says so) and
// compares, bit for bit, with include/seam/ops/pool.hpp:
//   * max_pool2d_with_indices (values and int64 indices; also with indices = null) and its
//     backward through autograd; avg_pool2d (count_include_pad on and off, divisor_override) and
//     its backward; adaptive_avg_pool2d, adaptive_max_pool2d_with_indices and their backwards;
//     bit for bit means every bit, the sign of zero included, except that a NaN made by arithmetic
//     (a sum) only has to be a NaN (its sign and payload are not fixed: see NaNs below);
//   * on awkward shapes: odd H and W, maps smaller than the window, padding, stride 1, 2 and 3,
//     dilation 2 (windows with no tap inside the map: -inf, -1), 3x3, 1x1, rectangular and 4x3
//     kernels, ceil_mode (clipped last windows), adaptive sizes that do not divide (down and up),
//     one plane and 111 planes; float and double;
//   * on inputs with distinct values, with many ties (including -0 against +0), with NaN, +-inf
//     and all -inf; output gradients include -0 (a cell's gradient is 0 + g, never g itself);
//   * the 2x2 fast path on even widths (paired), odd widths (scalar) and even widths whose row
//     start is misaligned by one element (the plan must fall back to scalar accesses; a paired
//     access to a misaligned address aborts in the host build of the kernel code);
//   * outputs start as a NaN that no computation here produces, so a cell never written shows;
//     on the smaller shapes every element is also run alone against a sentinel-filled buffer and
//     each output cell must be written by exactly one element (no overlap, no gap); the kernels'
//     input arrays and grad_in lie between guard regions holding another NaN, so a read out of
//     bounds poisons a result and a write out of bounds is seen;
//   * FastDiv32 (the kernels' division by a constant) against / on edge and random dividends for
//     divisors 1..4096, powers of two and their neighbours, and random divisors up to 2^31 - 1;
//     fits_v2's 2^31 limits; which path plan_v2 picks.
// What it cannot check: the device build itself (vector loads, __umulhi, the grid-stride macro on a
// real grid) — that needs a GPU (tests/cuda/test_conv_pool_ops.cpp, bench/bench_conv_pool_cuda.cu).
//
//   nvcc -std=c++20 -O1 -Iinclude -Ikernels -Xcompiler -fopenmp tests/cuda/test_pool_kernel_logic.cu
//        -o pool_logic -lgomp && ./pool_logic
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <seam/ops/pool.hpp>
#include <seam/pool2d.cuh>

namespace {

namespace sk = seam::kernels;
namespace pd = seam::kernels::pool2d_detail;
using seam::Tensor;

int failures = 0;
int checks = 0;

void expect(bool ok, const std::string& what) {
    ++checks;
    if (ok) return;
    if (++failures <= 40) std::printf("FAIL: %s\n", what.c_str());
}

template <class T>
using Bits = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;

template <class T>
Bits<T> bits_of(T v) {
    Bits<T> b;
    std::memcpy(&b, &v, sizeof b);
    return b;
}

/// A quiet NaN with a payload no operation here produces (inputs use the default NaN): "not written".
template <class T>
T unwritten() {
    const Bits<T> b = sizeof(T) == 4 ? Bits<T>(0x7fc5a5a5u) : Bits<T>(0x7ff8a5a5a5a5a5a5ull);
    T v;
    std::memcpy(&v, &b, sizeof v);
    return v;
}
constexpr int64_t kUnwrittenIndex = 0x5a5a5a5a5a5a5a5all;

/// "a,b,c" for messages.
std::string list(std::initializer_list<int64_t> values) {
    std::string s;
    for (int64_t v : values) s += (s.empty() ? "" : ",") + std::to_string(v);
    return s;
}

/// Where in the plane-major [N, C, rows, cols] array element e lies, for messages.
std::string where(int64_t e, int64_t C, int64_t rows, int64_t cols) {
    const int64_t col = e % cols, row = (e / cols) % rows, c = (e / (cols * rows)) % C, n = e / (cols * rows * C);
    return "(" + list({n, c, row, col}) + ")";
}

/// How a NaN must match: a max copies an input value, so its NaN keeps its exact bits; a NaN out of
/// arithmetic (a sum with inf - inf or with a NaN input) has no fixed sign or payload: x86 and the
/// GPU create different default NaNs, and which of two NaN operands an addition passes on depends
/// on the operand order the compiler chose (the CPU op built at -O3 differs from -O1 there).
enum class NaNs { exact_bits, any_nan };

/// Bit for bit (the sign of zero included; NaN bits too with NaNs::exact_bits); a cell still
/// holding the "unwritten" mark always fails. The first mismatches are shown as (n,c,row,col).
template <class T>
void expect_bits(const std::vector<T>& got, const std::vector<T>& want, int64_t C, int64_t rows, int64_t cols,
                 const std::string& what, NaNs nans) {
    if (got.size() != want.size()) return expect(false, what + ": sizes differ");
    size_t bad = 0;
    for (size_t e = 0; e < got.size(); ++e) {
        const bool unwritten_cell = bits_of(got[e]) == bits_of(unwritten<T>());
        const bool same = bits_of(got[e]) == bits_of(want[e]) ||
                          (nans == NaNs::any_nan && std::isnan(got[e]) && std::isnan(want[e]) && !unwritten_cell);
        if (!same && bad++ < 3 && failures < 40)
            std::printf("  %s at %s: got %.17g%s, want %.17g\n", what.c_str(), where(int64_t(e), C, rows, cols).c_str(),
                        double(got[e]), unwritten_cell ? " (never written)" : "", double(want[e]));
    }
    expect(bad == 0, what + ": " + std::to_string(bad) + " of " + std::to_string(got.size()) + " elements differ");
}

void expect_same(const std::vector<int64_t>& got, const std::vector<int64_t>& want, int64_t C, int64_t rows,
                 int64_t cols, const std::string& what) {
    if (got.size() != want.size()) return expect(false, what + ": sizes differ");
    size_t bad = 0;
    for (size_t e = 0; e < got.size(); ++e)
        if (got[e] != want[e] && bad++ < 3 && failures < 40)
            std::printf("  %s at %s: got %lld, want %lld\n", what.c_str(), where(int64_t(e), C, rows, cols).c_str(),
                        static_cast<long long>(got[e]), static_cast<long long>(want[e]));
    expect(bad == 0, what + ": " + std::to_string(bad) + " of " + std::to_string(got.size()) + " elements differ");
}

// ----- the launch, emulated ------------------------------------------------------------------------

/// Thread t of the plan's grid walks elements t, t + threads, ... (the kernels' grid-stride loop);
/// the threads in ascending or descending order.
template <class F>
void run_launch(const pd::Pool2dV2Plan& plan, bool descending, F&& element) {
    const uint64_t threads = uint64_t(plan.blocks) * pd::kThreads;
    for (uint64_t k = 0; k < threads; ++k) {
        const uint64_t t = descending ? threads - 1 - k : k;
        for (uint64_t i = t; i < plan.total; i += threads) element(static_cast<uint32_t>(i));
    }
}

/// Every element alone on buffers full of the "unwritten" marks; afterwards each cell it wrote is
/// counted and marked again. Each cell of `values` (and of `indices`, when given) must be written
/// by exactly one element.
template <class T, class F>
void expect_written_once(const pd::Pool2dV2Plan& plan, std::vector<T>& values, std::vector<int64_t>* indices,
                         F&& element, const std::string& what) {
    std::fill(values.begin(), values.end(), unwritten<T>());
    if (indices) std::fill(indices->begin(), indices->end(), kUnwrittenIndex);
    std::vector<int> count(values.size(), 0), index_count(indices ? indices->size() : 0, 0);
    for (uint32_t i = 0; i < plan.total; ++i) {
        element(i);
        for (size_t c = 0; c < values.size(); ++c)
            if (bits_of(values[c]) != bits_of(unwritten<T>())) ++count[c], values[c] = unwritten<T>();
        if (indices)
            for (size_t c = 0; c < indices->size(); ++c)
                if ((*indices)[c] != kUnwrittenIndex) ++index_count[c], (*indices)[c] = kUnwrittenIndex;
    }
    expect(std::all_of(count.begin(), count.end(), [](int n) { return n == 1; }),
           what + ": every output cell written by exactly one element");
    expect(std::all_of(index_count.begin(), index_count.end(), [](int n) { return n == 1; }),
           what + ": every index written by exactly one element");
}

/// expect_written_once for an output that lives at `cells` (a Placed buffer): n cells.
template <class T, class F>
void expect_cells_written_once(const pd::Pool2dV2Plan& plan, T* cells, size_t n, F&& element, const std::string& what) {
    std::vector<int> count(n, 0);
    std::fill(cells, cells + n, unwritten<T>());
    for (uint32_t i = 0; i < plan.total; ++i) {
        element(i);
        for (size_t c = 0; c < n; ++c)
            if (bits_of(cells[c]) != bits_of(unwritten<T>())) ++count[c], cells[c] = unwritten<T>();
    }
    expect(std::all_of(count.begin(), count.end(), [](int k) { return k == 1; }),
           what + ": every cell written by exactly one element");
}

/// n elements whose first sits `shift` elements past a 64-byte boundary (shift 1 misaligns every
/// 2-element vector access), with n + 64 guard elements on each side: a NaN of its own payload, so
/// an out-of-bounds read poisons a result (NaN wins a max, spreads through a sum), and an
/// out-of-bounds write shows in guards_intact.
template <class T>
struct Placed {
    std::vector<T> storage;
    T* ptr = nullptr;
    size_t n, front;
    explicit Placed(size_t count, int shift = 0, T fill = T(0)) : storage(3 * count + 256, guard()), n(count) {
        const uintptr_t base = reinterpret_cast<uintptr_t>(storage.data());
        front = ((64 - base % 64) % 64) / sizeof(T) + 64 + count + size_t(shift);
        ptr = storage.data() + front;
        std::fill(ptr, ptr + n, fill);
    }
    static T guard() {
        const Bits<T> b = sizeof(T) == 4 ? Bits<T>(0x7fc3c3c3u) : Bits<T>(0x7ff8c3c3c3c3c3c3ull);
        T v;
        std::memcpy(&v, &b, sizeof v);
        return v;
    }
    std::vector<T> values() const { return std::vector<T>(ptr, ptr + n); }
    bool guards_intact() const {
        for (size_t i = 0; i < storage.size(); ++i)
            if ((i < front || i >= front + n) && bits_of(storage[i]) != bits_of(guard())) return false;
        return true;
    }
};

// ----- inputs ------------------------------------------------------------------------------------

enum class Values { distinct, ties, specials, all_minus_inf };
const char* name_of(Values v) {
    switch (v) {
        case Values::distinct: return "distinct values";
        case Values::ties: return "ties";
        case Values::specials: return "NaN/inf";
        default: return "all -inf";
    }
}

template <class T>
std::vector<T> make_input(size_t n, Values kind, std::mt19937_64& rng) {
    const T inf = std::numeric_limits<T>::infinity(), nan = std::numeric_limits<T>::quiet_NaN();
    std::uniform_real_distribution<double> uniform(-2.0, 2.0);
    std::vector<T> x(n);
    for (T& v : x) {
        switch (kind) {
            case Values::distinct: v = static_cast<T>(uniform(rng)); break;
            case Values::ties: {
                const T pool[] = {T(-1), T(0), -T(0), T(1), T(1), T(2)};
                v = pool[rng() % 6];
                break;
            }
            case Values::specials: {
                const T pool[] = {-inf, -inf, -inf, T(1), T(1), nan, inf, -T(0), T(0), T(0.5)};
                v = pool[rng() % 10];
                break;
            }
            case Values::all_minus_inf: v = -inf; break;
        }
    }
    return x;
}

/// Output gradients: random, with -0 (whose sum with the zero a cell starts from is +0) and repeats.
template <class T>
std::vector<T> make_grad(size_t n, std::mt19937_64& rng) {
    std::uniform_real_distribution<double> uniform(-1.0, 1.0);
    std::vector<T> g(n);
    for (T& v : g) {
        const unsigned r = unsigned(rng() % 10);
        v = r == 0 ? -T(0) : r == 1 ? T(0.25) : static_cast<T>(uniform(rng));
    }
    return g;
}

// ----- path bookkeeping: every kernel variant must have been exercised ---------------------------

struct PathCount {
    int general = 0, fast_scalar = 0, fast_paired = 0;
    void add(const pd::Pool2dV2Plan& p) { (p.paired ? fast_paired : p.fast ? fast_scalar : general)++; }
};
PathCount max_fwd_paths, max_bwd_paths, avg_fwd_paths, avg_bwd_paths;

constexpr size_t kWrittenOnceLimit = 4000;  // the O(elements x cells) check runs below this many cells

// ----- max pooling ---------------------------------------------------------------------------------

struct WindowCase {
    int64_t N, C, H, W;
    std::array<int64_t, 2> k, s, p, d;
    bool ceil;
};

std::string describe(const WindowCase& c) {
    auto pair = [](const std::array<int64_t, 2>& a) { return std::to_string(a[0]) + "x" + std::to_string(a[1]); };
    return "[" + list({c.N, c.C, c.H, c.W}) + "] k" + pair(c.k) + " s" + pair(c.s) + " p" + pair(c.p) + " d" +
           pair(c.d) + (c.ceil ? " ceil" : "");
}

seam::Pool2dOptions options_of(const WindowCase& c) {
    seam::Pool2dOptions o;
    o.kernel = c.k, o.stride = c.s, o.padding = c.p, o.dilation = c.d, o.ceil_mode = c.ceil;
    return o;
}

sk::Pool2dShape shape_of(const WindowCase& c, int64_t OH, int64_t OW) {
    sk::Pool2dShape s;
    s.N = c.N, s.C = c.C, s.H = c.H, s.W = c.W, s.OH = OH, s.OW = OW;
    s.kh = c.k[0], s.kw = c.k[1], s.sh = c.s[0], s.sw = c.s[1], s.ph = c.p[0], s.pw = c.p[1], s.dh = c.d[0],
    s.dw = c.d[1];
    return s;
}

template <class T>
void check_max(const WindowCase& c, Values kind, std::mt19937_64& rng) {
    const std::string name =
        std::string(sizeof(T) == 4 ? "float" : "double") + " max " + describe(c) + " " + name_of(kind);
    const size_t nx = size_t(c.N * c.C * c.H * c.W);
    const std::vector<T> xv = make_input<T>(nx, kind, rng);
    Tensor<T> x = seam::from_vector(xv, {c.N, c.C, c.H, c.W});
    x.set_requires_grad();
    auto [y, idx] = seam::max_pool2d_with_indices(x, options_of(c));
    const int64_t OH = y.size(2), OW = y.size(3);
    const size_t ny = size_t(y.numel());
    const std::vector<T> gy = make_grad<T>(ny, rng);
    y.backward(seam::from_vector(gy, y.shape()));
    const std::vector<T> want_y = y.detach().to_vector(), want_gx = x.grad().to_vector();
    const std::vector<int64_t> want_ix = idx.to_vector();
    Placed<T> g(ny, 0);  // the backward's inputs, with guards
    Placed<int64_t> gix(ny, 0);
    std::copy(gy.begin(), gy.end(), g.ptr);
    std::copy(want_ix.begin(), want_ix.end(), gix.ptr);

    const sk::Pool2dShape s = shape_of(c, OH, OW);
    expect(pd::valid_window(s) && pd::fits_v2(s, false), name + ": shape valid and within v2's limits");

    for (int shift : {0, 1}) {  // shift 1: x misaligned by one element (no vector loads)
        const std::string at = name + (shift ? " (x misaligned)" : "");
        Placed<T> xp(nx, shift, T(0));
        std::copy(xv.begin(), xv.end(), xp.ptr);
        const pd::Pool2dV2Plan plan = pd::plan_v2<T>(s, false, false, xp.ptr);
        max_fwd_paths.add(plan);
        expect(plan.total == uint32_t(ny), at + ": forward walks every output");
        expect(!(shift && plan.paired), at + ": no paired loads from a misaligned row");
        std::vector<T> out(ny);
        std::vector<int64_t> ix(ny);
        auto element = [&](int64_t* indices) {
            return [&, indices](uint32_t o) {
                if (plan.paired) sk::max_pool2d_forward_2x2_v2_at<T, true>(xp.ptr, out.data(), indices, plan.p, o);
                else if (plan.fast) sk::max_pool2d_forward_2x2_v2_at<T, false>(xp.ptr, out.data(), indices, plan.p, o);
                else sk::max_pool2d_forward_v2_at<T>(xp.ptr, out.data(), indices, plan.p, o);
            };
        };
        for (bool descending : {false, true}) {
            std::fill(out.begin(), out.end(), unwritten<T>());
            std::fill(ix.begin(), ix.end(), kUnwrittenIndex);
            run_launch(plan, descending, element(ix.data()));
            expect_bits(out, want_y, c.C, OH, OW, at + " forward values", NaNs::exact_bits);
            expect_same(ix, want_ix, c.C, OH, OW, at + " forward indices");
        }
        std::fill(out.begin(), out.end(), unwritten<T>());
        run_launch(plan, false, element(nullptr));
        expect_bits(out, want_y, c.C, OH, OW, at + " forward values without indices", NaNs::exact_bits);
        if (nx + ny <= kWrittenOnceLimit) expect_written_once(plan, out, &ix, element(ix.data()), at + " forward");
        const std::vector<T> after = xp.values();
        expect(std::memcmp(after.data(), xv.data(), nx * sizeof(T)) == 0, at + ": input unchanged");
    }

    for (int shift : {0, 1}) {  // shift 1: grad_in misaligned by one element (no vector stores)
        const std::string at = name + (shift ? " (grad_in misaligned)" : "");
        Placed<T> gx(nx, shift, unwritten<T>());
        const pd::Pool2dV2Plan plan = pd::plan_v2<T>(s, false, true, gx.ptr);
        max_bwd_paths.add(plan);
        expect(!(shift && plan.paired), at + ": no paired stores to a misaligned row");
        auto element = [&](uint32_t e) {
            if (plan.paired) sk::max_pool2d_backward_2x2_v2_at<T, true>(g.ptr, gix.ptr, gx.ptr, plan.p, e);
            else if (plan.fast) sk::max_pool2d_backward_2x2_v2_at<T, false>(g.ptr, gix.ptr, gx.ptr, plan.p, e);
            else sk::max_pool2d_backward_v2_at<T>(g.ptr, gix.ptr, gx.ptr, plan.p, e);
        };
        for (bool descending : {false, true}) {
            std::fill(gx.ptr, gx.ptr + nx, unwritten<T>());
            run_launch(plan, descending, element);
            expect_bits(gx.values(), want_gx, c.C, c.H, c.W, at + " backward", NaNs::any_nan);
        }
        if (nx <= kWrittenOnceLimit) expect_cells_written_once(plan, gx.ptr, nx, element, at + " backward");
        expect(gx.guards_intact(), at + " backward: nothing written outside grad_in");
    }
}

// ----- average pooling -----------------------------------------------------------------------------

template <class T>
void check_avg(const WindowCase& c, const seam::AvgPoolOptions& a, Values kind, std::mt19937_64& rng) {
    const std::string name = std::string(sizeof(T) == 4 ? "float" : "double") + " avg " + describe(c) +
                             (a.count_include_pad ? " include_pad" : " exclude_pad") + " override " +
                             std::to_string(a.divisor_override) + " " + name_of(kind);
    const size_t nx = size_t(c.N * c.C * c.H * c.W);
    const std::vector<T> xv = make_input<T>(nx, kind, rng);
    Tensor<T> x = seam::from_vector(xv, {c.N, c.C, c.H, c.W});
    x.set_requires_grad();
    Tensor<T> y = seam::avg_pool2d(x, options_of(c), a);
    const int64_t OH = y.size(2), OW = y.size(3);
    const size_t ny = size_t(y.numel());
    const std::vector<T> gy = make_grad<T>(ny, rng);
    y.backward(seam::from_vector(gy, y.shape()));
    const std::vector<T> want_y = y.detach().to_vector(), want_gx = x.grad().to_vector();
    Placed<T> g(ny, 0);  // the backward's input, with guards
    std::copy(gy.begin(), gy.end(), g.ptr);

    const sk::Pool2dShape s = shape_of(c, OH, OW);
    sk::AvgPoolDivisor divisor;
    divisor.count_include_pad = a.count_include_pad, divisor.divisor_override = a.divisor_override;
    expect(pd::valid_window(s) && pd::fits_v2(s, false), name + ": shape valid and within v2's limits");

    for (int shift : {0, 1}) {
        const std::string at = name + (shift ? " (x misaligned)" : "");
        Placed<T> xp(nx, shift, T(0));
        std::copy(xv.begin(), xv.end(), xp.ptr);
        const pd::Pool2dV2Plan plan = pd::plan_v2<T>(s, false, false, xp.ptr);
        avg_fwd_paths.add(plan);
        expect(plan.total == uint32_t(ny), at + ": forward walks every output");
        expect(!(shift && plan.paired), at + ": no paired loads from a misaligned row");
        std::vector<T> out(ny);
        auto element = [&](uint32_t o) {
            if (plan.paired) sk::avg_pool2d_forward_2x2_v2_at<T, true>(xp.ptr, out.data(), plan.p, divisor, o);
            else if (plan.fast) sk::avg_pool2d_forward_2x2_v2_at<T, false>(xp.ptr, out.data(), plan.p, divisor, o);
            else sk::avg_pool2d_forward_v2_at<T>(xp.ptr, out.data(), plan.p, divisor, o);
        };
        for (bool descending : {false, true}) {
            std::fill(out.begin(), out.end(), unwritten<T>());
            run_launch(plan, descending, element);
            expect_bits(out, want_y, c.C, OH, OW, at + " forward", NaNs::any_nan);
        }
        if (nx + ny <= kWrittenOnceLimit) expect_written_once(plan, out, nullptr, element, at + " forward");
    }

    for (int shift : {0, 1}) {
        const std::string at = name + (shift ? " (grad_in misaligned)" : "");
        Placed<T> gx(nx, shift, unwritten<T>());
        const pd::Pool2dV2Plan plan = pd::plan_v2<T>(s, false, true, gx.ptr);
        avg_bwd_paths.add(plan);
        expect(!(shift && plan.paired), at + ": no paired stores to a misaligned row");
        auto element = [&](uint32_t e) {
            if (plan.paired) sk::avg_pool2d_backward_2x2_v2_at<T, true>(g.ptr, gx.ptr, plan.p, divisor, e);
            else if (plan.fast) sk::avg_pool2d_backward_2x2_v2_at<T, false>(g.ptr, gx.ptr, plan.p, divisor, e);
            else sk::avg_pool2d_backward_v2_at<T>(g.ptr, gx.ptr, plan.p, divisor, e);
        };
        for (bool descending : {false, true}) {
            std::fill(gx.ptr, gx.ptr + nx, unwritten<T>());
            run_launch(plan, descending, element);
            expect_bits(gx.values(), want_gx, c.C, c.H, c.W, at + " backward", NaNs::any_nan);
        }
        if (nx <= kWrittenOnceLimit) expect_cells_written_once(plan, gx.ptr, nx, element, at + " backward");
        expect(gx.guards_intact(), at + " backward: nothing written outside grad_in");
    }
}

// ----- adaptive pooling ----------------------------------------------------------------------------

struct AdaptiveCase {
    int64_t N, C, H, W, OH, OW;
};

template <class T>
void check_adaptive(const AdaptiveCase& c, Values kind, std::mt19937_64& rng) {
    const std::string name = std::string(sizeof(T) == 4 ? "float" : "double") + " adaptive [" +
                             list({c.N, c.C, c.H, c.W}) + "] -> " + list({c.OH, c.OW}) + " " + name_of(kind);
    const size_t nx = size_t(c.N * c.C * c.H * c.W), ny = size_t(c.N * c.C * c.OH * c.OW);
    const std::vector<T> xv = make_input<T>(nx, kind, rng);
    const std::vector<T> gy = make_grad<T>(ny, rng);
    sk::Pool2dShape s;
    s.N = c.N, s.C = c.C, s.H = c.H, s.W = c.W, s.OH = c.OH, s.OW = c.OW;
    expect(pd::valid_adaptive(s) && pd::fits_v2(s, true), name + ": shape valid and within v2's limits");

    // The CPU ops (autograd for the backward; with no output at all, every input gradient is 0).
    std::vector<T> want_avg, want_avg_gx, want_max, want_max_gx(nx, T(0));
    std::vector<int64_t> want_ix;
    {
        Tensor<T> x = seam::from_vector(xv, {c.N, c.C, c.H, c.W});
        x.set_requires_grad();
        Tensor<T> y = seam::adaptive_avg_pool2d(x, {c.OH, c.OW});
        want_avg = y.detach().to_vector();
        if (ny > 0) {
            y.backward(seam::from_vector(gy, y.shape()));
            want_avg_gx = x.grad().to_vector();
        } else {
            want_avg_gx.assign(nx, T(0));
        }
    }
    {
        Tensor<T> x = seam::from_vector(xv, {c.N, c.C, c.H, c.W});
        x.set_requires_grad();
        auto [y, idx] = seam::adaptive_max_pool2d_with_indices(x, {c.OH, c.OW});
        want_max = y.detach().to_vector();
        want_ix = idx.to_vector();
        if (ny > 0) {
            y.backward(seam::from_vector(gy, y.shape()));
            want_max_gx = x.grad().to_vector();
        }
    }

    // The kernels' inputs and the backward's output, with guards.
    Placed<T> xp(nx), g(ny), gx(nx);
    Placed<int64_t> gix(ny);
    std::copy(xv.begin(), xv.end(), xp.ptr);
    std::copy(gy.begin(), gy.end(), g.ptr);
    std::copy(want_ix.begin(), want_ix.end(), gix.ptr);

    const pd::Pool2dV2Plan fwd = pd::plan_v2<T>(s, true, false, xp.ptr);
    expect(!fwd.fast && fwd.total == uint32_t(ny), name + ": adaptive forward plan");
    std::vector<T> out(ny);
    std::vector<int64_t> ix(ny);
    auto avg_f = [&](uint32_t o) { sk::adaptive_avg_pool2d_forward_v2_at<T>(xp.ptr, out.data(), fwd.p, o); };
    auto max_f = [&](uint32_t o) { sk::adaptive_max_pool2d_forward_v2_at<T>(xp.ptr, out.data(), ix.data(), fwd.p, o); };
    for (bool descending : {false, true}) {
        std::fill(out.begin(), out.end(), unwritten<T>());
        run_launch(fwd, descending, avg_f);
        expect_bits(out, want_avg, c.C, c.OH, c.OW, name + " avg forward", NaNs::any_nan);
        std::fill(out.begin(), out.end(), unwritten<T>());
        std::fill(ix.begin(), ix.end(), kUnwrittenIndex);
        run_launch(fwd, descending, max_f);
        expect_bits(out, want_max, c.C, c.OH, c.OW, name + " max forward values", NaNs::exact_bits);
        expect_same(ix, want_ix, c.C, c.OH, c.OW, name + " max forward indices");
    }
    if (nx + ny <= kWrittenOnceLimit) {
        expect_written_once(fwd, out, nullptr, avg_f, name + " avg forward");
        expect_written_once(fwd, out, &ix, max_f, name + " max forward");
    }

    const pd::Pool2dV2Plan bwd = pd::plan_v2<T>(s, true, true, gx.ptr);
    expect(!bwd.fast && bwd.total == uint32_t(nx), name + ": adaptive backward plan");
    auto avg_b = [&](uint32_t e) { sk::adaptive_avg_pool2d_backward_v2_at<T>(g.ptr, gx.ptr, bwd.p, e); };
    auto max_b = [&](uint32_t e) { sk::adaptive_max_pool2d_backward_v2_at<T>(g.ptr, gix.ptr, gx.ptr, bwd.p, e); };
    for (bool descending : {false, true}) {
        std::fill(gx.ptr, gx.ptr + nx, unwritten<T>());
        run_launch(bwd, descending, avg_b);
        expect_bits(gx.values(), want_avg_gx, c.C, c.H, c.W, name + " avg backward", NaNs::any_nan);
        std::fill(gx.ptr, gx.ptr + nx, unwritten<T>());
        run_launch(bwd, descending, max_b);
        expect_bits(gx.values(), want_max_gx, c.C, c.H, c.W, name + " max backward", NaNs::any_nan);
    }
    if (nx <= kWrittenOnceLimit) {
        expect_cells_written_once(bwd, gx.ptr, nx, avg_b, name + " avg backward");
        expect_cells_written_once(bwd, gx.ptr, nx, max_b, name + " max backward");
    }
    expect(gx.guards_intact(), name + " backward: nothing written outside grad_in");
}

// ----- FastDiv32, fits_v2, plan_v2 -------------------------------------------------------------------

void check_fast_div(std::mt19937_64& rng) {
    std::vector<uint32_t> divisors;
    for (uint32_t d = 1; d <= 4096; ++d) divisors.push_back(d);
    for (int b = 1; b <= 31; ++b)
        for (int64_t delta : {-1, 0, 1}) {
            const int64_t d = (int64_t{1} << b) + delta;
            if (d >= 1 && d <= 0x7fffffff) divisors.push_back(uint32_t(d));
        }
    std::uniform_int_distribution<uint32_t> any(1, 0x7fffffff);
    for (int i = 0; i < 2000; ++i) divisors.push_back(any(rng));
    const uint32_t top = 0x7fffffff;
    std::uniform_int_distribution<uint32_t> dividend(0, top);
    int wrong = 0;
    for (uint32_t d : divisors) {
        const pd::FastDiv32 f(d);
        std::vector<uint32_t> ns = {0, 1, d - 1, d, d + 1, top, top - 1, top - d + 1};
        for (uint32_t m : {2u, 3u, 7u, 1000u, top / d, top / d - 1})
            if (m > 0 && uint64_t(m) * d <= top) ns.push_back(m * d - 1), ns.push_back(m * d);
        for (int i = 0; i < 200; ++i) ns.push_back(dividend(rng));
        for (uint32_t n : ns) {
            if (n > top) continue;
            if (f.div(n) != n / d && wrong++ < 5)
                expect(false, "FastDiv32: " + list({n, d}) + ": n / d gave " + std::to_string(f.div(n)));
        }
    }
    expect(wrong == 0, "FastDiv32 equals / for every divisor and dividend tried");
    const pd::FastDiv32 zero(0);  // a size of 0 (no launch divides by it) must not break the host
    expect(zero.d == 1, "FastDiv32(0) acts as 1");
}

void check_limits() {
    sk::Pool2dShape s;
    s.N = 1, s.C = 1, s.H = 65536, s.W = 32767, s.OH = 32768, s.OW = 16383, s.kh = s.kw = s.sh = s.sw = 2;
    expect(pd::fits_v2(s, false), "fits_v2: H*W = 2^31 - 2^16 fits");
    s.W = 32768, s.OW = 16384;
    expect(!pd::fits_v2(s, false), "fits_v2: H*W = 2^31 does not fit");
    s.H = 1024, s.W = 1024, s.OH = 512, s.OW = 512, s.N = 2048, s.C = 1;
    expect(!pd::fits_v2(s, false), "fits_v2: planes*H*W = 2^31 does not fit");
    s.N = 2047;
    expect(pd::fits_v2(s, false), "fits_v2: planes*H*W = 2^31 - 2^20 fits");
    s.kh = int64_t{1} << 30, s.ph = int64_t{1} << 29, s.H = 4, s.OH = 1, s.N = 1;
    expect(!pd::fits_v2(s, false), "fits_v2: a window reaching past 2^31 does not fit");
    sk::Pool2dShape a;
    a.N = a.C = 1, a.H = 50000, a.W = 1, a.OH = 50000, a.OW = 1;
    expect(!pd::fits_v2(a, true), "fits_v2: adaptive (OH+1)*(H+1) above 2^31 does not fit");
    a.H = a.OH = 40000;
    expect(pd::fits_v2(a, true), "fits_v2: adaptive (OH+1)*(H+1) below 2^31 fits");

    // plan_v2's choices.
    alignas(64) static float buffer[64];
    sk::Pool2dShape w;
    w.N = 2, w.C = 3, w.H = 6, w.W = 8, w.OH = 3, w.OW = 4, w.kh = w.kw = w.sh = w.sw = 2;
    auto p = pd::plan_v2<float>(w, false, false, buffer);
    expect(p.fast && p.paired && p.total == 2 * 3 * 3 * 4 && p.blocks == 1, "plan: 2x2 even width aligned: paired");
    p = pd::plan_v2<float>(w, false, false, buffer + 1);
    expect(p.fast && !p.paired, "plan: misaligned base: scalar");
    p = pd::plan_v2<float>(w, false, true, buffer);
    expect(p.fast && p.paired && p.total == 2 * 3 * 3 * 4, "plan: backward over 2x2 blocks");
    w.W = 7, w.OW = 3;
    p = pd::plan_v2<float>(w, false, false, buffer);
    expect(p.fast && !p.paired, "plan: odd width: scalar");
    p = pd::plan_v2<float>(w, false, true, buffer);
    expect(p.fast && !p.paired && p.total == 2 * 3 * 3 * 4, "plan: odd width backward: 4 blocks a row");
    w.OW = 4;  // ceil_mode: the last window is clipped
    p = pd::plan_v2<float>(w, false, false, buffer);
    expect(!p.fast, "plan: clipped windows: general forward");
    p = pd::plan_v2<float>(w, false, true, buffer);
    expect(p.fast, "plan: clipped windows: 2x2 backward");
    w.ph = 1;
    p = pd::plan_v2<float>(w, false, false, buffer);
    expect(!p.fast, "plan: padding: general");
    w.ph = 0, w.dh = 2;
    p = pd::plan_v2<float>(w, false, true, buffer);
    expect(!p.fast, "plan: dilation: general");
    w.dh = 1;
    p = pd::plan_v2<float>(w, true, false, buffer);
    expect(!p.fast, "plan: adaptive: never the 2x2 path");
    s.N = 1, s.C = 1, s.H = 10, s.W = 10, s.OH = 5, s.OW = 5, s.kh = s.kw = s.sh = s.sw = 2, s.ph = 0;
    expect(pd::use_v2(sk::Pool2dVersion::v2, s, false) && !pd::use_v2(sk::Pool2dVersion::v1, s, false),
           "use_v2 follows the version asked for");
}

}  // namespace

int main() {
    std::mt19937_64 rng(20261127);
    check_fast_div(rng);
    check_limits();

    const std::vector<WindowCase> windows = {
        {1, 1, 5, 7, {2, 2}, {2, 2}, {0, 0}, {1, 1}, false},   // odd H and W: 2x2 forward scalar, ragged blocks
        {2, 3, 6, 8, {2, 2}, {2, 2}, {0, 0}, {1, 1}, false},   // even W: 2x2 paired
        {2, 2, 7, 9, {2, 2}, {2, 2}, {0, 0}, {1, 1}, true},    // ceil_mode: clipped last windows
        {2, 2, 6, 9, {2, 2}, {2, 2}, {0, 0}, {1, 1}, true},    // ceil_mode, even H, odd W
        {1, 2, 1, 1, {2, 2}, {2, 2}, {0, 0}, {1, 1}, true},    // a map smaller than the window
        {1, 1, 1, 3, {2, 2}, {2, 2}, {0, 0}, {1, 1}, true},    // one row
        {1, 1, 2, 2, {2, 2}, {2, 2}, {0, 0}, {1, 1}, false},   // one window
        {2, 2, 6, 6, {2, 2}, {2, 2}, {1, 1}, {1, 1}, false},   // 2x2 stride 2 with padding: general
        {2, 2, 5, 6, {3, 3}, {1, 1}, {1, 1}, {1, 1}, false},   // 3x3 stride 1 padding 1: overlapping windows
        {1, 3, 7, 8, {3, 3}, {3, 3}, {1, 1}, {1, 1}, false},   // stride 3
        {1, 3, 8, 7, {3, 3}, {3, 3}, {1, 0}, {1, 1}, true},    // stride 3, ceil_mode
        {2, 2, 9, 7, {3, 3}, {2, 2}, {2, 1}, {2, 2}, false},   // dilation 2 (max only)
        {1, 1, 1, 1, {2, 2}, {1, 1}, {1, 1}, {2, 2}, false},   // every tap in the padding: -inf, -1 (max only)
        {1, 2, 3, 4, {2, 2}, {1, 1}, {1, 1}, {2, 2}, false},   // some windows without a tap (max only)
        {2, 3, 5, 4, {1, 1}, {1, 1}, {0, 0}, {1, 1}, false},   // 1x1
        {2, 3, 5, 4, {1, 1}, {2, 2}, {0, 0}, {1, 1}, false},   // 1x1 stride 2
        {1, 2, 6, 5, {3, 2}, {1, 2}, {1, 0}, {1, 1}, false},   // rectangular kernel and stride
        {1, 1, 11, 13, {4, 3}, {3, 2}, {2, 1}, {1, 1}, true},  // 4x3 kernel, ceil_mode
        {3, 37, 4, 6, {2, 2}, {2, 2}, {0, 0}, {1, 1}, false},  // 111 planes, 2x2 paired
        {3, 37, 5, 5, {3, 3}, {2, 2}, {1, 1}, {1, 1}, true},   // 111 planes, general
        {1, 1, 30, 34, {2, 2}, {2, 2}, {0, 0}, {1, 1}, false}, // a larger plane: several blocks of threads
        {2, 3, 66, 130, {2, 2}, {2, 2}, {0, 0}, {1, 1}, false},  // rows and columns beyond 64 (and 128), paired
        {1, 2, 67, 129, {3, 3}, {2, 2}, {1, 1}, {1, 1}, true},   // the same, odd, general
    };
    const Values kinds[] = {Values::distinct, Values::ties, Values::specials, Values::all_minus_inf};
    for (const WindowCase& c : windows)
        for (Values kind : kinds) {
            check_max<float>(c, kind, rng);
            check_max<double>(c, kind, rng);
        }
    std::vector<seam::AvgPoolOptions> divisors;
    for (bool include : {true, false})
        for (int64_t over : {int64_t{0}, int64_t{3}, int64_t{-7}}) {
            seam::AvgPoolOptions a;
            a.count_include_pad = include, a.divisor_override = over;
            divisors.push_back(a);
        }
    for (const WindowCase& c : windows) {
        if (c.d[0] != 1 || c.d[1] != 1) continue;  // average pooling has no dilation
        for (const seam::AvgPoolOptions& a : divisors) {
            check_avg<float>(c, a, Values::distinct, rng);
            check_avg<double>(c, a, Values::distinct, rng);
        }
        check_avg<float>(c, {}, Values::specials, rng);
        check_avg<double>(c, {}, Values::ties, rng);
    }
    const std::vector<AdaptiveCase> adaptive = {
        {1, 1, 7, 5, 3, 2},   {2, 3, 5, 7, 5, 7},  {1, 2, 4, 4, 6, 9},  {1, 1, 1, 1, 3, 3}, {2, 2, 10, 9, 4, 4},
        {1, 3, 6, 6, 1, 1},   {1, 2, 3, 5, 0, 2},  {1, 2, 3, 5, 2, 0},  {3, 37, 7, 7, 3, 3}, {1, 1, 13, 11, 5, 4},
        {1, 1, 2, 17, 2, 6},  {1, 2, 67, 130, 9, 65},
    };
    for (const AdaptiveCase& c : adaptive)
        for (Values kind : kinds) {
            check_adaptive<float>(c, kind, rng);
            check_adaptive<double>(c, kind, rng);
        }

    // Every kernel variant has been run (else this test covers less than it claims).
    const std::pair<const char*, PathCount> all_paths[] = {
        {"max forward", max_fwd_paths}, {"max backward", max_bwd_paths},
        {"avg forward", avg_fwd_paths}, {"avg backward", avg_bwd_paths}};
    for (const auto& [name, paths] : all_paths)
        expect(paths.general > 0 && paths.fast_scalar > 0 && paths.fast_paired > 0,
               std::string(name) + ": general, 2x2 scalar and 2x2 paired paths all exercised (" +
                   std::to_string(paths.general) + ", " + std::to_string(paths.fast_scalar) + ", " +
                   std::to_string(paths.fast_paired) + ")");

    if (failures) {
        std::printf("test_pool_kernel_logic: %d FAILED of %d checks\n", failures, checks);
        return 1;
    }
    std::printf("test_pool_kernel_logic: all %d checks passed (max forward paths general/2x2 scalar/2x2 paired: "
                "%d/%d/%d, max backward %d/%d/%d, avg forward %d/%d/%d, avg backward %d/%d/%d)\n",
                checks, max_fwd_paths.general, max_fwd_paths.fast_scalar, max_fwd_paths.fast_paired,
                max_bwd_paths.general, max_bwd_paths.fast_scalar, max_bwd_paths.fast_paired, avg_fwd_paths.general,
                avg_fwd_paths.fast_scalar, avg_fwd_paths.fast_paired, avg_bwd_paths.general, avg_bwd_paths.fast_scalar,
                avg_bwd_paths.fast_paired);
    return 0;
}
