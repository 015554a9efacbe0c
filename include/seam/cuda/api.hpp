// seam/cuda/api.hpp — the compute entry points of the CUDA backend, as plain C++ declarations.
//
// This is what the ops of include/seam/ops/ call when a tensor lives on a GPU:
//
//     if (x.device().is_cuda()) { cuda::DeviceGuard guard(x.device().index); cuda::unary(...); }
//
// Every function takes raw device pointers plus shapes and element strides (seam::Shape, row-major,
// strides in elements; a broadcast dimension has stride 0), runs on the current stream of the
// current device and returns without waiting for the GPU. Outputs named `out` are contiguous
// unless strides are given for them. Definitions: src/cuda/seam_cuda.cu (the kernels are in
// kernels/seam/*.cuh), instantiated for the element types listed at each function; another type
// is a link error. The runtime (devices, allocator, streams, copies) is in seam/cuda/runtime.hpp.
//
// Shapes may have up to kMaxDims = 8 dimensions after neighbouring dimensions that are laid out
// contiguously in every operand have been merged (so [N, C, H, W] + [1, C, 1, 1] is rank 3).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "seam/core/shape.hpp"
#include "seam/cuda/runtime.hpp"

namespace seam::cuda {

inline constexpr int kMaxDims = 8;

// ----- elementwise (the op list of include/seam/ops/elementwise.hpp) ----------------------------

enum class UnaryOp {
    neg, abs, exp, log, sqrt, square, relu, sigmoid, tanh, gelu,
    add_scalar,  // x + a
    mul_scalar,  // x · a
    pow_scalar,  // x ** a
    clamp,       // clamp(x, a, b)
    leaky_relu,  // slope a
    elu,         // alpha a
};
/// The scalar arguments of the parameterised unary ops (see UnaryOp); ignored by the others.
struct UnaryParams {
    double a = 0;
    double b = 0;
};
enum class BinaryOp { add, sub, mul, div, maximum, minimum, pow };

const char* op_name(UnaryOp op);
const char* op_name(BinaryOp op);

/// out[i] = f(x[i]) over `shape`; x read through x_strides, out contiguous. T: float, double.
template <class T>
void unary(UnaryOp op, UnaryParams params, const T* x, const Shape& shape, const Shape& x_strides, T* out);

/// The fused unary backward: grad_x[i] = grad[i] · f'(x[i], y[i]) where y = f(x), the same rule as
/// the CPU's unary_op; every input read through its strides, grad_x contiguous. T: float, double.
template <class T>
void unary_backward(UnaryOp op, UnaryParams params, const T* grad, const Shape& grad_strides, const T* x,
                    const Shape& x_strides, const T* y, const Shape& y_strides, const Shape& shape, T* grad_x);

/// out[i] = a[i] ∘ b[i] over the broadcast `shape`; a_strides/b_strides are already broadcast to
/// `shape` (seam::broadcast_strides). out contiguous. T: float, double.
template <class T>
void binary(BinaryOp op, const T* a, const Shape& a_strides, const T* b, const Shape& b_strides, const Shape& shape,
            T* out);

/// The gradients of out = a ∘ b at the broadcast `shape` (before reducing them to a's and b's
/// shapes with sum_to): grad_a[i] = grad[i] · ∂out/∂a, grad_b likewise; y is the forward output
/// (needed by div and pow; may be nullptr for the others). grad_a or grad_b may be nullptr when
/// that gradient is not wanted. Both outputs contiguous. T: float, double.
template <class T>
void binary_backward(BinaryOp op, const T* grad, const Shape& grad_strides, const T* a, const Shape& a_strides,
                     const T* b, const Shape& b_strides, const T* y, const Shape& y_strides, const Shape& shape,
                     T* grad_a, T* grad_b);

// ----- fill and strided copy ---------------------------------------------------------------------

/// out[i] = value for every element of `shape` read through out_strides.
/// T: float, double, int64_t, int32_t, uint8_t.
template <class T>
void fill(T* out, const Shape& shape, const Shape& out_strides, T value);

/// dst[i] = src[i] for every element of `shape`, both through their strides (src may broadcast
/// with stride 0; dst must not overlap src). contiguous(x) is copy with dst's contiguous strides.
/// T: float, double, int64_t, int32_t, uint8_t.
template <class T>
void copy(const T* src, const Shape& src_strides, T* dst, const Shape& dst_strides, const Shape& shape);

/// out[i] = cond[i] ? a[i] : b[i] over `shape` (seam::where), cond uint8 (nonzero: true); every
/// input read through strides already broadcast to `shape`, out contiguous. A copy of the chosen
/// operand's bits. T: float, double, int64_t, int32_t, uint8_t.
template <class T>
void where(const uint8_t* cond, const Shape& cond_strides, const T* a, const Shape& a_strides, const T* b,
           const Shape& b_strides, const Shape& shape, T* out);

/// The comparisons and mask algebra of seam::eq ... logical_or (ops/shape_ops.hpp).
enum class CompareOp { eq, ne, gt, lt, ge, le, logical_and, logical_or };

/// out[i] = op(a[i], b[i]) ? 1 : 0 over `shape`, a and b read through strides already broadcast to
/// `shape`, out (uint8) contiguous. IEEE rules: a comparison with a NaN is false, except ne; the
/// logical ops read nonzero as true. T: float, double, int64_t, int32_t, uint8_t.
template <class T>
void compare(CompareOp op, const T* a, const Shape& a_strides, const T* b, const Shape& b_strides, const Shape& shape,
             uint8_t* out);

/// seam::gather along `dim`: out[e] = x[.., index[e], ..] for every element e of the index (which
/// has index_shape, no larger than x_shape off `dim`); x, index and out contiguous, rank ≤
/// kMaxDims. An index value out of [0, x_shape[dim]) is not followed (out gets 0 there) and the
/// smallest such position is written to *bad (device memory holding INT64_MAX before the call: an
/// atomic min). T: float, double, int64_t, int32_t, uint8_t.
template <class T>
void gather(const T* x, const Shape& x_shape, int64_t dim, const int64_t* index, const Shape& index_shape, T* out,
            int64_t* bad);

/// seam::scatter_add along `dim`, in place on out (x_shape, holding the input): out[.., index[e],
/// ..] += src[e], src with index_shape; each line along `dim` adds in index order (the CPU op's
/// order, so the same bits). Out-of-range values: skipped, reported through *bad as for gather.
/// T: float, double, int64_t, int32_t.
template <class T>
void scatter_add(T* out, const Shape& x_shape, int64_t dim, const int64_t* index, const Shape& index_shape, const T* src,
                 int64_t* bad);

/// scatter_add with its starting values written too: out = x (contiguous, x_shape; or zeros when x
/// is null), then scatter_add as above. One pass over out where the kernel can (the index with x's
/// shape off `dim`, along x's last non-trivial dimension); else a device copy or memset first.
/// T: float, double, int64_t, int32_t.
template <class T>
void scatter_add_onto(const T* x, T* out, const Shape& x_shape, int64_t dim, const int64_t* index, const Shape& index_shape,
                      const T* src, int64_t* bad);

// ----- reductions along one dimension --------------------------------------------------------------
//
// The input is contiguous, seen as [outer, reduce, inner] (reducing dim d of a shape: outer is
// the product of the sizes before d, inner of those after). Outputs are contiguous [outer, inner].
// The order of additions depends only on the shape (never on the GPU or timing): deterministic.

/// out[o, j] = Σ_r x[o, r, j]. Float sums are carried in double, as on the CPU (ops/reduce.hpp).
/// reduce = 0 gives zeros. T: float, double.
template <class T>
void sum_dim(const T* x, int64_t outer, int64_t reduce, int64_t inner, T* out);

/// values[o, j] = max_r x[o, r, j] and indices[o, j] = its r (indices may be nullptr). The CPU's
/// rules: ties go to the lowest index, NaN beats every number (the first NaN wins).
/// reduce must be > 0. T: float, double.
template <class T>
void max_dim(const T* x, int64_t outer, int64_t reduce, int64_t inner, T* values, int64_t* indices);

/// values[o, j] = min_r x[o, r, j] and indices[o, j] = its r (indices may be nullptr); ties to the
/// lowest index, NaN beats every number (it propagates, as on the CPU). reduce > 0. T: float, double.
template <class T>
void min_dim(const T* x, int64_t outer, int64_t reduce, int64_t inner, T* values, int64_t* indices);

/// grad_in [outer, n, inner] = zeros, then grad_in[o, index[o, t, j], j] = grad[o, t, j] for t < k
/// (the backward of max/min/topk along a dimension; the k indices of a column must be distinct,
/// so no element is written twice). T: float, double.
template <class T>
void scatter_along(const T* grad, const int64_t* index, T* grad_in, int64_t outer, int64_t k, int64_t n, int64_t inner);

/// values and indices [outer, k, inner] (contiguous) of topk along n (ops/reduce.hpp's topk): the
/// first k of each column in the CPU's order — NaN first when largest (last when smallest), then by
/// value, then the lower index first — or, with sorted = false, the same k in increasing index
/// order. Values and indices equal the CPU op's exactly. 0 <= k <= n. O(n²) comparisons per
/// column (kernels/seam/reduce.cuh): meant for rows of up to a few thousand. T: float, double.
template <class T>
void topk(const T* x, int64_t outer, int64_t n, int64_t inner, int64_t k, bool largest, bool sorted, T* values,
          int64_t* indices);

// ----- softmax and the fused cross-entropy (ops/softmax.hpp, ops/loss.hpp; kernels/seam/softmax.cuh) --
//
// Contiguous [outer, n, inner] around the softmax dimension, as for the reductions above.

/// y = softmax (log = false) or log_softmax (log = true) of x along n. T: float, double.
template <class T>
void softmax_forward(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool log);
/// grad_x from the incoming gradient and the forward output y (ops/softmax.hpp's rules). T: float, double.
template <class T>
void softmax_backward(const T* grad, const T* y, T* grad_x, int64_t outer, int64_t n, int64_t inner, bool log);

/// One fused cross-entropy call on logits [batch, classes, spatial] and int64 targets
/// [batch, spatial]; reduction 0 none, 1 mean, 2 sum (seam::Reduction's order).
struct CrossEntropyShape {
    int64_t batch = 0, classes = 0, spatial = 1;
    int64_t ignore_index = -100;
    double label_smoothing = 0;
    int reduction = 1;
};

/// Forward: out ([batch·spatial] for none, [1] otherwise), lse [batch·spatial] and stats[3] =
/// {Σ loss, Σ w[target], Σ_c w[c]} (double, kept for the backward). weight [classes] may be null.
/// Waits for the GPU (one 8-byte copy) and returns the linear position of the first target that
/// is neither a class index nor ignore_index, or -1 when all are valid. T: float, double.
template <class T>
int64_t cross_entropy_forward(const T* logits, const int64_t* target, const T* weight, const CrossEntropyShape& shape,
                              T* out, double* lse, double* stats);
/// grad_logits [batch, classes, spatial] from grad_out (same shape as out) and the saved lse and
/// stats. T: float, double.
template <class T>
void cross_entropy_backward(const T* logits, const int64_t* target, const T* weight, const double* lse,
                            const double* stats, const T* grad_out, const CrossEntropyShape& shape, T* grad_logits);

/// nll_loss on log-probabilities [batch, classes, spatial] with the same shape struct
/// (label_smoothing must be 0): out ([batch·spatial] for none, [1] otherwise) and stats[3] as
/// cross_entropy_forward's. Waits for the GPU (one 8-byte copy) and returns the linear position
/// of the first target that is neither a class index nor ignore_index, or -1. T: float, double.
template <class T>
int64_t nll_loss_forward(const T* log_probs, const int64_t* target, const T* weight, const CrossEntropyShape& shape,
                         T* out, double* stats);
/// grad_input [batch, classes, spatial]: -w[target]·scale at each non-ignored target, 0 elsewhere
/// (scale from grad_out and the saved stats, as the CPU op). T: float, double.
template <class T>
void nll_loss_backward(const int64_t* target, const T* weight, const double* stats, const T* grad_out,
                       const CrossEntropyShape& shape, T* grad_input);

// ----- batch normalisation and dropout (ops/norm.hpp; kernels/seam/norm.cuh) ------------------------
//
// x, y, grad_out, grad_x contiguous [N, C, inner]; every [C] vector (weight, bias, running_mean,
// running_var) is a pointer and an element stride, and may be null (weight 1, bias 0, no running
// statistics). save_mean and save_invstd are contiguous [C] double.

struct BatchNormShape {
    int64_t N = 0, C = 0, inner = 1;
};

/// Training: batch statistics, running buffers updated in place (when not null); evaluation: the
/// running buffers. relu fuses max(y, 0). Writes save_mean / save_invstd. T: float, double.
template <class T>
void batch_norm_forward(const T* x, T* y, const BatchNormShape& shape, const T* weight, int64_t weight_stride,
                        const T* bias, int64_t bias_stride, T* running_mean, int64_t running_mean_stride,
                        T* running_var, int64_t running_var_stride, double* save_mean, double* save_invstd,
                        bool training, double momentum, double eps, bool relu);
/// grad_x, grad_weight, grad_bias (each may be null when not wanted); y_relu is the forward output
/// when the ReLU was fused (its mask), else null. T: float, double.
template <class T>
void batch_norm_backward(const T* grad_out, const T* x, const T* y_relu, const T* weight, int64_t weight_stride,
                         const double* save_mean, const double* save_invstd, const BatchNormShape& shape, bool training,
                         T* grad_x, T* grad_weight, T* grad_bias);

/// layer_norm over the last `cols` elements: x, y, grad_out, grad_x contiguous [rows, cols];
/// weight, bias, grad_weight, grad_bias contiguous [cols] (each may be null: no affine part / not
/// wanted); save_mean and save_rstd contiguous [rows] double. cols > 0.
struct LayerNormShape {
    int64_t rows = 0, cols = 0;
};
/// y = (x - mean)·rstd (·weight, +bias) per row, statistics in double (two passes). T: float, double.
template <class T>
void layer_norm_forward(const T* x, const T* weight, const T* bias, T* y, double* save_mean, double* save_rstd,
                        const LayerNormShape& shape, double eps);
/// The three gradients (ops/norm.hpp's rules); the parameter gradients are column sums over the
/// rows in a fixed order (deterministic). T: float, double.
template <class T>
void layer_norm_backward(const T* grad_out, const T* x, const T* weight, const double* save_mean,
                         const double* save_rstd, const LayerNormShape& shape, T* grad_x, T* grad_weight,
                         T* grad_bias);

/// Dropout with the CPU op's mask (bit-identical for the same key/base): keep[i] = word i % 4 of
/// philox4x32(base + i / 4, 0, key) < threshold; y = x · (keep ? scale : 0). T: float, double.
template <class T>
void dropout_forward(const T* x, T* y, uint8_t* keep, int64_t n, uint64_t key, uint64_t base, uint64_t threshold,
                     T scale);
template <class T>
void dropout_backward(const T* grad, const uint8_t* keep, T* grad_x, int64_t n, T scale);

// ----- fused optimizer steps (optim/sgd.hpp, optim/adam.hpp; kernels/seam/optim.cuh) ----------------
//
// Every array holds the parameter's n contiguous elements. The scalars are the values the CPU
// optimizers compute in T (passed as double; converting them back to T is exact).

struct SgdStepArgs {
    double lr = 0, weight_decay = 0, momentum = 0, keep = 1;  // keep = 1 - dampening
    bool nesterov = false;
    bool first = false;  // the momentum buffer is initialised with d on this step
};
/// One SGD step in place; momentum_buffer is null when momentum is 0. T: float, double.
template <class T>
void sgd_step(T* param, const T* grad, T* momentum_buffer, int64_t n, const SgdStepArgs& args);

struct AdamStepArgs {
    double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    double step_size = 0;              // lr / (1 - beta1^t)
    double bias_correction2_sqrt = 1;  // sqrt(1 - beta2^t)
    double weight_decay = 0;
    double decay = 1;                  // 1 - lr · weight_decay (AdamW)
    bool decoupled = false;            // AdamW
};
/// One Adam/AdamW step in place; max_exp_avg_sq is null without amsgrad. T: float, double.
template <class T>
void adam_step(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, int64_t n,
               const AdamStepArgs& args);

// ----- GEMM through cuBLAS -----------------------------------------------------------------------

/// Row-major C[m, n] = alpha · op(A) · op(B) + beta · C, op(A) is [m, k] (A stored [k, m] when
/// trans_a), lda/ldb/ldc are row strides in elements. Uses the current device's cuBLAS handle on
/// the current stream; float is full fp32 unless set_allow_tf32(true). T: float, double.
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
          int64_t ldb, T beta, T* c, int64_t ldc);

