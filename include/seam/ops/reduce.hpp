// seam/ops/reduce.hpp — reductions: sum, mean, var, max/min (values and indices), argmax/argmin,
// topk and vector_norm, each with its backward rule.
//
// How the fast path works. The input is made contiguous, size-1 dimensions are dropped and
// neighbouring dimensions of the same kind (kept / reduced) are merged, so any reduction becomes
// alternating groups such as [kept, reduced] (rows), [reduced, kept] (columns) or
// [reduced, kept, reduced] (per-channel statistics of NCHW). Two loops cover every case:
//   * innermost group reduced: every output element sums contiguous rows (8 accumulator lanes,
//     which the compiler vectorises); the threads split the output elements;
//   * innermost group kept: every output row accumulates whole input rows element by element
//     (acc[j] += x[r, j], vectorised over j); the threads split blocks of output columns.
// The order in which one output element adds its inputs depends only on the shape, never on the
// thread count, so results are bit-identical whatever the threads (stronger than DESIGN.md asks).
// Rows longer than kReduceBlock are cut into fixed blocks summed in parallel and then added in
// block order, so sum(x) over a huge tensor still uses every core.
//
// Accumulation precision (decided): float sums are carried in double, every value converted.
// A float accumulator loses digits as rows grow (4·10^6 × 0.1f summed in 8 float lanes is off by
// 0.35%). A cheaper compromise was measured and rejected: runs of 8 values added in float before
// a double accumulator ran at float speed but lost 3 bits on data far from zero (the variance of
// 10^6 + steps of 0.001, a test in tests/test_reduce.cpp, came out 4.6% off). The price, on one
// core of this machine (thread CPU time): 16M floats sum in 8.2-8.7 ms instead of 4.5-5.8 ms
// (1.5-1.8x; up to 3x for rows that sit in L1). Reductions are rarely the bottleneck of a
// training step, so exactness wins. Double inputs accumulate in double.
//
// Conventions (PyTorch's): dims may be negative; an empty dims list reduces every dimension;
// mean of zero elements is NaN; var divides by n-1 (unbiased) or n, and is NaN when that is 0;
// max/min/topk ties go to the lowest index; NaN counts as larger than every number (max and topk
// return it, min also returns it: NaN propagates). Gradients: max(x, dim), min(x, dim) and topk
// send the gradient to the selected indices; max(x)/min(x) over everything share it evenly among
// all elements equal to the result (PyTorch's rule for the full reduction).
//
// CUDA tensors (builds with SEAM_WITH_CUDA): sum, mean, max/min along a dim (values and indices),
// argmax, argmin and topk (values and indices equal to the CPU's, ties and NaN included) run on the
// device (kernels/seam/reduce.cuh); var and vector_norm are composed from device ops; max(x)/min(x)
// over everything reduce the flattened tensor on the device and share the gradient there.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <type_traits>
#include <utility>
#include <vector>

#include "seam/core/tensor.hpp"
#include "seam/ops/elementwise.hpp"

