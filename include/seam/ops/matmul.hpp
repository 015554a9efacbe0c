// seam/ops/matmul.hpp — matrix products: matmul (torch.matmul semantics) and linear, with backward.
//
// matmul(a, b):
//   1-D · 1-D  -> the dot product (a 0-d tensor)
//   2-D · 2-D  -> the matrix product
//   1-D · N-D  -> a is treated as a row [1, K] and that dimension is removed again; N-D · 1-D likewise
//                 with b as a column [K, 1]
//   N-D · N-D  -> a batch of matrix products over the leading dimensions, which broadcast
//                 ([2, 1, M, K] · [3, K, N] -> [2, 3, M, N]).
// linear(x[..., in], w[out, in], bias[out] or an undefined tensor) = x · wᵀ + bias.
//
// Fast path: cpu/gemm.hpp. Operands are passed to the GEMM through their strides whenever the last two
// dimensions are row-major or column-major (a transposed view costs nothing); broadcast batch dimensions
// are read through stride 0 rather than copied. Threads split the batch, or the columns (rows) of one
// product, outside the single-threaded GEMM (perf-anchors §A.2). The oracle is cpu/reference/matmul.hpp.
//
// Backward: dA = dC · Bᵀ and dB = Aᵀ · dC, reduced with sum_to over broadcast batch dimensions. When b
// is a plain matrix shared by a whole batch (the usual "linear on a sequence" case), dB is one GEMM over
// the folded batch instead of a batch of products that would then be summed.
//
// CUDA tensors (builds with SEAM_WITH_CUDA): every product goes to cuBLAS (one strided-batched
// GEMM per call, operands read through their strides when the batch has one uniform stride, else
// copied once), forward and backward, gradients on the device. fp32 unless the user calls
// cuda::set_allow_tf32(true).
#pragma once

#include <vector>

#include "seam/core/tensor.hpp"
#include "seam/cpu/gemm.hpp"
#include "seam/ops/view.hpp"
#if SEAM_WITH_CUDA
#include "seam/ops/elementwise.hpp"  // detail::cuda_dense, detail::cuda_sum_to
#endif