/// `batch` independent GEMMs, matrix i at a + i·stride_a (and so on). T: float, double.
template <class T>
void gemm_strided_batched(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                          int64_t lda, int64_t stride_a, const T* b, int64_t ldb, int64_t stride_b, T beta, T* c,
                          int64_t ldc, int64_t stride_c, int64_t batch);

// ----- landmark pooling (include/seam/ops/landmark_pool.hpp, kernels/seam/landmark_pool.cuh) ------
//
// FashionNet's landmark pooling on contiguous device arrays (the op documents the geometry):
//   features [N, C, H, W], landmarks [N, L, 2] as normalised (x, y), visibility [N, L],
//   out and argmax [N, L, C, bins_h, bins_w] (argmax: h*W + w inside the (n, c) plane of the
//   winning cell, -1 for an empty bin or a landmark the hard gate switched off).
// The landmarks are read on the device only: a non-finite coordinate gives an empty window (zeros,
// argmax -1) instead of the CPU op's error, which would need a copy to the host and a sync.

/// The sizes and options of one call. `gate` uses seam::LandmarkGate's numbering:
/// 0 none (visibility may be nullptr), 1 hard (visible iff p > threshold), 2 soft (p * value).
struct LandmarkPoolShape {
    int64_t N = 0, C = 0, H = 0, W = 0, L = 0;
    int64_t window_h = 7, window_w = 7, bins_h = 2, bins_w = 2;
    int gate = 1;
    double threshold = 0.5;
};