namespace seam {

namespace detail {

/// The type sums of T are carried in: double for float (see the header comment), T otherwise.
template <class T>
struct ReductionAccumulator {
    using type = T;
};
template <>
struct ReductionAccumulator<float> {
    using type = double;
};
template <class T>
using reduction_acc_t = typename ReductionAccumulator<T>::type;

/// Rows longer than this are summed in independent blocks (parallel even when there is one output).
inline constexpr int64_t kReduceBlock = int64_t(1) << 15;
/// Output columns handled by one work item of the "innermost dimension kept" loop: wide enough
/// that each input row is read in 4 KiB runs (256 columns ran 2.5x slower on a 4096² input), small
/// enough that the accumulators stay in L1 (8 KiB of double).
inline constexpr int64_t kReduceColumnBlock = 1024;

/// A reduction resolved against its input shape, and the loops that compute it on a contiguous input.
struct ReducePlan {
    Shape in_shape;
    Shape out_shape;   // keepdim = false
    Shape keep_shape;  // keepdim = true: reduced dimensions become 1
    int64_t out_numel = 1;
    int64_t reduce_count = 1;  // input elements folded into each output element
    // Loop groups over the contiguous input (size-1 dims dropped, neighbours of one kind merged),
    // outermost first. Strides are those of the contiguous input.
    Shape kept_sizes, kept_strides;
    Shape red_sizes, red_strides;
    bool innermost_reduced = false;  // the stride-1 group is reduced (rows) rather than kept (columns)
};

inline ReducePlan plan_reduction(const Shape& in_shape, const std::vector<int64_t>& dims, const char* op) {
    const int64_t rank = static_cast<int64_t>(in_shape.size());
    std::vector<bool> reduced(static_cast<size_t>(rank), dims.empty());  // empty list: everything
    for (int64_t d : dims) {
        const int64_t w = wrap_dim(d, rank, op);
        if (rank == 0) continue;  // a scalar's dimension 0 / -1 is the scalar itself
        SEAM_CHECK(!reduced[w], op, ": dimension ", d, " appears twice in the dims ", shape_str(dims), " (input shape ",
                   shape_str(in_shape), ")");
        reduced[w] = true;
    }
    ReducePlan p;
    p.in_shape = in_shape;
    const Shape strides = contiguous_strides(in_shape);
    int last_kind = -1;  // -1 none yet, 0 kept, 1 reduced
    for (int64_t d = 0; d < rank; ++d) {
        const int64_t n = in_shape[d];
        if (reduced[d]) {
            p.keep_shape.push_back(1);
            p.reduce_count *= n;
        } else {
            p.keep_shape.push_back(n);
            p.out_shape.push_back(n);
            p.out_numel *= n;
        }
        if (n == 1) continue;
        const int kind = reduced[d] ? 1 : 0;
        Shape& sizes = kind ? p.red_sizes : p.kept_sizes;
        Shape& st = kind ? p.red_strides : p.kept_strides;
        if (kind == last_kind) {
            sizes.back() *= n;      // contiguous neighbours merge: the group's stride is its inner one
            st.back() = strides[d];
        } else {
            sizes.push_back(n);
            st.push_back(strides[d]);
        }
        last_kind = kind;
    }
    p.innermost_reduced = last_kind == 1;
    return p;
}

/// Offsets of every multi-index of `sizes` (row-major order) through `strides`.
inline std::vector<int64_t> offsets_in_order(const Shape& sizes, const Shape& strides) {
    std::vector<int64_t> out{0};
    for (size_t g = 0; g < sizes.size(); ++g) {
        std::vector<int64_t> next;
        next.reserve(out.size() * static_cast<size_t>(sizes[g]));
        for (int64_t base : out)
            for (int64_t i = 0; i < sizes[g]; ++i) next.push_back(base + i * strides[g]);
        out.swap(next);
    }
    return out;
}

/// Σ f(p[i]) for i < n (f returns Acc) with 16 independent lanes (vectorisable without
/// -ffast-math, and enough independent adds to hide their latency) combined pairwise in a fixed
/// order, so the result depends only on n.
template <class Acc, class T, class F>
inline Acc row_sum(const T* p, int64_t n, F f) {
    constexpr int64_t L = 16;
    Acc lanes[L] = {};
    int64_t i = 0;
    for (; i + L <= n; i += L)
        for (int64_t l = 0; l < L; ++l) lanes[l] += f(p[i + l]);
    Acc tail = 0;
    for (; i < n; ++i) tail += f(p[i]);
    for (int64_t width = L / 2; width > 0; width /= 2)
        for (int64_t l = 0; l < width; ++l) lanes[l] += lanes[l + width];
    return lanes[0] + tail;
}

/// out[o] = Σ f(x[i], o) over the input elements i that reduce into output element o, for a
/// contiguous x described by `p` (see the header comment for the two loops).
template <class T, class Acc, class F>
inline void reduce_sum_kernel(const T* x, const ReducePlan& p, Acc* out, F f) {
    const int64_t outs = p.out_numel;
    if (outs == 0) return;
    if (p.reduce_count == 0) {
        std::fill(out, out + outs, Acc(0));
        return;
    }
    if (p.red_sizes.empty()) {  // only size-1 dims are reduced: each output is one element
        parallel_for(0, outs, kParallelGrain, [&](int64_t lo, int64_t hi) {
            for (int64_t o = lo; o < hi; ++o) out[o] = Acc(0) + f(x[o], o);
        });
        return;
    }
    // Offset of output element o's first input element, through the kept groups.
    auto base_of = [&](int64_t o) {
        int64_t off = 0;
        for (size_t g = p.kept_sizes.size(); g-- > 0;) {
            off += (o % p.kept_sizes[g]) * p.kept_strides[g];
            o /= p.kept_sizes[g];
        }
        return off;
    };
    // The innermost reduced group is walked directly; the outer reduced groups are listed once.
    const Shape outer_sizes(p.red_sizes.begin(), p.red_sizes.end() - 1);
    const Shape outer_strides(p.red_strides.begin(), p.red_strides.end() - 1);
    const std::vector<int64_t> row_offsets = offsets_in_order(outer_sizes, outer_strides);
    const int64_t rows = static_cast<int64_t>(row_offsets.size());
    const int64_t len = p.red_sizes.back(), step = p.red_strides.back();

    if (p.innermost_reduced) {  // rows: contiguous runs of `len` elements (step == 1)
        const int64_t blocks = (len + kReduceBlock - 1) / kReduceBlock;
        if (blocks == 1) {
            const int64_t grain = std::max<int64_t>(1, kParallelGrain / p.reduce_count);
            parallel_for(0, outs, grain, [&](int64_t lo, int64_t hi) {
                for (int64_t o = lo; o < hi; ++o) {
                    const T* base = x + base_of(o);
                    Acc acc = 0;
                    for (int64_t ro : row_offsets) acc += row_sum<Acc>(base + ro, len, [&](T v) { return f(v, o); });
                    out[o] = acc;
                }
            });
            return;
        }
        // Long rows: every (output, row, block) is a work unit; partial sums are then added in order.
        const int64_t per_out = rows * blocks;
        std::vector<Acc> partial(static_cast<size_t>(outs * per_out));
        parallel_for(0, outs * per_out, 1, [&](int64_t lo, int64_t hi) {
            for (int64_t u = lo; u < hi; ++u) {
                const int64_t o = u / per_out, r = (u % per_out) / blocks, b = u % blocks;
                const int64_t start = b * kReduceBlock, n = std::min(kReduceBlock, len - start);
                partial[u] = row_sum<Acc>(x + base_of(o) + row_offsets[r] + start, n, [&](T v) { return f(v, o); });
            }
        });
        for (int64_t o = 0; o < outs; ++o) {
            Acc acc = 0;
            for (int64_t k = 0; k < per_out; ++k) acc += partial[o * per_out + k];
            out[o] = acc;
        }
        return;
    }

    // Columns: the innermost kept group is contiguous in input and output; accumulate whole rows.
    const int64_t width = p.kept_sizes.back();
    const int64_t col_blocks = (width + kReduceColumnBlock - 1) / kReduceColumnBlock;
    const int64_t lines = outs / width;
    const int64_t work_per_item = p.reduce_count * std::min(width, kReduceColumnBlock);
    const int64_t grain = std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(1, work_per_item));
    parallel_for(0, lines * col_blocks, grain, [&](int64_t lo, int64_t hi) {
        Acc acc[kReduceColumnBlock];
        for (int64_t u = lo; u < hi; ++u) {
            const int64_t line = u / col_blocks, j0 = (u % col_blocks) * kReduceColumnBlock;
            const int64_t w = std::min(kReduceColumnBlock, width - j0);
            const int64_t o0 = line * width + j0;
            const T* base = x + base_of(o0);
            std::fill(acc, acc + w, Acc(0));
            for (int64_t ro : row_offsets)
                for (int64_t r = 0; r < len; ++r) {
                    const T* q = base + ro + r * step;
                    for (int64_t j = 0; j < w; ++j) acc[j] += f(q[j], o0 + j);
                }
            for (int64_t j = 0; j < w; ++j) out[o0 + j] = acc[j];
        }
    });
}

/// Run the sum kernel on any layout of x (a non-contiguous x is copied once).
template <class T, class F>
inline std::vector<reduction_acc_t<T>> reduce_sums(const Tensor<T>& x, const ReducePlan& p, F f) {
    SEAM_CHECK(x.device().is_cpu(), "reduction on ", x.device().str(), " needs the CUDA backend");
    const Tensor<T> xc = x.detach().contiguous();
    std::vector<reduction_acc_t<T>> out(static_cast<size_t>(p.out_numel));
    reduce_sum_kernel(xc.data(), p, out.data(), f);
    return out;
}

template <class T, class Acc>
inline Tensor<T> tensor_from_sums(const std::vector<Acc>& values, const Shape& shape, Acc scale) {
    Tensor<T> out = empty<T>(shape);
    T* o = out.data();
    for (size_t i = 0; i < values.size(); ++i) o[i] = static_cast<T>(values[i] * scale);
    return out;
}

/// out[i] = f(x[i], a[o(i)], b[o(i)]) where a and b have the reduced shape (1 in reduced dims or
/// fewer leading dims) and are broadcast back over x's shape: the common form of reduction backwards.
template <class T, class F>
inline Tensor<T> map_with_reduced(const Tensor<T>& x, const Tensor<T>& a, const Tensor<T>& b, F f) {
    const Shape& shape = x.shape();
    Tensor<T> out = empty<T>(shape);
    const Shape sa = broadcast_strides(a.shape(), a.strides(), shape);
    const Shape sb = broadcast_strides(b.shape(), b.strides(), shape);
    T* o = out.data();
    const T *px = x.data(), *pa = a.data(), *pb = b.data();
    for_each_row<4>(shape, {out.strides(), x.strides(), sa, sb},
                    [&](const std::array<int64_t, 4>& off, int64_t n, const std::array<int64_t, 4>& s) {
                        for (int64_t i = 0; i < n; ++i)
                            o[off[0] + i * s[0]] = f(px[off[1] + i * s[1]], pa[off[2] + i * s[2]], pb[off[3] + i * s[3]]);
                    });
    return out;
}

/// t's elements seen with `shape` (same count), recording nothing: for detached tensors and inside
/// backward closures, where a plain view is all that is needed (it also turns a 0-d gradient
/// into [1, 1, ...], which Tensor::view refused when this was written).
template <class T>
inline Tensor<T> reshaped_untracked(const Tensor<T>& t, const Shape& shape) {
    const Tensor<T> c = t.detach().contiguous();
    SEAM_CHECK(c.numel() == numel_of(shape), "reshape: ", shape_str(t.shape()), " cannot become ", shape_str(shape));
    return make_view(c, shape, contiguous_strides(shape), c.offset());
}

/// grad_in = scale * grad_out broadcast back over the reduced dims (the backward of sum and mean).
template <class T>
inline Tensor<T> spread_gradient(const Tensor<T>& grad_out, const ReducePlan& p, T scale) {
    const Tensor<T> g = reshaped_untracked(grad_out, p.keep_shape);
    Tensor<T> out = empty<T>(p.in_shape);
    const Shape sg = broadcast_strides(p.keep_shape, g.strides(), p.in_shape);
    T* o = out.data();
    const T* pg = g.data();
    for_each_row<2>(p.in_shape, {out.strides(), sg},
                    [&](const std::array<int64_t, 2>& off, int64_t n, const std::array<int64_t, 2>& s) {
                        for (int64_t i = 0; i < n; ++i) o[off[0] + i * s[0]] = scale * pg[off[1] + i * s[1]];
                    });
    return out;
}

/// A shape seen as [outer, n, inner] around dimension d (for reductions and softmax along one dim).
struct DimSplit {
    int64_t outer = 1, n = 1, inner = 1;
};
inline DimSplit split_at_dim(const Shape& shape, int64_t d) {
    DimSplit s;
    if (shape.empty()) return s;  // a scalar: one element along its one "dimension"
    for (int64_t i = 0; i < d; ++i) s.outer *= shape[i];
    s.n = shape[d];
    for (size_t i = static_cast<size_t>(d) + 1; i < shape.size(); ++i) s.inner *= shape[i];
    return s;
}
/// `shape` with dimension d set to `size` (keepdim) or removed; a scalar stays a scalar.
inline Shape replace_dim(const Shape& shape, int64_t d, int64_t size, bool keep) {
    if (shape.empty()) return shape;
    Shape out = shape;
    if (keep) out[d] = size;
    else out.erase(out.begin() + d);
    return out;
}

/// True when v should replace the current best: strictly better (ties keep the first index),
/// and NaN beats every number (the first NaN wins), as PyTorch's max/min propagate NaN.
template <bool Largest, class T>
inline bool beats(T v, T best) {
    if (std::isnan(best)) return false;
    if (std::isnan(v)) return true;
    return Largest ? v > best : v < best;
}

/// Index of the max (Largest) or min of p[0, n), n > 0, with beats()'s rules: the first NaN if
/// there is one, else the first occurrence of the extreme value. Two passes that vectorise beat
/// one branchy scan: 16 lanes find the extreme value (ignoring NaN) while Σ (v - v) flags a
/// possible NaN (it is NaN if any v is NaN or infinite); then a search finds the first index.
template <bool Largest, class T>
inline int64_t extreme_index(const T* p, int64_t n) {
    constexpr int64_t L = 16;
    T best[L], poison[L];
    for (int64_t l = 0; l < L; ++l) best[l] = p[0], poison[l] = T(0);
    int64_t i = 0;
    for (; i + L <= n; i += L)
#pragma omp simd  // without it GCC unrolls the 16 lanes into scalar max instructions
        for (int64_t l = 0; l < L; ++l) {
            const T v = p[i + l];
            best[l] = (Largest ? v > best[l] : v < best[l]) ? v : best[l];
            poison[l] += v - v;
        }
    for (; i < n; ++i) {
        const T v = p[i];
        best[0] = (Largest ? v > best[0] : v < best[0]) ? v : best[0];
        poison[0] += v - v;
    }
    T extreme = best[0], flag = poison[0];
    for (int64_t l = 1; l < L; ++l) {
        extreme = (Largest ? best[l] > extreme : best[l] < extreme) ? best[l] : extreme;
        flag += poison[l];
    }
    if (flag != flag)  // maybe a NaN (or only an infinity): the first NaN wins if there is one
        for (int64_t k = 0; k < n; ++k)
            if (p[k] != p[k]) return k;
    // The first occurrence of the extreme value, tested 16 at a time (an early-exit loop would not vectorise).
    int64_t k = 0;
    for (; k + L <= n; k += L) {
        int found = 0;  // an int |, not a bool ||: the latter stays scalar
#pragma omp simd reduction(| : found)
        for (int64_t l = 0; l < L; ++l) found |= p[k + l] == extreme;
        if (found) break;
    }
    for (; k < n; ++k)
        if (p[k] == extreme) return k;
    return 0;
}

/// Values and indices of the max (Largest) or min along the middle dim of a contiguous [outer, n, inner].
template <bool Largest, class T>
inline void extreme_kernel(const T* x, const DimSplit& s, T* values, int64_t* indices) {
    if (s.inner == 1) {
        parallel_for(0, s.outer, std::max<int64_t>(1, kParallelGrain / s.n), [&](int64_t lo, int64_t hi) {
            for (int64_t r = lo; r < hi; ++r) {
                const T* p = x + r * s.n;
                const int64_t at = extreme_index<Largest>(p, s.n);
                values[r] = p[at];
                indices[r] = at;
            }
        });
        return;
    }
    const int64_t col_blocks = (s.inner + kReduceColumnBlock - 1) / kReduceColumnBlock;
    const int64_t grain = std::max<int64_t>(1, kParallelGrain / (s.n * std::min(s.inner, kReduceColumnBlock)));
    parallel_for(0, s.outer * col_blocks, grain, [&](int64_t lo, int64_t hi) {
        for (int64_t u = lo; u < hi; ++u) {
            const int64_t line = u / col_blocks, j0 = (u % col_blocks) * kReduceColumnBlock;
            const int64_t w = std::min(kReduceColumnBlock, s.inner - j0);
            const T* p = x + line * s.n * s.inner + j0;
            T* val = values + line * s.inner + j0;
            int64_t* idx = indices + line * s.inner + j0;
            for (int64_t j = 0; j < w; ++j) val[j] = p[j], idx[j] = 0;
            for (int64_t i = 1; i < s.n; ++i) {
                const T* q = p + i * s.inner;
                for (int64_t j = 0; j < w; ++j) {  // beats(), written without branches so it vectorises
                    const T v = q[j], b = val[j];
                    const bool take = (Largest ? v > b : v < b) || (v != v && b == b);
                    val[j] = take ? v : b;
                    idx[j] = take ? i : idx[j];
                }
            }
        }
    });
}

/// grad_in[outer, index[outer, k, inner], inner] += grad[outer, k, inner]: the backward of every
/// op that selects elements along a dimension (max/min along a dim, topk).
template <class T>
inline Tensor<T> scatter_along(const Tensor<T>& grad, const Tensor<int64_t>& index, const Shape& in_shape,
                               const DimSplit& s) {
    Tensor<T> out = zeros<T>(in_shape);
    const Tensor<T> g = grad.contiguous();
    const int64_t k = s.outer * s.inner == 0 ? 0 : index.numel() / (s.outer * s.inner);
    T* o = out.data();
    const T* pg = g.data();
    const int64_t* pi = index.data();  // index tensors are created contiguous by the forward
    for (int64_t a = 0; a < s.outer; ++a)
        for (int64_t t = 0; t < k; ++t)
            for (int64_t j = 0; j < s.inner; ++j) {
                const int64_t e = (a * k + t) * s.inner + j;
                o[(a * s.n + pi[e]) * s.inner + j] += pg[e];
            }
    return out;
}

#if SEAM_WITH_CUDA
// ----- the CUDA path (kernels/seam/reduce.cuh through seam/cuda/api.hpp) ---------------------------
// sum/mean over any dims, and max/min/argmax/argmin along one dim, with their backward rules; the
// results and gradients stay on the input's device. The order of additions differs from the CPU
// fast path (float sums are carried in double on both), so results agree to rounding.

/// sum (or mean) of x over `dims` on its GPU. The reduced dimensions become one [outer, n, inner]
/// reduction: directly when they are neighbours in x (after size-1 dims are ignored), else after
/// one copy of x with the reduced dims moved last.
template <class T>
inline Tensor<T> cuda_sum_mean(const Tensor<T>& x, const std::vector<int64_t>& dims, bool keepdim, bool mean) {
    const char* op = mean ? "mean" : "sum";
    const ReducePlan p = plan_reduction(x.shape(), dims, op);
    const Device device = x.device();
    cuda::DeviceGuard guard(device.index);
    Tensor<T> out = empty<T>(keepdim ? p.keep_shape : p.out_shape, device);
    if (out.numel() > 0) {
        const int64_t rank = x.dim();
        std::vector<bool> reduced(static_cast<size_t>(rank), dims.empty());
        for (int64_t d : dims)
            if (rank > 0) reduced[wrap_dim(d, rank, op)] = true;
        int64_t first = -1, last = -1;  // the reduced dims that move (size > 1)
        bool neighbours = true;
        for (int64_t d = 0; d < rank; ++d) {
            if (x.size(d) == 1) continue;
            if (reduced[d]) {
                if (first < 0) first = d;
                last = d;
            } else if (first >= 0) {
                for (int64_t e = d + 1; e < rank; ++e) neighbours = neighbours && !(reduced[e] && x.size(e) != 1);
            }
        }
        Tensor<T> src = cuda_dense(x.detach());
        int64_t outer = p.out_numel, n = 1, inner = 1;
        if (first >= 0 && neighbours) {
            outer = 1, inner = 1;
            for (int64_t d = 0; d < first; ++d) outer *= x.size(d);
            for (int64_t d = last + 1; d < rank; ++d) inner *= x.size(d);
            n = p.reduce_count;
        } else if (first >= 0) {  // kept dims first, reduced dims last, then one dense copy
            std::vector<int64_t> order;
            for (int64_t d = 0; d < rank; ++d)
                if (!reduced[d]) order.push_back(d);
            for (int64_t d = 0; d < rank; ++d)
                if (reduced[d]) order.push_back(d);
            src = cuda_dense(src.permute(order));
            n = p.reduce_count;
        }
        cuda::sum_dim<T>(src.data(), outer, n, inner, out.data());
        if (mean)  // 0 elements: 0 · (1/0) = NaN, as on the CPU
            cuda::unary<T>(cuda::UnaryOp::mul_scalar, {1.0 / static_cast<double>(p.reduce_count)}, out.data(),
                           out.shape(), out.strides(), out.data());
    }
    if (needs_graph<T>({&x})) {
        record<T>(op, out, {&x}, [p, device, mean, op](const Tensor<T>& g) {
            SEAM_CHECK(g.device() == device, op, " backward: gradient on ", g.device().str(), ", input on ", device.str());
            cuda::DeviceGuard guard(device.index);
            Tensor<T> dx = empty<T>(p.in_shape, device);
            dx.copy_(reshaped_untracked(g, p.keep_shape));  // broadcast back over the reduced dims
            if (mean && dx.numel() > 0)
                cuda::unary<T>(cuda::UnaryOp::mul_scalar, {1.0 / static_cast<double>(p.reduce_count)}, dx.data(),
                               dx.shape(), dx.strides(), dx.data());
            return std::vector<Tensor<T>>{dx};
        });
    }
    return out;
}

/// max or min along one dim on the GPU: values and indices (the CPU's tie and NaN rules); the
/// backward scatters the gradient to the selected indices.
template <bool Largest, class T>
inline std::pair<Tensor<T>, Tensor<int64_t>> cuda_extreme_along(const Tensor<T>& x, int64_t dim, bool keepdim,
                                                                 const char* op) {
    const int64_t d = wrap_dim(dim, x.dim(), op);
    const DimSplit s = split_at_dim(x.shape(), d);
    SEAM_CHECK(s.n > 0, op, ": cannot reduce dimension ", dim, " of size 0 (input shape ", shape_str(x.shape()), ")");
    const Device device = x.device();
    cuda::DeviceGuard guard(device.index);
    const Shape out_shape = replace_dim(x.shape(), d, 1, keepdim);
    Tensor<T> values = empty<T>(out_shape, device);
    Tensor<int64_t> indices = empty<int64_t>(out_shape, device);
    const Tensor<T> xc = cuda_dense(x.detach());
    if (Largest) cuda::max_dim<T>(xc.data(), s.outer, s.n, s.inner, values.data(), indices.data());
    else cuda::min_dim<T>(xc.data(), s.outer, s.n, s.inner, values.data(), indices.data());
    if (needs_graph<T>({&x})) {
        const Shape in_shape = x.shape();
        record<T>(op, values, {&x}, [indices, in_shape, s, device, op](const Tensor<T>& g) {
            SEAM_CHECK(g.device() == device, op, " backward: gradient on ", g.device().str(), ", input on ", device.str());
            cuda::DeviceGuard guard(device.index);
            const Tensor<T> gc = cuda_dense(g.detach());
            Tensor<T> dx = empty<T>(in_shape, device);
            cuda::scatter_along<T>(gc.data(), indices.data(), dx.data(), s.outer, 1, s.n, s.inner);
            return std::vector<Tensor<T>>{dx};
        });
    }
    return {values, indices};
}

/// max or min over every element on the GPU: the value is the dim-0 reduction of the flattened
/// tensor (the CPU's rules: first in row-major order on ties, NaN propagates); the backward shares
/// the gradient evenly among the elements equal to the result (NaN counting as equal to a NaN
/// result), PyTorch's rule and the CPU op's, all on the device (no copy to the host).
template <bool Largest, class T>
inline Tensor<T> cuda_extreme_all(const Tensor<T>& x, const char* op) {
    SEAM_CHECK(x.numel() > 0, op, ": the input has no elements (shape ", shape_str(x.shape()),
               "); there is no maximum or minimum of nothing");
    const Device device = x.device();
    cuda::DeviceGuard guard(device.index);
    const Tensor<T> xc = cuda_dense(x.detach());
    Tensor<T> out = empty<T>({}, device);
    Tensor<int64_t> index = empty<int64_t>({}, device);
    if (Largest) cuda::max_dim<T>(xc.data(), 1, xc.numel(), 1, out.data(), index.data());
    else cuda::min_dim<T>(xc.data(), 1, xc.numel(), 1, out.data(), index.data());
    if (needs_graph<T>({&x})) {
        const Tensor<T> result = out.detach();
        record<T>(op, out, {&x}, [xc, result, device, op](const Tensor<T>& g) {
            SEAM_CHECK(g.device() == device, op, " backward: gradient on ", g.device().str(), ", input on ", device.str());
            cuda::DeviceGuard guard(device.index);
            const Shape shape = xc.shape(), dense = xc.strides(), scalar_strides(shape.size(), 0);
            const int64_t n = xc.numel();
            // tie = (x == r) || (x != x && r != r): the elements the result came from.
            Tensor<uint8_t> equal = empty<uint8_t>(shape, device), x_nan = empty<uint8_t>(shape, device);
            Tensor<uint8_t> r_nan = empty<uint8_t>({}, device), both_nan = empty<uint8_t>(shape, device);
            Tensor<uint8_t> tie = empty<uint8_t>(shape, device);
            cuda::compare<T>(cuda::CompareOp::eq, xc.data(), dense, result.data(), scalar_strides, shape, equal.data());
            cuda::compare<T>(cuda::CompareOp::ne, xc.data(), dense, xc.data(), dense, shape, x_nan.data());
            cuda::compare<T>(cuda::CompareOp::ne, result.data(), {}, result.data(), {}, {}, r_nan.data());
            cuda::compare<uint8_t>(cuda::CompareOp::logical_and, x_nan.data(), dense, r_nan.data(), scalar_strides, shape,
                                   both_nan.data());
            cuda::compare<uint8_t>(cuda::CompareOp::logical_or, equal.data(), dense, both_nan.data(), dense, shape,
                                   tie.data());
            // share = g / (number of ties); dx = tie ? share : 0.
            Tensor<T> one = empty<T>({}, device), zero = empty<T>({}, device);
            one.fill_(T(1)), zero.fill_(T(0));
            Tensor<T> counted = empty<T>(shape, device), ties = empty<T>({}, device);
            cuda::where<T>(tie.data(), dense, one.data(), scalar_strides, zero.data(), scalar_strides, shape, counted.data());
            cuda::sum_dim<T>(counted.data(), 1, n, 1, ties.data());
            const Tensor<T> share = div(cuda_dense(g.detach()), ties);
            Tensor<T> dx = empty<T>(shape, device);
            cuda::where<T>(tie.data(), dense, share.data(), scalar_strides, zero.data(), scalar_strides, shape, dx.data());
            return std::vector<Tensor<T>>{dx};
        });
    }
    return out;
}
#endif  // SEAM_WITH_CUDA

template <bool Largest, class T>
inline std::pair<Tensor<T>, Tensor<int64_t>> extreme_along(const Tensor<T>& x, int64_t dim, bool keepdim, const char* op) {
    static_assert(std::is_floating_point_v<T>, "reductions need float or double tensors");
#if SEAM_WITH_CUDA
    if (x.device().is_cuda()) return cuda_extreme_along<Largest>(x, dim, keepdim, op);
#endif
    SEAM_CHECK(x.device().is_cpu(), op, " on ", x.device().str(), " needs the CUDA backend");
    const int64_t d = wrap_dim(dim, x.dim(), op);
    const DimSplit s = split_at_dim(x.shape(), d);
    SEAM_CHECK(s.n > 0, op, ": cannot reduce dimension ", dim, " of size 0 (input shape ", shape_str(x.shape()), ")");
    const Shape out_shape = replace_dim(x.shape(), d, 1, keepdim);
    Tensor<T> values = empty<T>(out_shape);
    Tensor<int64_t> indices = empty<int64_t>(out_shape);
    const Tensor<T> xc = x.detach().contiguous();
    extreme_kernel<Largest>(xc.data(), s, values.data(), indices.data());
    const Shape in_shape = x.shape();
    record<T>(op, values, {&x}, [indices, in_shape, s](const Tensor<T>& g) {
        return std::vector<Tensor<T>>{scatter_along(g, indices, in_shape, s)};
    });
    return {values, indices};
}

/// max or min over every element (the first in row-major order wins a tie, NaN propagates).
template <bool Largest, class T>
inline Tensor<T> extreme_all(const Tensor<T>& x, const char* op) {
    static_assert(std::is_floating_point_v<T>, "reductions need float or double tensors");
#if SEAM_WITH_CUDA
    if (x.device().is_cuda()) return cuda_extreme_all<Largest>(x, op);
#endif
    SEAM_CHECK(x.device().is_cpu(), op, " on ", x.device().str(), " needs the CUDA backend");
    SEAM_CHECK(x.numel() > 0, op, ": the input has no elements (shape ", shape_str(x.shape()),
               "); there is no maximum or minimum of nothing");
    const Tensor<T> xc = x.detach().contiguous();
    const T* p = xc.data();
    const int64_t n = xc.numel();
    // Blocks of fixed size, scanned in parallel, then compared in block order: the same winner as
    // one sequential scan, whatever the thread count.
    const int64_t blocks = (n + kReduceBlock - 1) / kReduceBlock;
    std::vector<T> best(static_cast<size_t>(blocks));
    parallel_for(0, blocks, 1, [&](int64_t lo, int64_t hi) {
        for (int64_t b = lo; b < hi; ++b) {
            const int64_t start = b * kReduceBlock, len = std::min(n - start, kReduceBlock);
            best[b] = p[start + extreme_index<Largest>(p + start, len)];
        }
    });
    T result = best[0];
    for (int64_t b = 1; b < blocks; ++b)
        if (beats<Largest>(best[b], result)) result = best[b];
    Tensor<T> out = scalar<T>(result);
    if (needs_graph<T>({&x})) {
        const Tensor<T> xs = x.detach();
        record<T>(op, out, {&x}, [xs, result](const Tensor<T>& g) {
            // Share the gradient evenly among the elements equal to the result (PyTorch's rule).
            const std::vector<T> v = xs.to_vector();
            const int64_t ties = std::count_if(v.begin(), v.end(), [&](T e) { return e == result || (std::isnan(e) && std::isnan(result)); });
            const T share = g.item() / static_cast<T>(std::max<int64_t>(ties, 1));
            const Tensor<T> r = scalar<T>(result), sh = scalar<T>(share);
            return std::vector<Tensor<T>>{map_with_reduced(xs, r, sh, [](T e, T res, T w) {
                return (e == res || (std::isnan(e) && std::isnan(res))) ? w : T(0);
            })};
        });
    }
    return out;
}

}  // namespace detail

