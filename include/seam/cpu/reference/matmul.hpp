// seam/cpu/reference/matmul.hpp — the oracle for matmul and linear.
//
// Deliberately naive: the operands are copied out in row-major order, 1-D operands are promoted
// exactly as torch.matmul describes, every output element is one dot product accumulated in double,
// batch indices are mapped to the operands with the broadcasting rule written out by hand. No GEMM,
// no threads, no strides tricks: ops/matmul.hpp is tested against these.
#pragma once

#include <vector>

#include "seam/core/tensor.hpp"

namespace seam::reference {

/// torch.matmul semantics, naively.
template <class T>
inline Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b) {
    Shape sa = a.shape(), sb = b.shape();
    const bool a_vector = sa.size() == 1, b_vector = sb.size() == 1;
    if (a_vector) sa.insert(sa.begin(), 1);  // [K] -> [1, K]
    if (b_vector) sb.push_back(1);           // [K] -> [K, 1]
    const int64_t M = sa[sa.size() - 2], K = sa.back(), N = sb.back();
    SEAM_CHECK(sb[sb.size() - 2] == K, "reference::matmul: inner sizes differ");
    // batch shape: leading dimensions aligned from the right, 1 broadcast against anything
    const size_t ra = sa.size() - 2, rb = sb.size() - 2, rank = std::max(ra, rb);
    Shape batch(rank);
    for (size_t i = 0; i < rank; ++i) {
        const int64_t da = i + ra >= rank ? sa[i + ra - rank] : 1;
        const int64_t db = i + rb >= rank ? sb[i + rb - rank] : 1;
        SEAM_CHECK(da == db || da == 1 || db == 1, "reference::matmul: batch dimensions do not broadcast");
        batch[i] = da == 1 ? db : da;
    }
    const std::vector<T> va = a.to_vector(), vb = b.to_vector();
    const int64_t B = numel_of(batch);
    std::vector<T> out(static_cast<size_t>(B * M * N));
    for (int64_t item = 0; item < B; ++item) {
        // the batch multi-index of `item`, then the matching item of each operand (index 0 where it has size 1)
        Shape index(rank);
        int64_t rest = item;
        for (size_t i = rank; i-- > 0;) {
            index[i] = rest % batch[i];
            rest /= batch[i];
        }
        int64_t ia = 0, ib = 0;
        for (size_t i = 0; i < rank; ++i) {
            if (i + ra >= rank) {
                const int64_t d = sa[i + ra - rank];
                ia = ia * d + (d == 1 ? 0 : index[i]);
            }
            if (i + rb >= rank) {
                const int64_t d = sb[i + rb - rank];
                ib = ib * d + (d == 1 ? 0 : index[i]);
            }
        }
        for (int64_t m = 0; m < M; ++m)
            for (int64_t n = 0; n < N; ++n) {
                double acc = 0;
                for (int64_t k = 0; k < K; ++k)
                    acc += static_cast<double>(va[static_cast<size_t>((ia * M + m) * K + k)]) *
                           static_cast<double>(vb[static_cast<size_t>((ib * K + k) * N + n)]);
                out[static_cast<size_t>((item * M + m) * N + n)] = static_cast<T>(acc);
            }
    }
    Shape out_shape = batch;
    if (!a_vector) out_shape.push_back(M);
    if (!b_vector) out_shape.push_back(N);
    return from_vector(out, out_shape);
}

/// x[..., in] · w[out, in]ᵀ + bias[out] (bias may be undefined), naively.
template <class T>
inline Tensor<T> linear(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias = Tensor<T>()) {
    const int64_t in = w.size(1), out_features = w.size(0);
    const int64_t rows = in == 0 ? 0 : x.numel() / in;
    const std::vector<T> vx = x.to_vector(), vw = w.to_vector();
    const std::vector<T> vb = bias.defined() ? bias.to_vector() : std::vector<T>(static_cast<size_t>(out_features), T(0));
    std::vector<T> out(static_cast<size_t>(rows * out_features));
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t o = 0; o < out_features; ++o) {
            double acc = vb[static_cast<size_t>(o)];
            for (int64_t i = 0; i < in; ++i)
                acc += static_cast<double>(vx[static_cast<size_t>(r * in + i)]) * static_cast<double>(vw[static_cast<size_t>(o * in + i)]);
            out[static_cast<size_t>(r * out_features + o)] = static_cast<T>(acc);
        }
    Shape out_shape(x.shape().begin(), x.shape().end() - 1);
    out_shape.push_back(out_features);
    return from_vector(out, out_shape);
}

}  // namespace seam::reference