/// Forward: writes the gated output and the argmax of every output. T: float, double.
template <class T>
void landmark_pool_forward(const T* features, const T* landmarks, const T* visibility, T* out, int64_t* argmax,
                           const LandmarkPoolShape& shape);

/// grad_features [N, C, H, W] = for every cell, the sum of gate · grad_out over the outputs whose
/// argmax it is (overwritten, not accumulated into; the sum order is fixed: deterministic).
/// visibility is read with the soft gate only. T: float, double.
template <class T>
void landmark_pool_backward_features(const T* grad_out, const int64_t* argmax, const T* visibility, T* grad_features,
                                     const LandmarkPoolShape& shape);

/// grad_visibility [N, L] (soft gate only) = the sum over channels and bins of grad_out times the
/// ungated maximum, read back from the features through the argmax. T: float, double.
template <class T>
void landmark_pool_backward_visibility(const T* grad_out, const T* features, const int64_t* argmax,
                                       T* grad_visibility, const LandmarkPoolShape& shape);

// ----- 2-D pooling (include/seam/ops/pool.hpp, kernels/seam/pool2d.cuh) ---------------------------
//
// Contiguous NCHW device arrays: x and grad_in [N, C, H, W]; out, grad_out and indices
// [N, C, OH, OW] (indices int64: h*W + w of each maximum inside its (n, c) plane, -1 for a max
// window with no tap inside the map). The geometry is ops/pool.hpp's, already resolved (stride
// filled in, OH and OW from pooling_output_size with ceil_mode). Forward results equal the CPU op's
// bit for bit; every backward writes each element of grad_in once (a gather in the CPU's order of
// additions: deterministic, no atomics, no zeroing needed).

