// seam/models/fashionnet_loss.hpp — FashionNet's four losses and its alternating schedule
// (../shared/ref/model-specs.md §1.2 and §1.4).
//
//   L = alpha * (L_landmark + L_visibility) + beta * (L_category + L_attribute + L_triplet)
//
//   L_landmark   sum over the batch's visible landmarks of ||predicted - true||^2 (normalised
//                coordinates), divided by the batch size: occluded, truncated and absent points
//                add nothing (the paper's v_nj mask);
//   L_visibility the mean over landmarks of a 2-way softmax cross-entropy (visible or not);
//   L_category   softmax cross-entropy over the categories;
//   L_attribute  binary cross-entropy with logits, its positives weighted by the training set's
//                ratio of negative to positive labels (AttributeBalance below: one global ratio
//                by default, per attribute or none as options);
//   L_triplet    max(0, m + d(a, p) - d(a, n)) averaged over the given triplets, with d the
//                squared L2 distance of the L2-normalised embeddings = 2 * (1 - cosine): computed
//                as the cosine distance with margin m / 2 (m = 0.2, §1.2's choice).
//
// The alternating schedule (FashionNetSchedule) swaps alpha and beta block by block: a
// landmark-centric phase (alpha 5, beta 1: the Chainer port's values) and a task-centric phase
// (alpha 1, beta 5), one epoch each by default, starting with the landmark phase. In the landmark
// phase the local branch pools at the ground-truth landmarks (teacher forcing: the pose branch is
// still poor), in the task phase at the predicted ones, as at test time (§1.4).
//
// Triplets. DeepFashion-C has no item identities, so on it the triplets are drawn inside the
// batch by category (category_triplets): the anchor's positive is another image of its category,
// the negative an image of another category. On consumer-to-shop data the caller passes item
// triplets instead (consumer anchor, shop positive, shop negative).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "seam/core/error.hpp"
#include "seam/core/rng.hpp"
#include "seam/models/fashionnet.hpp"
#include "seam/ops/elementwise.hpp"
#include "seam/ops/loss.hpp"
#include "seam/ops/reduce.hpp"
#include "seam/ops/shape_ops.hpp"