// ----- sum and mean --------------------------------------------------------------------------

/// Sum over `dims` (negative dims count from the end; an empty list reduces every dimension).
template <class T>
inline Tensor<T> sum(const Tensor<T>& x, const std::vector<int64_t>& dims, bool keepdim = false) {
    static_assert(std::is_floating_point_v<T>, "reductions need float or double tensors");
#if SEAM_WITH_CUDA
    if (x.device().is_cuda()) return detail::cuda_sum_mean(x, dims, keepdim, false);
#endif
    using Acc = detail::reduction_acc_t<T>;
    const detail::ReducePlan p = detail::plan_reduction(x.shape(), dims, "sum");
    const auto sums = detail::reduce_sums(x, p, [](T v, int64_t) { return static_cast<Acc>(v); });
    Tensor<T> out = detail::tensor_from_sums<T>(sums, keepdim ? p.keep_shape : p.out_shape, Acc(1));
    record<T>("sum", out, {&x}, [p](const Tensor<T>& g) { return std::vector<Tensor<T>>{detail::spread_gradient(g, p, T(1))}; });
    return out;
}
/// Sum of every element (a scalar).
template <class T>
inline Tensor<T> sum(const Tensor<T>& x) {
    return sum(x, std::vector<int64_t>{}, false);
}