/// The resolved geometry of one pooling call; adaptive pooling reads only N, C, H, W, OH, OW.
struct Pool2dShape {
    int64_t N = 0, C = 0, H = 0, W = 0, OH = 0, OW = 0;
    int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
};

/// Max pooling; indices may be nullptr (inference). T: float, double.
template <class T>
void max_pool2d_forward(const T* x, T* out, int64_t* indices, const Pool2dShape& shape);
/// grad_in = each output's gradient added at its index (from max_pool2d_forward). T: float, double.
template <class T>
void max_pool2d_backward(const T* grad_out, const int64_t* indices, T* grad_in, const Pool2dShape& shape);
/// Average pooling with PyTorch's divisor rules (divisor_override 0: none); dilation must be 1.
/// T: float, double.
template <class T>
void avg_pool2d_forward(const T* x, T* out, const Pool2dShape& shape, bool count_include_pad, int64_t divisor_override);
template <class T>
void avg_pool2d_backward(const T* grad_out, T* grad_in, const Pool2dShape& shape, bool count_include_pad,
                         int64_t divisor_override);
/// Adaptive pooling: window i = [floor(i*H/OH), ceil((i+1)*H/OH)) (OH or OW may be 0). T: float, double.
template <class T>
void adaptive_avg_pool2d_forward(const T* x, T* out, const Pool2dShape& shape);
template <class T>
void adaptive_avg_pool2d_backward(const T* grad_out, T* grad_in, const Pool2dShape& shape);
template <class T>
void adaptive_max_pool2d_forward(const T* x, T* out, int64_t* indices, const Pool2dShape& shape);
template <class T>
void adaptive_max_pool2d_backward(const T* grad_out, const int64_t* indices, T* grad_in, const Pool2dShape& shape);