namespace seam::models {

/// Ground truth for one batch.
template <class T>
struct FashionNetTargets {
    Tensor<T> landmarks;         // [N, L, 2] normalised (x, y); 0 where not visible
    Tensor<T> visible;           // [N, L] 1 where the landmark exists and is visible, else 0
    Tensor<int64_t> categories;  // [N]
    Tensor<T> attributes;        // [N, A] 1 for a positive label, 0 otherwise
    std::vector<std::array<int64_t, 3>> triplets;  // (anchor, positive, negative) rows of the batch
};

/// Per-attribute constants of the weighted attribute loss (undefined tensors: plain BCE).
template <class T>
struct AttributeLossWeights {
    Tensor<T> pos_weight;  // [A] w_pos / w_neg
    Tensor<T> weight;      // [A] w_neg
};

/// How the attribute loss counters the rarity of positive labels (the paper: weights "determined by
/// the ratio of positive to negative samples in the training set", without saying per attribute or
/// global; model-specs §1.2):
///   global         one pos_weight for every attribute, N_neg / N_pos over all labels of the
///                  training set. It shifts every attribute's optimal logit by the same constant
///                  (log pos_weight), so the ranking of attributes within an image — what top-k
///                  recall scores — stays that of the calibrated probabilities. The default.
///   per_attribute  the spec's option (a): positives weigh 2 N_neg,k / N and negatives 2 N_pos,k / N,
///                  so each attribute's positives and negatives add up to the same total (a 50/50
///                  attribute gets 1 and 1). It balances every attribute, which pushes rare
///                  attributes up every image's ranking and costs top-k recall (README has the
///                  measured difference).
///   none           plain binary cross-entropy.
enum class AttributeBalance { global, per_attribute, none };

inline const char* attribute_balance_name(AttributeBalance b) {
    switch (b) {
        case AttributeBalance::global: return "global";
        case AttributeBalance::per_attribute: return "per-attribute";
        case AttributeBalance::none: return "none";
    }
    return "?";
}

/// The constants of `balance` from each attribute's positive count over `total` training images.
/// An attribute without positives (or without negatives) keeps weights 1 and 1 under per_attribute.
template <class T>
inline AttributeLossWeights<T> attribute_loss_weights(const std::vector<int64_t>& positives, int64_t total,
                                                      AttributeBalance balance = AttributeBalance::global) {
    SEAM_CHECK(total > 0, "attribute_loss_weights: the training set is empty");
    const int64_t a = static_cast<int64_t>(positives.size());
    int64_t all_positives = 0;
    for (int64_t k = 0; k < a; ++k) {
        const int64_t pos = positives[static_cast<size_t>(k)];
        SEAM_CHECK(pos >= 0 && pos <= total, "attribute_loss_weights: attribute ", k, " has ", pos, " positives in ",
                   total, " images");
        all_positives += pos;
    }
    if (balance == AttributeBalance::none) return {};
    if (balance == AttributeBalance::global) {
        const double labels = static_cast<double>(a) * static_cast<double>(total);
        const double ratio = all_positives > 0 ? (labels - static_cast<double>(all_positives)) / static_cast<double>(all_positives) : 1.0;
        return {full<T>({a}, static_cast<T>(ratio)), Tensor<T>()};
    }
    AttributeLossWeights<T> w{empty<T>({a}), empty<T>({a})};
    for (int64_t k = 0; k < a; ++k) {
        const int64_t pos = positives[static_cast<size_t>(k)];
        if (pos == 0 || pos == total) {
            w.pos_weight.data()[k] = T(1);
            w.weight.data()[k] = T(1);
            continue;
        }
        const double w_pos = 2.0 * static_cast<double>(total - pos) / static_cast<double>(total);
        const double w_neg = 2.0 * static_cast<double>(pos) / static_cast<double>(total);
        w.pos_weight.data()[k] = static_cast<T>(w_pos / w_neg);
        w.weight.data()[k] = static_cast<T>(w_neg);
    }
    return w;
}

/// The weight of each term inside the two groups, the two group weights, and the triplet margin.
struct FashionNetLossWeights {
    double alpha = 1;  // landmark + visibility
    double beta = 1;   // category + attribute + triplet
    double landmark = 1, visibility = 1, category = 1, attribute = 1, triplet = 1;
    double triplet_margin = 0.2;  // on the squared L2 distance of unit vectors
};

template <class T>
struct FashionNetLosses {
    Tensor<T> total, landmark, visibility, category, attribute, triplet;  // triplet undefined without triplets
};

template <class T>
inline FashionNetLosses<T> fashionnet_loss(const FashionNetOutput<T>& out, const FashionNetTargets<T>& target,
                                           const AttributeLossWeights<T>& attribute_weights,
                                           const FashionNetLossWeights& w) {
    const char* op = "fashionnet_loss";
    const int64_t n = out.landmarks.size(0), L = out.landmarks.size(1);
    SEAM_CHECK(target.landmarks.shape() == out.landmarks.shape(), op, ": target landmarks ",
               shape_str(target.landmarks.shape()), " do not match the predicted ", shape_str(out.landmarks.shape()));
    SEAM_CHECK(target.visible.shape() == Shape({n, L}), op, ": visible must be [", n, ", ", L, "], got ",
               shape_str(target.visible.shape()));
    SEAM_CHECK(target.attributes.shape() == out.attribute_logits.shape(), op, ": target attributes ",
               shape_str(target.attributes.shape()), " do not match the logits ", shape_str(out.attribute_logits.shape()));

    FashionNetLosses<T> loss;
    const Tensor<T> mask = target.visible.unsqueeze(2);  // [N, L, 1]
    const Tensor<T> diff = (out.landmarks - target.landmarks) * mask;
    loss.landmark = sum(diff * diff) * T(1.0 / static_cast<double>(n));

    // The class labels are made on the host (a GPU batch's mask is copied back: n·L values) and
    // handed to the loss on the logits' device.
    const Device device = out.visibility_logits.device();
    Tensor<int64_t> visible_class = empty<int64_t>({n * L});
    const Tensor<T> v = target.visible.to(Device::cpu()).contiguous();
    for (int64_t i = 0; i < n * L; ++i) visible_class.data()[i] = v.data()[i] > T(0.5) ? 1 : 0;
    loss.visibility = cross_entropy(out.visibility_logits.reshape({n * L, 2}), visible_class.to(device));

    loss.category = cross_entropy(out.category_logits, target.categories);
    BceWithLogitsOptions<T> bce;
    bce.pos_weight = attribute_weights.pos_weight;
    bce.weight = attribute_weights.weight;
    loss.attribute = binary_cross_entropy_with_logits(out.attribute_logits, target.attributes, bce);

    Tensor<T> task = loss.category * T(w.category) + loss.attribute * T(w.attribute);
    if (!target.triplets.empty()) {
        std::vector<int64_t> a, p, q;
        for (const auto& t : target.triplets) {
            for (int64_t r : t) SEAM_CHECK(r >= 0 && r < n, op, ": triplet row ", r, " is outside the batch of ", n);
            a.push_back(t[0]);
            p.push_back(t[1]);
            q.push_back(t[2]);
        }
        const int64_t m = static_cast<int64_t>(a.size());
        auto rows = [&](const std::vector<int64_t>& r) {
            return index_select(out.embedding, 0, from_vector<int64_t>(r, {m}).to(device));
        };
        TripletOptions<T> topt;
        topt.distance = Distance::cosine;  // squared L2 of unit vectors = 2 (1 - cos)
        topt.margin = T(w.triplet_margin / 2);
        loss.triplet = triplet_margin_loss(rows(a), rows(p), rows(q), topt) * T(2);
        task = task + loss.triplet * T(w.triplet);
    }
    Tensor<T> pose = loss.landmark * T(w.landmark) + loss.visibility * T(w.visibility);
    loss.total = pose * T(w.alpha) + task * T(w.beta);
    return loss;
}

/// In-batch triplets by category: for every image whose category appears at least twice in the
/// batch and which has an image of another category, one triplet (it, another image of its
/// category, an image of another category), both picked at random from (seed, step). Rows index
/// into `categories`.
inline std::vector<std::array<int64_t, 3>> category_triplets(const std::vector<int64_t>& categories, uint64_t seed,
                                                             uint64_t step) {
    std::vector<std::array<int64_t, 3>> triplets;
    const int64_t n = static_cast<int64_t>(categories.size());
    for (int64_t i = 0; i < n; ++i) {
        std::vector<int64_t> same, other;
        for (int64_t j = 0; j < n; ++j) {
            if (j == i) continue;
            (categories[static_cast<size_t>(j)] == categories[static_cast<size_t>(i)] ? same : other).push_back(j);
        }
        if (same.empty() || other.empty()) continue;
        const Philox4x32 r = philox4x32(static_cast<uint64_t>(i), step, seed ^ 0x7419'1e75ull);
        triplets.push_back({i, same[r.v[0] % same.size()], other[r.v[1] % other.size()]});
    }
    return triplets;
}

enum class FashionNetPhase { landmark, task };

inline const char* fashionnet_phase_name(FashionNetPhase p) { return p == FashionNetPhase::landmark ? "landmark" : "task"; }

/// The alternating two-step schedule of §1.4.
struct FashionNetSchedule {
    double landmark_alpha = 5, landmark_beta = 1;  // landmark-centric phase
    double task_alpha = 1, task_beta = 5;          // task-centric phase
    int64_t block_epochs = 1;                      // epochs per phase before switching
    bool pool_at_ground_truth_in_landmark_phase = true;
    bool alternate = true;                         // false: always the task phase (one-step training)

    FashionNetPhase phase(int64_t epoch) const {
        SEAM_CHECK(block_epochs >= 1, "FashionNetSchedule: block_epochs must be >= 1, got ", block_epochs);
        if (!alternate) return FashionNetPhase::task;
        return (epoch / block_epochs) % 2 == 0 ? FashionNetPhase::landmark : FashionNetPhase::task;
    }
    /// The loss weights of `epoch`'s phase, the per-term weights taken from `base`.
    FashionNetLossWeights weights(int64_t epoch, FashionNetLossWeights base = {}) const {
        const bool landmark = phase(epoch) == FashionNetPhase::landmark;
        base.alpha = landmark ? landmark_alpha : task_alpha;
        base.beta = landmark ? landmark_beta : task_beta;
        return base;
    }
    /// Whether epoch's training steps pool at the ground-truth landmarks.
    bool pools_at_ground_truth(int64_t epoch) const {
        return pool_at_ground_truth_in_landmark_phase && phase(epoch) == FashionNetPhase::landmark;
    }
};

}  // namespace seam::models