/// Mean over `dims` (NaN where no element is reduced, as 0/0).
template <class T>
inline Tensor<T> mean(const Tensor<T>& x, const std::vector<int64_t>& dims, bool keepdim = false) {
    static_assert(std::is_floating_point_v<T>, "reductions need float or double tensors");
#if SEAM_WITH_CUDA
    if (x.device().is_cuda()) return detail::cuda_sum_mean(x, dims, keepdim, true);
#endif
    using Acc = detail::reduction_acc_t<T>;
    const detail::ReducePlan p = detail::plan_reduction(x.shape(), dims, "mean");
    const auto sums = detail::reduce_sums(x, p, [](T v, int64_t) { return static_cast<Acc>(v); });
    const Acc inv = Acc(1) / static_cast<Acc>(p.reduce_count);
    Tensor<T> out = detail::tensor_from_sums<T>(sums, keepdim ? p.keep_shape : p.out_shape, inv);
    record<T>("mean", out, {&x}, [p, inv](const Tensor<T>& g) {
        return std::vector<Tensor<T>>{detail::spread_gradient(g, p, static_cast<T>(inv))};
    });
    return out;
}
template <class T>
inline Tensor<T> mean(const Tensor<T>& x) {
    return mean(x, std::vector<int64_t>{}, false);
}