// ----- resampling (include/seam/ops/resize.hpp, kernels/seam/resize.cuh) -----------------------------
//
// Contiguous NCHW device arrays: x, grad_in [N, C, H, W]; out, grad_out [N, C, OH, OW]. The
// geometry comes as one table per axis, built on the host by the CPU op's own functions, so the
// indices and weights are the CPU's. The backward is a gather (each grad_in element written once,
// overwritten: no zeroing needed; no atomics: deterministic).

struct ResizeShape {
    int64_t N = 0, C = 0, H = 0, W = 0, OH = 0, OW = 0;
};
/// One axis (rows: in = H, out = OH; columns: in = W, out = OW), device arrays:
///   i0, i1 [out]   the input neighbours of each output coordinate (nearest reads i0 only);
///   w0, w1 [out]   their weights (bilinear only; null for nearest);
///   readers_begin, readers_end [in]   per input coordinate, a range of output coordinates that
///                  contains every o with i0[o] or i1[o] equal to it (the backward only).
template <class T>
struct ResizeAxis {
    const int64_t* i0 = nullptr;
    const int64_t* i1 = nullptr;
    const T* w0 = nullptr;
    const T* w1 = nullptr;
    const int64_t* readers_begin = nullptr;
    const int64_t* readers_end = nullptr;
};
/// out[n, c, oh, ow] = x[n, c, rows.i0[oh], cols.i0[ow]]. T: float, double.
template <class T>
void upsample_nearest2d_forward(const T* x, T* out, const ResizeShape& shape, const ResizeAxis<T>& rows,
                                const ResizeAxis<T>& cols);