namespace seam {

namespace detail {

/// How the GEMM reads the trailing [rows, cols] matrix of an operand from its strides.
struct GemmOperand {
    bool usable = false;  // false: the strides fit neither layout and the operand must be copied
    bool trans = false;   // stored as a [cols, rows] row-major matrix
    int64_t ld = 0;
};

inline GemmOperand gemm_operand(int64_t rows, int64_t cols, int64_t row_stride, int64_t col_stride) {
    // A dimension of size 1 never moves, so its stride may be anything: pick the one that fits.
    if (cols == 1) col_stride = 1;
    if (rows == 1) row_stride = cols;
    if (col_stride == 1 && row_stride >= cols) return {true, false, row_stride};
    int64_t rs = row_stride, cs = col_stride;
    if (rows == 1) rs = 1;
    if (cols == 1) cs = rows;
    if (rs == 1 && cs >= rows) return {true, true, cs};
    return {};
}

inline GemmOperand gemm_operand_of(const Shape& shape, const Shape& strides) {
    const size_t r = shape.size();
    return gemm_operand(shape[r - 2], shape[r - 1], strides[r - 2], strides[r - 1]);
}

#if SEAM_WITH_CUDA
/// True when the batch offsets through `strides` are i · stride for the row-major batch index i
/// (dense, or all broadcast with stride 0): then one strided-batched GEMM reads the operand as is.
inline bool uniform_batch_stride(const Shape& batch, const Shape& strides, int64_t& stride) {
    stride = 0;
    bool started = false;
    int64_t expected = 0;
    for (size_t d = batch.size(); d-- > 0;) {
        if (batch[d] == 1) continue;
        if (!started) {
            stride = strides[d];
            started = true;
        } else if (strides[d] != expected) {
            return false;
        }
        expected = strides[d] * batch[d];
    }
    return true;
}

/// batched_matmul on the GPU through cuBLAS (no autograd; result contiguous).
template <class T>
inline Tensor<T> cuda_batched_matmul(Tensor<T> a, Tensor<T> b) {
    const Device device = a.device();
    SEAM_CHECK(b.device() == device, "matmul: tensors on different devices (", device.str(), " and ", b.device().str(),
               "); move them to one device with .to(...)");
    const int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
    const Shape batch_a(a.shape().begin(), a.shape().end() - 2), batch_b(b.shape().begin(), b.shape().end() - 2);
    const Shape batch = broadcast_shapes(batch_a, batch_b, "matmul");
    Shape out_shape = batch;
    out_shape.push_back(M);
    out_shape.push_back(N);
    cuda::DeviceGuard guard(device.index);
    Tensor<T> out = empty<T>(out_shape, device);
    if (out.numel() == 0) return out;
    if (K == 0) return out.fill_(T(0));
    // Each operand: its matrix layout and one batch stride, or a dense copy expanded to the batch.
    auto prepare = [&](Tensor<T>& t, const Shape& t_batch, int64_t rows, int64_t cols, GemmOperand& layout,
                       int64_t& batch_stride) {
        layout = gemm_operand_of(t.shape(), t.strides());
        const Shape own(t.strides().begin(), t.strides().end() - 2);
        const bool uniform = uniform_batch_stride(batch, broadcast_strides(t_batch, own, batch), batch_stride);
        if (layout.usable && uniform) return;
        Shape full = batch;
        full.push_back(rows);
        full.push_back(cols);
        Tensor<T> dense = empty<T>(full, device);
        dense.copy_(t);  // broadcasts the batch
        t = dense;
        layout = gemm_operand_of(t.shape(), t.strides());
        batch_stride = numel_of(batch) > 1 ? rows * cols : 0;
    };
    GemmOperand la, lb;
    int64_t sa = 0, sb = 0;
    prepare(a, batch_a, M, K, la, sa);
    prepare(b, batch_b, K, N, lb, sb);
    cuda::gemm_strided_batched<T>(la.trans, lb.trans, M, N, K, T(1), a.data(), la.ld, sa, b.data(), lb.ld, sb, T(0),
                                  out.data(), N, M * N, numel_of(batch));
    return out;
}

/// matmul_matrices on the GPU: the same backward rules, gradients reduced on the device.
template <class T>
inline Tensor<T> cuda_matmul_matrices(const Tensor<T>& a, const Tensor<T>& b) {
    Tensor<T> out = cuda_batched_matmul(a.detach(), b.detach());
    if (needs_graph<T>({&a, &b})) {
        const Tensor<T> as = a.detach(), bs = b.detach();
        const bool ga = a.requires_grad(), gb = b.requires_grad();
        record<T>("matmul", out, {&a, &b}, [as, bs, ga, gb](const Tensor<T>& g) {
            SEAM_CHECK(g.device() == as.device(), "matmul backward: gradient on ", g.device().str(), ", inputs on ",
                       as.device().str());
            Tensor<T> grad_a, grad_b;
            if (ga) grad_a = cuda_sum_to(cuda_batched_matmul(g.detach(), bs.transpose(-1, -2)), as.shape());
            if (gb) grad_b = cuda_sum_to(cuda_batched_matmul(as.transpose(-1, -2), g.detach()), bs.shape());
            return std::vector<Tensor<T>>{grad_a, grad_b};
        });
    }
    return out;
}

/// linear on the GPU: y = x · wᵀ (+ bias copied into y first, GEMM with beta = 1); backward dX =
/// dY · w, dW = dYᵀ · x (cuBLAS) and db = the column sums of dY (cuda::sum_dim).
template <class T>
inline Tensor<T> cuda_linear(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias) {
    const Device device = x.device();
    SEAM_CHECK(w.device() == device && (!bias.defined() || bias.device() == device),
               "linear: tensors on different devices (input on ", device.str(), ", weight on ", w.device().str(),
               bias.defined() ? ", bias on " + bias.device().str() : std::string(), "); move them to one device with .to(...)");
    const int64_t in = w.size(1), out_features = w.size(0);
    cuda::DeviceGuard guard(device.index);
    const Tensor<T> xc = cuda_dense(x.detach());
    Tensor<T> wd = w.detach();
    GemmOperand lw = gemm_operand(out_features, in, wd.stride(0), wd.stride(1));
    if (!lw.usable) {
        wd = cuda_dense(wd);
        lw = gemm_operand(out_features, in, wd.stride(0), wd.stride(1));
    }
    const int64_t rows = numel_of(Shape(x.shape().begin(), x.shape().end() - 1));
    Shape out_shape(x.shape().begin(), x.shape().end() - 1);
    out_shape.push_back(out_features);
    Tensor<T> y = empty<T>(out_shape, device);
    if (y.numel() > 0) {
        if (bias.defined()) y.copy_(bias.detach());  // broadcast over the rows
        if (in == 0) {
            if (!bias.defined()) y.fill_(T(0));
        } else {
            cuda::gemm<T>(false, !lw.trans, rows, out_features, in, T(1), xc.data(), in, wd.data(), lw.ld,
                          bias.defined() ? T(1) : T(0), y.data(), out_features);
        }
    }
    if (needs_graph<T>({&x, &w, &bias})) {
        const bool gx = x.requires_grad(), gw = w.requires_grad(), gb = bias.defined() && bias.requires_grad();
        const Tensor<T> xs = gw ? xc : Tensor<T>(), ws = gx ? wd : Tensor<T>();
        const Shape x_shape = x.shape();
        record<T>("linear", y, {&x, &w, &bias},
                  [xs, ws, lw, x_shape, gx, gw, gb, rows, in, out_features, device](const Tensor<T>& g) {
                      SEAM_CHECK(g.device() == device, "linear backward: gradient on ", g.device().str(), ", inputs on ",
                                 device.str());
                      cuda::DeviceGuard guard(device.index);
                      const Tensor<T> gc = cuda_dense(g.detach());
                      Tensor<T> grad_x, grad_w, grad_b;
                      if (gx) {  // dX = dY · w
                          grad_x = empty<T>(x_shape, device);
                          if (out_features == 0) grad_x.fill_(T(0));
                          else if (rows * in > 0)
                              cuda::gemm<T>(false, lw.trans, rows, in, out_features, T(1), gc.data(), out_features,
                                            ws.data(), lw.ld, T(0), grad_x.data(), in);
                      }
                      if (gw) {  // dW = dYᵀ · x
                          grad_w = empty<T>({out_features, in}, device);
                          if (rows == 0) grad_w.fill_(T(0));
                          else if (out_features * in > 0)
                              cuda::gemm<T>(true, false, out_features, in, rows, T(1), gc.data(), out_features, xs.data(),
                                            in, T(0), grad_w.data(), in);
                      }
                      if (gb) {  // column sums of dY [rows, out_features]
                          grad_b = empty<T>({out_features}, device);
                          cuda::sum_dim<T>(gc.data(), 1, rows, out_features, grad_b.data());
                      }
                      return std::vector<Tensor<T>>{grad_x, grad_w, grad_b};
                  });
    }
    return y;
}
#endif  // SEAM_WITH_CUDA

/// a[..., M, K] · b[..., K, N] with broadcast batch dimensions, no autograd. Result is contiguous.
template <class T>
inline Tensor<T> batched_matmul(Tensor<T> a, Tensor<T> b) {
#if SEAM_WITH_CUDA
    if (a.device().is_cuda() || b.device().is_cuda()) return cuda_batched_matmul(std::move(a), std::move(b));
#endif
    SEAM_CHECK(a.device().is_cpu() && b.device().is_cpu(), "matmul: tensors on ", a.device().str(),
               " need the CUDA backend");
    const int64_t ra = a.dim(), rb = b.dim();
    const int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
    Shape batch_a(a.shape().begin(), a.shape().end() - 2), batch_b(b.shape().begin(), b.shape().end() - 2);
    Shape batch = broadcast_shapes(batch_a, batch_b, "matmul");
    Shape out_shape = batch;
    out_shape.push_back(M);
    out_shape.push_back(N);
    Tensor<T> out = empty<T>(out_shape);
    const int64_t B = numel_of(batch);
    if (out.numel() == 0) return out;
    if (K == 0) return out.fill_(T(0));

    GemmOperand la = gemm_operand_of(a.shape(), a.strides());
    if (!la.usable) {
        a = a.contiguous();
        la = gemm_operand_of(a.shape(), a.strides());
    }
    GemmOperand lb = gemm_operand_of(b.shape(), b.strides());
    if (!lb.usable) {
        b = b.contiguous();
        lb = gemm_operand_of(b.shape(), b.strides());
    }
    Shape sa = broadcast_strides(batch_a, Shape(a.strides().begin(), a.strides().begin() + (ra - 2)), batch);
    Shape sb = broadcast_strides(batch_b, Shape(b.strides().begin(), b.strides().begin() + (rb - 2)), batch);
    const T* pa = a.data();
    const T* pb = b.data();
    T* pc = out.data();

    // One shared matrix b and a batch of row-major a stacked densely: fold the batch into M.
    bool b_shared = true;
    for (int64_t s : sb) b_shared = b_shared && s == 0;
    if (B > 1 && b_shared && !la.trans && a.is_contiguous() && numel_of(batch_a) == B) {
        cpu::parallel_gemm<T>(false, lb.trans, B * M, N, K, T(1), pa, K, pb, lb.ld, T(0), pc, N);
        return out;
    }

    std::vector<int64_t> off_a(static_cast<size_t>(B)), off_b(static_cast<size_t>(B));
    for (int64_t i = 0; i < B; ++i) {
        int64_t rest = i, oa = 0, ob = 0;
        for (int64_t d = static_cast<int64_t>(batch.size()) - 1; d >= 0; --d) {
            const int64_t idx = rest % batch[d];
            rest /= batch[d];
            oa += idx * sa[d];
            ob += idx * sb[d];
        }
        off_a[i] = oa;
        off_b[i] = ob;
    }
    // Tasks: every batch item, each cut into `split.blocks` pieces when the batch alone cannot feed
    // every thread.
    const int64_t threads = in_parallel_region() ? 1 : num_threads();
    const int64_t per_item = B >= threads ? 1 : (threads + B - 1) / B;
    const cpu::GemmSplit split = cpu::plan_gemm_split(M, N, K, per_item);
    const int64_t tasks = B * split.blocks;
    const bool serial = static_cast<double>(B) * M * N * K < static_cast<double>(cpu::kParallelGemmWork);
    parallel_for(0, tasks, serial ? tasks : 1, [&](int64_t lo, int64_t hi) {
        for (int64_t t = lo; t < hi; ++t) {
            const int64_t i = t / split.blocks, block = t % split.blocks;
            cpu::gemm_block<T>(split, block, la.trans, lb.trans, M, N, K, T(1), pa + off_a[i], la.ld, pb + off_b[i],
                               lb.ld, T(0), pc + i * M * N, N);
        }
    });
    return out;
}

/// The differentiable core of matmul for operands of rank >= 2.
template <class T>
inline Tensor<T> matmul_matrices(const Tensor<T>& a, const Tensor<T>& b) {
#if SEAM_WITH_CUDA
    if (a.device().is_cuda() || b.device().is_cuda()) return cuda_matmul_matrices(a, b);
#endif
    Tensor<T> out = batched_matmul(a.detach(), b.detach());
    if (needs_graph<T>({&a, &b})) {
        Tensor<T> as = a.detach(), bs = b.detach();
        const bool ga = a.requires_grad(), gb = b.requires_grad();
        record<T>("matmul", out, {&a, &b}, [as, bs, ga, gb](const Tensor<T>& g) {
            Tensor<T> grad_a, grad_b;
            if (ga) grad_a = sum_to(batched_matmul(g, bs.transpose(-1, -2)), as.shape());
            if (gb) {
                if (bs.dim() == 2 && as.dim() > 2) {
                    // b is shared by the whole batch (whose shape is then a's own batch shape):
                    // dB = A_foldedᵀ · dC_folded, one GEMM of depth B*M instead of B products to sum.
                    const int64_t K = as.size(-1), N = bs.size(-1);
                    Tensor<T> a2 = as.contiguous().reshape({-1, K});
                    Tensor<T> g2 = g.contiguous().reshape({-1, N});
                    grad_b = batched_matmul(a2.transpose(0, 1), g2);
                } else {
                    grad_b = sum_to(batched_matmul(as.transpose(-1, -2), g), bs.shape());
                }
            }
            return std::vector<Tensor<T>>{grad_a, grad_b};
        });
    }
    return out;
}

/// The dot product of two vectors as a 0-d tensor (its own op: the 1-D · 1-D case of matmul).
template <class T>
inline Tensor<T> dot(const Tensor<T>& a, const Tensor<T>& b) {
    const int64_t n = a.size(0);
    Tensor<T> ac = a.detach().contiguous(), bc = b.detach().contiguous();
    const T* pa = ac.data();
    const T* pb = bc.data();
    T acc = 0;
    for (int64_t i = 0; i < n; ++i) acc += pa[i] * pb[i];
    Tensor<T> out = scalar<T>(acc);
    if (needs_graph<T>({&a, &b})) {
        const bool ga = a.requires_grad(), gb = b.requires_grad();
        record<T>("dot", out, {&a, &b}, [ac, bc, ga, gb](const Tensor<T>& g) {
            const T s = g.item();
            auto scaled = [s](const Tensor<T>& v) {
                Tensor<T> r = empty<T>(v.shape());
                for (int64_t i = 0; i < v.numel(); ++i) r.data()[i] = s * v.data()[i];
                return r;
            };
            return std::vector<Tensor<T>>{ga ? scaled(bc) : Tensor<T>(), gb ? scaled(ac) : Tensor<T>()};
        });
    }
    return out;
}

}  // namespace detail

/// torch.matmul: see the header comment for the rules on 1-D operands and batch broadcasting.
template <class T>
inline Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b) {
    static_assert(std::is_floating_point_v<T>, "matmul needs float or double tensors");
    SEAM_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: both arguments need at least one dimension, got shapes ",
               shape_str(a.shape()), " and ", shape_str(b.shape()));
    const int64_t ka = a.size(-1), kb = b.dim() == 1 ? b.size(0) : b.size(-2);
    SEAM_CHECK(ka == kb, "matmul: shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()),
               " cannot be multiplied (", ka, " columns vs ", kb, " rows)");
    if (a.dim() > 2 || b.dim() > 2) {
        // batch dimensions (all but the last two; a 1-D operand has none) must broadcast
        const int64_t ba = std::max<int64_t>(0, a.dim() - 2), bb = std::max<int64_t>(0, b.dim() - 2);
        for (int64_t i = 1; i <= std::min(ba, bb); ++i) {
            const int64_t da = a.shape()[ba - i], db = b.shape()[bb - i];
            SEAM_CHECK(da == db || da == 1 || db == 1, "matmul: batch dimensions of ", shape_str(a.shape()), " and ",
                       shape_str(b.shape()), " cannot be broadcast (", da, " vs ", db, ")");
        }
    }