// ----- variance ------------------------------------------------------------------------------

/// Variance over `dims`, two-pass (mean first, then the mean square deviation from it: no
/// catastrophic cancellation of E[x²] - E[x]²). Divides by n-1 when unbiased, else by n.
template <class T>
inline Tensor<T> var(const Tensor<T>& x, const std::vector<int64_t>& dims, bool unbiased = true, bool keepdim = false) {
    static_assert(std::is_floating_point_v<T>, "reductions need float or double tensors");
    using Acc = detail::reduction_acc_t<T>;
    const detail::ReducePlan p = detail::plan_reduction(x.shape(), dims, "var");
#if SEAM_WITH_CUDA
    if (x.device().is_cuda()) {  // the same two passes from the device ops; autograd composes the rule
        const Tensor<T> deviation = x - mean(x, dims, /*keepdim=*/true);
        const double denom = static_cast<double>(p.reduce_count - (unbiased ? 1 : 0));
        return sum(square(deviation), dims, keepdim) * static_cast<T>(1.0 / denom);
    }
#endif
    std::vector<Acc> means = detail::reduce_sums(x, p, [](T v, int64_t) { return static_cast<Acc>(v); });
    for (Acc& m : means) m /= static_cast<Acc>(p.reduce_count);
    const auto squares = detail::reduce_sums(x, p, [&means](T v, int64_t o) {
        const Acc dev = static_cast<Acc>(v) - means[o];
        return dev * dev;
    });
    const Acc denom = static_cast<Acc>(p.reduce_count - (unbiased ? 1 : 0));
    Tensor<T> out = detail::tensor_from_sums<T>(squares, keepdim ? p.keep_shape : p.out_shape, Acc(1) / denom);
    if (needs_graph<T>({&x})) {
        const Tensor<T> xs = x.detach(), mean_t = detail::tensor_from_sums<T>(means, p.keep_shape, Acc(1));
        const T scale = static_cast<T>(Acc(2) / denom);
        record<T>("var", out, {&x}, [p, xs, mean_t, scale](const Tensor<T>& g) {
            // d var / d x_i = 2 (x_i - mean) / denom
            const Tensor<T> gk = detail::reshaped_untracked(g, p.keep_shape);
            return std::vector<Tensor<T>>{detail::map_with_reduced(xs, gk, mean_t, [scale](T v, T gv, T m) {
                return scale * gv * (v - m);
            })};
        });
    }
    return out;
}
/// Unbiased variance of every element.
template <class T>
inline Tensor<T> var(const Tensor<T>& x) {
    return var(x, std::vector<int64_t>{}, true, false);
}

