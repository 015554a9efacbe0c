// seam/ops/loss.hpp — loss functions (cross-entropy, NLL, BCE with logits, MSE, smooth L1,
// triplet margin) and the distance helpers they use (normalize, cosine_similarity,
// pairwise_distance). Every loss takes a Reduction, defaulting to mean like PyTorch.
#pragma once

namespace seam {

// How a loss folds its per-element values: keep them (none), average (mean) or add (sum).
enum class Reduction { none, mean, sum };

}  // namespace seam