#if SEAM_WITH_CUDA
    if (a.dim() == 1 && b.dim() == 1 && (a.device().is_cuda() || b.device().is_cuda()))  // [1, K] · [K, 1] -> 0-d
        return detail::matmul_matrices(a.unsqueeze(0), b.unsqueeze(1)).reshape(Shape{});
#endif
    if (a.dim() == 1 && b.dim() == 1) return detail::dot(a, b);
    if (a.dim() == 1) return detail::matmul_matrices(a.unsqueeze(0), b).squeeze(-2);
    if (b.dim() == 1) return detail::matmul_matrices(a, b.unsqueeze(1)).squeeze(-1);
    return detail::matmul_matrices(a, b);
}

/// y = x · wᵀ + bias for x[..., in], w[out, in], bias[out] (pass Tensor<T>() for none).
template <class T>
inline Tensor<T> linear(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias = Tensor<T>()) {
    static_assert(std::is_floating_point_v<T>, "linear needs float or double tensors");
    SEAM_CHECK(w.dim() == 2, "linear: weight must be 2-D [out_features, in_features], got shape ", shape_str(w.shape()));
    SEAM_CHECK(x.dim() >= 1, "linear: input must have at least one dimension, got shape ", shape_str(x.shape()));
    const int64_t in = w.size(1), out_features = w.size(0);
    SEAM_CHECK(x.size(-1) == in, "linear: input of shape ", shape_str(x.shape()), " has ", x.size(-1),
               " features but weight of shape ", shape_str(w.shape()), " expects ", in);
    if (bias.defined())
        SEAM_CHECK(bias.dim() == 1 && bias.size(0) == out_features, "linear: bias of shape ", shape_str(bias.shape()),
                   " does not match weight of shape ", shape_str(w.shape()), " (expected [", out_features, "])");
#if SEAM_WITH_CUDA
    if (x.device().is_cuda() || w.device().is_cuda() || (bias.defined() && bias.device().is_cuda()))
        return detail::cuda_linear(x, w, bias);
#endif
    SEAM_CHECK(x.device().is_cpu() && w.device().is_cpu(), "linear: tensors on ", x.device().str(),
               " need the CUDA backend");

    Tensor<T> xc = x.detach().contiguous(), wd = w.detach();
    detail::GemmOperand lw = detail::gemm_operand(out_features, in, wd.stride(0), wd.stride(1));
    if (!lw.usable) {
        wd = wd.contiguous();
        lw = detail::gemm_operand(out_features, in, wd.stride(0), wd.stride(1));
    }
    const int64_t rows = in == 0 ? numel_of(Shape(x.shape().begin(), x.shape().end() - 1)) : xc.numel() / in;
    Shape out_shape(x.shape().begin(), x.shape().end() - 1);
    out_shape.push_back(out_features);
    Tensor<T> y = empty<T>(out_shape);
    T* py = y.data();
    if (bias.defined()) {
        Tensor<T> bc = bias.detach().contiguous();
        const T* pb = bc.data();
        for (int64_t r = 0; r < rows; ++r) std::copy(pb, pb + out_features, py + r * out_features);
    }
    // y = x · wᵀ: op(B) = wᵀ, which is w read with the opposite transpose flag.
    cpu::parallel_gemm<T>(false, !lw.trans, rows, out_features, in, T(1), xc.data(), in, wd.data(), lw.ld,
                          bias.defined() ? T(1) : T(0), py, out_features);

    if (needs_graph<T>({&x, &w, &bias})) {
        const bool gx = x.requires_grad(), gw = w.requires_grad(), gb = bias.defined() && bias.requires_grad();
        Tensor<T> xs = gw ? xc : Tensor<T>(), ws = gx ? wd : Tensor<T>();
        Shape x_shape = x.shape();
        record<T>("linear", y, {&x, &w, &bias}, [xs, ws, lw, x_shape, gx, gw, gb, rows, in, out_features](const Tensor<T>& g) {
            Tensor<T> gc = g.contiguous();
            Tensor<T> grad_x, grad_w, grad_b;
            if (gx) {  // dX = dY · w
                grad_x = empty<T>(x_shape);
                cpu::parallel_gemm<T>(false, lw.trans, rows, in, out_features, T(1), gc.data(), out_features, ws.data(),
                                      lw.ld, T(0), grad_x.data(), in);
            }
            if (gw) {  // dW = dYᵀ · x
                grad_w = empty<T>({out_features, in});
                cpu::parallel_gemm<T>(true, false, out_features, in, rows, T(1), gc.data(), out_features, xs.data(), in,
                                      T(0), grad_w.data(), in);
            }
            if (gb) {  // column sums of dY, rows added in order
                grad_b = zeros<T>({out_features});
                T* pgb = grad_b.data();
                const T* pg = gc.data();
                parallel_for(0, out_features, 256, [&](int64_t lo, int64_t hi) {
                    for (int64_t r = 0; r < rows; ++r)
                        for (int64_t o = lo; o < hi; ++o) pgb[o] += pg[r * out_features + o];
                });
            }
            return std::vector<Tensor<T>>{grad_x, grad_w, grad_b};
        });
    }
    return y;
}

}  // namespace seam