// ----- max, min, argmax, argmin --------------------------------------------------------------

/// (values, indices) of the maximum along `dim`; ties give the lowest index.
template <class T>
inline std::pair<Tensor<T>, Tensor<int64_t>> max(const Tensor<T>& x, int64_t dim, bool keepdim = false) {
    return detail::extreme_along<true>(x, dim, keepdim, "max");
}
template <class T>
inline std::pair<Tensor<T>, Tensor<int64_t>> min(const Tensor<T>& x, int64_t dim, bool keepdim = false) {
    return detail::extreme_along<false>(x, dim, keepdim, "min");
}
/// The largest element (a scalar).
template <class T>
inline Tensor<T> max(const Tensor<T>& x) {
    return detail::extreme_all<true>(x, "max");
}
template <class T>
inline Tensor<T> min(const Tensor<T>& x) {
    return detail::extreme_all<false>(x, "min");
}
template <class T>
inline Tensor<int64_t> argmax(const Tensor<T>& x, int64_t dim, bool keepdim = false) {
    NoGradGuard no_grad;  // indices only: nothing to record
    return detail::extreme_along<true>(x, dim, keepdim, "argmax").second;
}
template <class T>
inline Tensor<int64_t> argmin(const Tensor<T>& x, int64_t dim, bool keepdim = false) {
    NoGradGuard no_grad;
    return detail::extreme_along<false>(x, dim, keepdim, "argmin").second;
}