/// grad_in = the sum of the gradients of the outputs that copied each element (the CPU's order of
/// additions: the same bits). T: float, double.
template <class T>
void upsample_nearest2d_backward(const T* grad_out, T* grad_in, const ResizeShape& shape, const ResizeAxis<T>& rows,
                                 const ResizeAxis<T>& cols);
/// The separable blend of ops/resize.hpp: each input row blended across, then the two rows blended.
/// T: float, double.
template <class T>
void upsample_bilinear2d_forward(const T* x, T* out, const ResizeShape& shape, const ResizeAxis<T>& rows,
                                 const ResizeAxis<T>& cols);
/// Its transpose, in the CPU's order of additions (the same up to fused multiply-adds). T: float, double.
template <class T>
void upsample_bilinear2d_backward(const T* grad_out, T* grad_in, const ResizeShape& shape, const ResizeAxis<T>& rows,
                                  const ResizeAxis<T>& cols);

// ----- 2-D convolution (include/seam/ops/conv.hpp, kernels/seam/conv2d.cuh) ---------------------------
//
// Contiguous NCHW device arrays: x, dx [N, C, H, W]; w, dw [O, C/groups, KH, KW]; y, dy
// [N, O, OH, OW]; bias, db [O]. Every output array is overwritten (not accumulated into). The
// algorithm is chosen per call; ops/conv.hpp passes conv_algorithm(), the process-wide choice.
// No atomics in any of them: the same inputs give the same bits on every run.