// ----- topk ----------------------------------------------------------------------------------

/// The k largest (or smallest) elements along `dim` and their indices. Ties are ordered by index
/// (lower first), NaN counts as the largest value. With sorted=false the k chosen elements come
/// in increasing index order (deterministic, unlike PyTorch's unspecified order).
template <class T>
inline std::pair<Tensor<T>, Tensor<int64_t>> topk(const Tensor<T>& x, int64_t k, int64_t dim = -1, bool largest = true,
                                                  bool sorted = true) {
    static_assert(std::is_floating_point_v<T>, "topk needs float or double tensors");
    const int64_t d = wrap_dim(dim, x.dim(), "topk");
    const detail::DimSplit s = detail::split_at_dim(x.shape(), d);
    SEAM_CHECK(k >= 0 && k <= s.n, "topk: k = ", k, " is out of range for dimension ", dim, " of size ", s.n,
               " (input shape ", shape_str(x.shape()), ")");
    const Shape out_shape = detail::replace_dim(x.shape(), d, k, true);
#if SEAM_WITH_CUDA
    if (x.device().is_cuda()) {  // the same order and outputs from kernels/seam/reduce.cuh
        const Device device = x.device();
        cuda::DeviceGuard guard(device.index);
        Tensor<T> values = empty<T>(out_shape, device);
        Tensor<int64_t> indices = empty<int64_t>(out_shape, device);
        const Tensor<T> xc = detail::cuda_dense(x.detach());
        cuda::topk<T>(xc.data(), s.outer, s.n, s.inner, k, largest, sorted, values.data(), indices.data());
        if (needs_graph<T>({&x})) {
            const Shape in_shape = x.shape();
            record<T>("topk", values, {&x}, [indices, in_shape, s, k, device](const Tensor<T>& g) {
                SEAM_CHECK(g.device() == device, "topk backward: gradient on ", g.device().str(), ", input on ",
                           device.str());
                cuda::DeviceGuard guard(device.index);
                const Tensor<T> gc = detail::cuda_dense(g.detach());
                Tensor<T> dx = empty<T>(in_shape, device);
                cuda::scatter_along<T>(gc.data(), indices.data(), dx.data(), s.outer, k, s.n, s.inner);
                return std::vector<Tensor<T>>{dx};
            });
        }
        return {values, indices};
    }
#endif
    SEAM_CHECK(x.device().is_cpu(), "topk on ", x.device().str(), " needs the CUDA backend");
    Tensor<T> values = empty<T>(out_shape);
    Tensor<int64_t> indices = empty<int64_t>(out_shape);
    const Tensor<T> xc = x.detach().contiguous();
    const T* px = xc.data();
    T* pv = values.data();
    int64_t* pi = indices.data();
    const int64_t columns = s.outer * s.inner;
    parallel_for(0, columns, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(1, s.n * 8)), [&](int64_t lo, int64_t hi) {
        std::vector<int64_t> order(static_cast<size_t>(s.n));
        for (int64_t c = lo; c < hi; ++c) {
            const int64_t a = c / s.inner, j = c % s.inner;
            const T* col = px + a * s.n * s.inner + j;
            // A strict total order: NaN first (largest) or last (smallest), then by value, then by index.
            auto before = [&](int64_t u, int64_t v) {
                const T xu = col[u * s.inner], xv = col[v * s.inner];
                const bool nu = std::isnan(xu), nv = std::isnan(xv);
                if (nu != nv) return largest ? nu : nv;
                if (!nu && xu != xv) return largest ? xu > xv : xu < xv;
                return u < v;
            };
            std::iota(order.begin(), order.end(), int64_t(0));
            std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
            if (!sorted) std::sort(order.begin(), order.begin() + k);
            for (int64_t t = 0; t < k; ++t) {
                const int64_t e = (a * k + t) * s.inner + j;
                pv[e] = col[order[t] * s.inner];
                pi[e] = order[t];
            }
        }
    });
    const Shape in_shape = x.shape();
    record<T>("topk", values, {&x}, [indices, in_shape, s](const Tensor<T>& g) {
        return std::vector<Tensor<T>>{detail::scatter_along(g, indices, in_shape, s)};
    });
    return {values, indices};
}

// ----- vector norm ---------------------------------------------------------------------------

#if SEAM_WITH_CUDA
namespace detail {
/// vector_norm of a GPU tensor: the forward composed from the device ops (sums carried in double)
/// without a graph, and the CPU op's backward rule, also composed on the device. Where a norm is 0
/// every element of its vector is 0, so dividing by max(norm, smallest normal) gives the CPU's 0
/// there without a branch.
template <class T>
inline Tensor<T> cuda_vector_norm(const Tensor<T>& x, T p, int64_t dim, bool keepdim) {
    SEAM_CHECK(x.dim() >= 1, "vector_norm: the input must have at least one dimension, got a scalar");
    const int64_t d = wrap_dim(dim, x.dim(), "vector_norm");
    const bool two = p == T(2);
    Tensor<T> norm_keep;  // [.., 1, ..]: the norm with the reduced dimension kept
    {
        NoGradGuard no_grad;
        const Tensor<T> xs = x.detach();
        norm_keep = two ? sqrt(sum(square(xs), {d}, true)) : pow(sum(pow(abs(xs), p), {d}, true), T(1) / p);
    }
    Tensor<T> out = keepdim ? norm_keep : norm_keep.detach().squeeze(d);
    if (needs_graph<T>({&x})) {
        const Tensor<T> xs = x.detach(), nk = norm_keep.detach();
        record<T>("vector_norm", out, {&x}, [xs, nk, p, two](const Tensor<T>& g) {
            const T tiny = std::numeric_limits<T>::min(), inf = std::numeric_limits<T>::infinity();
            const Tensor<T> gk = g.detach().reshape(nk.shape());
            const Tensor<T> safe_norm = clamp(nk, tiny, inf);
            if (two) return std::vector<Tensor<T>>{gk * xs / safe_norm};
            const Tensor<T> sign = xs / clamp(abs(xs), tiny, inf);  // -1, 0 or 1
            return std::vector<Tensor<T>>{gk * sign * pow(abs(xs), p - T(1)) / pow(safe_norm, p - T(1))};
        });
    }
    return out;
}
}  // namespace detail
#endif  // SEAM_WITH_CUDA

/// (Σ |x|^p)^(1/p) along `dim`, p > 0 and finite (p = 2 is the Euclidean length). The gradient
/// x |x|^(p-2) / norm^(p-1) is taken as 0 where the norm is 0 (PyTorch's subgradient).
template <class T>
inline Tensor<T> vector_norm(const Tensor<T>& x, T p, int64_t dim, bool keepdim = false) {
    static_assert(std::is_floating_point_v<T>, "vector_norm needs float or double tensors");
    using Acc = detail::reduction_acc_t<T>;
    SEAM_CHECK(p > T(0) && std::isfinite(p), "vector_norm: the order p must be positive and finite, got ", p);
#if SEAM_WITH_CUDA
    if (x.device().is_cuda()) return detail::cuda_vector_norm(x, p, dim, keepdim);
#endif
    const detail::ReducePlan plan = detail::plan_reduction(x.shape(), {dim}, "vector_norm");
    const bool two = p == T(2);
    const Acc pa = static_cast<Acc>(p);
    const auto sums = detail::reduce_sums(x, plan, [two, pa](T v, int64_t) {
        const Acc a = static_cast<Acc>(v);
        return two ? a * a : std::pow(std::abs(a), pa);
    });
    Tensor<T> out = empty<T>(keepdim ? plan.keep_shape : plan.out_shape);
    for (size_t i = 0; i < sums.size(); ++i)
        out.data()[i] = static_cast<T>(two ? std::sqrt(sums[i]) : std::pow(sums[i], Acc(1) / pa));
    if (needs_graph<T>({&x})) {
        const Tensor<T> xs = x.detach(), norm_t = detail::reshaped_untracked(out, plan.keep_shape);
        record<T>("vector_norm", out, {&x}, [plan, xs, norm_t, p, two](const Tensor<T>& g) {
            const Tensor<T> gk = detail::reshaped_untracked(g, plan.keep_shape);
            return std::vector<Tensor<T>>{detail::map_with_reduced(xs, gk, norm_t, [p, two](T v, T gv, T nrm) {
                if (nrm == T(0)) return T(0);
                if (two) return gv * v / nrm;
                const T sign = v > T(0) ? T(1) : (v < T(0) ? T(-1) : T(0));
                return gv * sign * std::pow(std::abs(v), p - T(1)) / std::pow(nrm, p - T(1));
            })};
        });
    }
    return out;
}

}  // namespace seam