/// The kernel versions of kernels/seam/conv2d.cuh (numbered as there):
///   direct              one thread per output element, double accumulation: slow, the GPU oracle;
///   implicit_gemm       shared-memory tiled implicit GEMM, fp32 accumulation for float (the default);
///   implicit_gemm_tf32  opt-in: for float, the same implicit GEMMs on the tensor cores with TF32
///                       inputs (10-bit mantissa: ~1e-3 relative error per product) and fp32
///                       accumulation (kernels/seam/conv2d_tf32.cuh); needs compute capability 8.0
///                       or newer (refused with a message on older GPUs); for double it runs
///                       implicit_gemm in double. Independent of set_allow_tf32 (cuBLAS only).
///                       Kernel version: SEAM_TF32_CONV_VERSION=3 (wmma), 4 (mma.sync), 5
///                       (channels-last staging in a workspace from the caching allocator) or 6
///                       (wgmma; compute capability 9.0 with sm_90a code only); unset: 6 where it
///                       runs, else 5 on 9.x, else 4 (all timed on an H200, 2026-11-27);
///   winograd            opt-in: Winograd F(2x2, 3x3) for 3x3, stride 1, dilation 1, groups 1,
///                       padding ≤ 2 (kernels/seam/winograd.cuh: transforms here, the 16 tile
///                       products as one batched cuBLAS GEMM in fp32/fp64, never TF32; a
///                       workspace of up to 1 GiB from the caching allocator); 2.25x fewer
///                       multiplications, results within a few ulps of the largest terms of the
///                       direct sum; other convolutions, and the passes where it measured slower
///                       (kernels::winograd_worthwhile: the forward with C < 8, backward-weight
///                       with O·C < 16384), run implicit_gemm.
enum class ConvAlgorithm : int { direct = 1, implicit_gemm = 2, implicit_gemm_tf32 = 3, winograd = 4 };
const char* conv_algorithm_name(ConvAlgorithm algorithm);
/// The algorithm conv_algorithm_name calls `name`; any other name throws seam::Error listing them.
ConvAlgorithm conv_algorithm_from_name(std::string_view name);
/// The algorithm ops/conv.hpp uses for CUDA tensors (all threads). A process starts with
/// implicit_gemm, or with the algorithm the environment variable SEAM_CONV_ALGORITHM names (read
/// at the first use: a whole test suite or example can run under winograd without a code change).
void set_conv_algorithm(ConvAlgorithm algorithm);
ConvAlgorithm conv_algorithm();

/// One convolution's sizes; OH and OW must follow floor((H + 2p - d(k-1) - 1) / s) + 1.
struct Conv2dShape {
    int64_t N = 0, C = 0, H = 0, W = 0;
    int64_t O = 0, KH = 1, KW = 1;
    int64_t sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1, groups = 1;
    int64_t OH = 0, OW = 0;
};

/// y = conv2d(x, w) + bias (bias may be nullptr). T: float, double.
template <class T>
void conv2d_forward(const T* x, const T* w, const T* bias, T* y, const Conv2dShape& shape, ConvAlgorithm algorithm);
/// dx = the gradient of conv2d with respect to its input. T: float, double.
template <class T>
void conv2d_backward_data(const T* w, const T* dy, T* dx, const Conv2dShape& shape, ConvAlgorithm algorithm);
/// dw = the gradient with respect to the weight (a workspace is taken from the caching allocator
/// when the sum over the batch is split across blocks). T: float, double.
template <class T>
void conv2d_backward_weight(const T* x, const T* dy, T* dw, const Conv2dShape& shape, ConvAlgorithm algorithm);
/// db[o] = Σ_{n, oh, ow} dy[n, o, oh, ow] (summed in double in a fixed order). T: float, double.
template <class T>
void conv2d_backward_bias(const T* dy, T* db, const Conv2dShape& shape);

// ----- host-side helpers (no GPU needed) -----------------------------------------------------------

/// The layout the elementwise kernels actually iterate: `shape` with every pair of neighbouring
/// dimensions merged where each operand's strides allow it, size-1 dimensions dropped. Exposed
/// so that it can be tested without a GPU.
struct CollapsedLayout {
    Shape shape;
    std::vector<Shape> strides;  // one per operand
    bool contiguous = false;     // every operand is dense row-major: offset = linear index
};
CollapsedLayout collapse_layout(const Shape& shape, const std::vector<Shape>& strides);

}  // namespace seam::cuda
