// seam/eval/metrics.hpp — the metrics of the DeepFashion benchmarks, each with its protocol spelt out.
//
// Provides, on plain row-major float matrices (MatrixView: a span plus rows and cols, so scores from any
// framework can be fed in without the Tensor class):
//   - category_topk_accuracy: top-k classification accuracy, micro over images (the papers' protocol),
//     and category_mean_per_class_topk_recall, the class-balanced number mmfashion prints instead;
//   - attribute_topk_recall: top-k recall per attribute type (Texture, Fabric, Shape, Part, Style) and All,
//     with the protocol choices as explicit options and describe() turning them into one sentence;
//     mmfashion_attribute_topk_recall, mmfashion's mean of the best 50 per-attribute recalls, for comparison;
//   - retrieval_hit_rate: the consumer-to-shop "top-k accuracy" (a query is a hit when any gallery item of
//     the same item id is among its k nearest), and mmfashion_retrieval_recall, which is NOT that metric;
//   - landmark_error: normalised landmark error and detection rate over visible ground-truth landmarks.
//
// Every result is a fraction in [0, 1]; the table writers (tables.hpp) turn them into percent. Where a
// number is undefined (no positives, no landmark) it is std::nullopt, never a silent 0 or NaN.
// Ties are broken the same documented way every time, so a run is deterministic. The reasons for each
// protocol choice are in /work/shared/ref/deepfashion.md §3 (what the papers did, what toolboxes got wrong).
#pragma once

#include <seam/core/error.hpp>

// seam has one threading layer (OpenMP, seam/cpu/parallel.hpp): Eigen's own must stay off, in
// every translation unit alike (see seam/cpu/gemm.hpp).
#ifndef EIGEN_DONT_PARALLELIZE
#define EIGEN_DONT_PARALLELIZE
#endif
#include <Eigen/Core>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace seam::eval {

// ------------------------------------------------------------------------------------------------
// Input views

/// A read-only row-major matrix: rows × cols floats stored in one span (row r is values[r*cols, (r+1)*cols)).
struct MatrixView {
    std::span<const float> values;
    std::size_t rows = 0;
    std::size_t cols = 0;

    MatrixView() = default;
    MatrixView(std::span<const float> values_, std::size_t rows_, std::size_t cols_)
        : values(values_), rows(rows_), cols(cols_) {
        SEAM_CHECK(cols_ == 0 || rows_ <= std::numeric_limits<std::size_t>::max() / cols_,
                   "MatrixView: ", rows_, " x ", cols_, " overflows");
        SEAM_CHECK(values_.size() == rows_ * cols_, "MatrixView: ", values_.size(), " values for a ", rows_,
                   " x ", cols_, " matrix (expected ", rows_ * cols_, ")");
    }
    std::span<const float> row(std::size_t r) const { return values.subspan(r * cols, cols); }
};

namespace detail {

// NaN or infinite scores make every ranking meaningless (NaN compares false with everything), so they are
// rejected up front with their position instead of producing a plausible-looking wrong number.
inline void check_finite(const MatrixView& m, const char* what) {
    for (std::size_t r = 0; r < m.rows; ++r) {
        const auto row = m.row(r);
        for (std::size_t c = 0; c < m.cols; ++c)
            SEAM_CHECK(std::isfinite(row[c]), what, ": value at row ", r, ", column ", c, " is ", row[c],
                       " (scores must be finite)");
    }
}

inline void check_ks(std::span<const std::size_t> ks, const char* what) {
    SEAM_CHECK(!ks.empty(), what, ": no k given");
    for (std::size_t k : ks) SEAM_CHECK(k >= 1, what, ": k must be >= 1, got ", k);
}

inline std::size_t max_k(std::span<const std::size_t> ks) { return *std::max_element(ks.begin(), ks.end()); }

// Rank of entry `target` in a score row when the row is sorted by score, highest first, and every tie is
// counted AGAINST the target ("conservative" ties): the number of other entries scoring >= the target.
// A model that outputs the same score for every class therefore gets 0 top-k accuracy, not a lucky share.
inline std::size_t conservative_rank(std::span<const float> row, std::size_t target) {
    const float s = row[target];
    std::size_t ahead = 0;
    for (std::size_t c = 0; c < row.size(); ++c)
        if (c != target && row[c] >= s) ++ahead;
    return ahead;
}

// Rank of entry `target` when the row is sorted by score, highest first, ties broken by the LOWER index
// first: the number of entries that come strictly before it in that order. This is a total order, so a
// top-k list is always exactly k entries; used where a list must be chosen (attributes, retrieval).
inline std::size_t index_tiebreak_rank(std::span<const float> row, std::size_t target) {
    const float s = row[target];
    std::size_t ahead = 0;
    for (std::size_t c = 0; c < row.size(); ++c)
        if (row[c] > s || (row[c] == s && c < target)) ++ahead;
    return ahead;
}

}  // namespace detail

// ------------------------------------------------------------------------------------------------
// Category: top-k accuracy

/// Category top-k accuracy, the papers' protocol ("standard top-k classification accuracy", DeepFashion §2.3):
/// the fraction of images whose true category is among the k highest-scored categories, micro over images
/// (every image weighs the same). Ties count against the prediction: the true class is in the top k only when
/// fewer than k OTHER classes score >= it. scores: images × classes; labels: 0-based class per image.
/// Returns one fraction in [0, 1] per entry of ks.
inline std::vector<double> category_topk_accuracy(MatrixView scores, std::span<const int> labels,
                                                  std::span<const std::size_t> ks) {
    detail::check_ks(ks, "category_topk_accuracy");
    SEAM_CHECK(labels.size() == scores.rows, "category_topk_accuracy: ", labels.size(), " labels for ",
               scores.rows, " score rows");
    SEAM_CHECK(scores.rows > 0, "category_topk_accuracy: no images");
    detail::check_finite(scores, "category_topk_accuracy");
    std::vector<std::size_t> hits(ks.size(), 0);
    for (std::size_t i = 0; i < scores.rows; ++i) {
        SEAM_CHECK(labels[i] >= 0 && static_cast<std::size_t>(labels[i]) < scores.cols,
                   "category_topk_accuracy: label ", labels[i], " of image ", i, " is outside [0, ", scores.cols,
                   ")");
        const std::size_t rank = detail::conservative_rank(scores.row(i), static_cast<std::size_t>(labels[i]));
        for (std::size_t j = 0; j < ks.size(); ++j)
            if (rank < ks[j]) ++hits[j];
    }
    std::vector<double> accuracy(ks.size());
    for (std::size_t j = 0; j < ks.size(); ++j)
        accuracy[j] = static_cast<double>(hits[j]) / static_cast<double>(scores.rows);
    return accuracy;
}

/// mmfashion's category number, NOT the papers' metric: top-k recall computed separately for each class
/// (its images whose true class is in the top k / its images), then averaged over the classes that occur in
/// `labels` (a class-balanced, "macro" top-k accuracy). Same tie rule as category_topk_accuracy. It differs
/// from category_topk_accuracy whenever classes have different sizes and different accuracies.
inline std::vector<double> category_mean_per_class_topk_recall(MatrixView scores, std::span<const int> labels,
                                                               std::span<const std::size_t> ks) {
    detail::check_ks(ks, "category_mean_per_class_topk_recall");
    SEAM_CHECK(labels.size() == scores.rows, "category_mean_per_class_topk_recall: ", labels.size(),
               " labels for ", scores.rows, " score rows");
    SEAM_CHECK(scores.rows > 0, "category_mean_per_class_topk_recall: no images");
    detail::check_finite(scores, "category_mean_per_class_topk_recall");
    std::vector<std::size_t> images_of_class(scores.cols, 0);
    std::vector<std::vector<std::size_t>> hits_of_class(ks.size(), std::vector<std::size_t>(scores.cols, 0));
    for (std::size_t i = 0; i < scores.rows; ++i) {
        SEAM_CHECK(labels[i] >= 0 && static_cast<std::size_t>(labels[i]) < scores.cols,
                   "category_mean_per_class_topk_recall: label ", labels[i], " of image ", i,
                   " is outside [0, ", scores.cols, ")");
        const auto label = static_cast<std::size_t>(labels[i]);
        ++images_of_class[label];
        const std::size_t rank = detail::conservative_rank(scores.row(i), label);
        for (std::size_t j = 0; j < ks.size(); ++j)
            if (rank < ks[j]) ++hits_of_class[j][label];
    }
    std::vector<double> mean_recall(ks.size(), 0.0);
    std::size_t classes_present = 0;
    for (std::size_t c = 0; c < scores.cols; ++c) {
        if (images_of_class[c] == 0) continue;
        ++classes_present;
        for (std::size_t j = 0; j < ks.size(); ++j)
            mean_recall[j] += static_cast<double>(hits_of_class[j][c]) / static_cast<double>(images_of_class[c]);
    }
    for (double& r : mean_recall) r /= static_cast<double>(classes_present);
    return mean_recall;
}

/// One sentence stating the category protocol, printed under every category result.
inline std::string describe_category_protocol() {
    return "Category: top-k accuracy, micro over images (an image counts when its true category is among the k "
           "highest-scored of all categories; ties count against it).";
}

// ------------------------------------------------------------------------------------------------
// Attributes: top-k recall per type

/// The five DeepFashion-C attribute types, numbered as in list_attr_cloth.txt's attribute_type column.
enum class AttributeType : int { texture = 1, fabric = 2, shape = 3, part = 4, style = 5 };
inline constexpr std::size_t attribute_type_count = 5;
/// Column names of Table 2, index = type number − 1.
inline constexpr std::array<const char*, attribute_type_count> attribute_type_names = {"Texture", "Fabric", "Shape",
                                                                                       "Part", "Style"};

/// Which attributes compete for an image's top k when a per-type column is computed.
enum class AttributeRanking {
    within_type,  ///< rank only the attributes of that type (the Liu & Lu evaluator; Corbiere's numbers need it)
    global,       ///< rank all attributes together; the type's column counts that type's positives in the list
};
/// How hits and positives of many images become one number.
enum class RecallAverage {
    micro,      ///< Σ_images positives found in the top k / Σ_images positives
    per_image,  ///< mean over images with ≥ 1 positive of (positives found / positives)
};
/// How the "All" column is formed.
enum class AllColumn {
    global_topk,    ///< rank all attributes, top k, averaged as chosen (the Liu & Lu code; Corbiere's All)
    mean_of_types,  ///< arithmetic mean of the per-type columns (how the Liu & Lu paper filled All)
};

/// The attribute protocol as explicit choices. The defaults are the public per-type evaluator of Liu & Lu
/// (deepfashion.md §3): within-type ranking, micro over the test set, All as a global top-k.
struct AttributeRecallProtocol {
    AttributeRanking ranking = AttributeRanking::within_type;
    RecallAverage average = RecallAverage::micro;
    AllColumn all = AllColumn::global_topk;
};

/// Attribute top-k recall. For one image and one set of candidate attributes (one type's attributes when
/// ranking within the type, all attributes otherwise): take the k highest-scored candidates (ties broken by the
/// lower attribute index, so exactly min(k, candidates) are taken); recall = positives among those k / positives.
/// Positives are labels == 1; 0 (unknown) and -1 count as negative, as in every public evaluator. The images'
/// recalls are combined as RecallAverage says. A column is std::nullopt when it has no positive at all.
struct AttributeRecall {
    std::vector<std::size_t> ks;
    /// type_recall[t][j]: recall of type t+1 (Texture … Style) at ks[j].
    std::array<std::vector<std::optional<double>>, attribute_type_count> type_recall;
    /// all_recall[j]: the All column at ks[j].
    std::vector<std::optional<double>> all_recall;
    /// Counts behind the numbers, so a report can show how much evidence each column has.
    std::array<std::size_t, attribute_type_count> type_positives{};
    std::array<std::size_t, attribute_type_count> type_images_with_positives{};
    std::array<std::size_t, attribute_type_count> type_attribute_count{};
    std::size_t all_positives = 0;
    std::size_t images_with_positives = 0;
    std::size_t images = 0;
    AttributeRecallProtocol protocol;
};

namespace detail {

// Sort the candidate indices by score (highest first, lower index first on ties) far enough that the first
// `k` entries are the top k. partial_sort keeps it O(n log k) per image.
inline void top_k_by_score(std::vector<std::size_t>& candidates, std::span<const float> row, std::size_t k) {
    const std::size_t take = std::min(k, candidates.size());
    std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(take), candidates.end(),
                      [&](std::size_t a, std::size_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); });
}

template <class Label>
AttributeRecall attribute_topk_recall_impl(MatrixView scores, std::span<const Label> labels,
                                           std::span<const int> attribute_types, std::span<const std::size_t> ks,
                                           AttributeRecallProtocol protocol) {
    detail::check_ks(ks, "attribute_topk_recall");
    const std::size_t n_images = scores.rows, n_attr = scores.cols;
    SEAM_CHECK(labels.size() == scores.values.size(), "attribute_topk_recall: ", labels.size(), " labels for a ",
               n_images, " x ", n_attr, " score matrix");
    SEAM_CHECK(attribute_types.size() == n_attr, "attribute_topk_recall: ", attribute_types.size(),
               " attribute types for ", n_attr, " attribute columns");
    detail::check_finite(scores, "attribute_topk_recall");

    AttributeRecall result;
    result.ks.assign(ks.begin(), ks.end());
    result.protocol = protocol;
    result.images = n_images;
    std::array<std::vector<std::size_t>, attribute_type_count> attributes_of_type;
    for (std::size_t a = 0; a < n_attr; ++a) {
        const int t = attribute_types[a];
        SEAM_CHECK(t >= 1 && t <= static_cast<int>(attribute_type_count), "attribute_topk_recall: attribute ", a,
                   " has type ", t, " (expected 1..5: texture, fabric, shape, part, style)");
        attributes_of_type[static_cast<std::size_t>(t - 1)].push_back(a);
    }
    for (std::size_t t = 0; t < attribute_type_count; ++t) result.type_attribute_count[t] = attributes_of_type[t].size();

    const std::size_t n_k = ks.size(), k_max = detail::max_k(ks);
    const bool need_global_list =
        protocol.ranking == AttributeRanking::global || protocol.all == AllColumn::global_topk;
    // Accumulators: "found" is Σ positives found (micro) or Σ per-image recall (per_image); "denominator" is
    // Σ positives (micro) or the number of images with a positive (per_image).
    std::array<std::vector<double>, attribute_type_count> type_found;
    for (auto& v : type_found) v.assign(n_k, 0.0);
    std::array<double, attribute_type_count> type_denominator{};
    std::vector<double> all_found(n_k, 0.0);
    double all_denominator = 0.0;

    std::vector<std::size_t> global_list(n_attr);
    std::array<std::vector<std::size_t>, attribute_type_count> type_list;
    std::vector<std::size_t> found_by_rank;  // found_by_rank[r] = positives among the first r+1 of a list
    auto positive = [&](std::size_t image, std::size_t a) { return labels[image * n_attr + a] == Label(1); };
    // Positives of a ranked list found within its first k entries, for every k of ks.
    auto found_in_prefix = [&](const std::vector<std::size_t>& list, std::size_t image, auto&& counts_attribute,
                               std::vector<std::size_t>& out) {
        const std::size_t len = std::min(k_max, list.size());
        found_by_rank.assign(len, 0);
        std::size_t running = 0;
        for (std::size_t r = 0; r < len; ++r) {
            if (counts_attribute(list[r]) && positive(image, list[r])) ++running;
            found_by_rank[r] = running;
        }
        out.assign(n_k, 0);
        for (std::size_t j = 0; j < n_k; ++j)
            out[j] = len == 0 ? 0 : found_by_rank[std::min(ks[j], len) - 1];
    };
    std::vector<std::size_t> found;

    for (std::size_t i = 0; i < n_images; ++i) {
        const auto row = scores.row(i);
        std::array<std::size_t, attribute_type_count> positives_of_type{};
        std::size_t positives_all = 0;
        for (std::size_t a = 0; a < n_attr; ++a) {
            const Label v = labels[i * n_attr + a];
            SEAM_CHECK(v == Label(1) || v == Label(0) || v == Label(-1), "attribute_topk_recall: label ",
                       static_cast<int>(v), " of image ", i, ", attribute ", a, " (expected 1, 0 or -1)");
            if (v == Label(1)) {
                ++positives_of_type[static_cast<std::size_t>(attribute_types[a] - 1)];
                ++positives_all;
            }
        }
        if (positives_all == 0) continue;  // contributes nothing under either average
        ++result.images_with_positives;
        result.all_positives += positives_all;

        if (need_global_list) {
            std::iota(global_list.begin(), global_list.end(), std::size_t{0});
            top_k_by_score(global_list, row, k_max);
        }
        auto add = [&](std::vector<double>& found_acc, double& denominator, std::size_t positives) {
            if (protocol.average == RecallAverage::micro) {
                for (std::size_t j = 0; j < n_k; ++j) found_acc[j] += static_cast<double>(found[j]);
                denominator += static_cast<double>(positives);
            } else {
                for (std::size_t j = 0; j < n_k; ++j)
                    found_acc[j] += static_cast<double>(found[j]) / static_cast<double>(positives);
                denominator += 1.0;
            }
        };
        for (std::size_t t = 0; t < attribute_type_count; ++t) {
            if (positives_of_type[t] == 0) continue;
            result.type_positives[t] += positives_of_type[t];
            ++result.type_images_with_positives[t];
            const int type_number = static_cast<int>(t + 1);
            if (protocol.ranking == AttributeRanking::within_type) {
                type_list[t] = attributes_of_type[t];
                top_k_by_score(type_list[t], row, k_max);
                found_in_prefix(type_list[t], i, [](std::size_t) { return true; }, found);
            } else {
                found_in_prefix(global_list, i, [&](std::size_t a) { return attribute_types[a] == type_number; },
                                found);
            }
            add(type_found[t], type_denominator[t], positives_of_type[t]);
        }
        if (protocol.all == AllColumn::global_topk) {
            found_in_prefix(global_list, i, [](std::size_t) { return true; }, found);
            add(all_found, all_denominator, positives_all);
        }
    }

    for (std::size_t t = 0; t < attribute_type_count; ++t) {
        result.type_recall[t].assign(n_k, std::nullopt);
        if (type_denominator[t] > 0)
            for (std::size_t j = 0; j < n_k; ++j) result.type_recall[t][j] = type_found[t][j] / type_denominator[t];
    }
    result.all_recall.assign(n_k, std::nullopt);
    if (protocol.all == AllColumn::global_topk) {
        if (all_denominator > 0)
            for (std::size_t j = 0; j < n_k; ++j) result.all_recall[j] = all_found[j] / all_denominator;
    } else {
        // Mean over the types that have attributes at all; if one of them has no positive in the test set, the
        // mean of the five columns does not exist and All stays empty rather than quietly averaging four.
        for (std::size_t j = 0; j < n_k; ++j) {
            double sum = 0.0;
            std::size_t types = 0;
            bool complete = true;
            for (std::size_t t = 0; t < attribute_type_count; ++t) {
                if (attributes_of_type[t].empty()) continue;
                if (!result.type_recall[t][j]) complete = false;
                else sum += *result.type_recall[t][j];
                ++types;
            }
            if (complete && types > 0) result.all_recall[j] = sum / static_cast<double>(types);
        }
    }
    return result;
}

}  // namespace detail

/// Attribute top-k recall per type and All (see AttributeRecall for the exact definition).
/// scores: images × attributes; labels: the same shape, row-major, values 1 / 0 / -1; attribute_types: one
/// type number 1..5 per attribute column (list_attr_cloth.txt's attribute_type).
inline AttributeRecall attribute_topk_recall(MatrixView scores, std::span<const std::int8_t> labels,
                                             std::span<const int> attribute_types, std::span<const std::size_t> ks,
                                             AttributeRecallProtocol protocol = {}) {
    return detail::attribute_topk_recall_impl(scores, labels, attribute_types, ks, protocol);
}
inline AttributeRecall attribute_topk_recall(MatrixView scores, std::span<const int> labels,
                                             std::span<const int> attribute_types, std::span<const std::size_t> ks,
                                             AttributeRecallProtocol protocol = {}) {
    return detail::attribute_topk_recall_impl(scores, labels, attribute_types, ks, protocol);
}

/// The attribute protocol as one human-readable sentence; print it under every attribute result.
inline std::string describe(const AttributeRecallProtocol& p) {
    std::string s = "Attributes: top-k recall (labels 1 = positive, 0 and -1 = negative); per type, for each image the k "
                    "highest-scored ";
    s += p.ranking == AttributeRanking::within_type
             ? "attributes of that type are taken (ranking within the type)"
             : "attributes of all types are taken (global ranking) and that type's positives among them are counted";
    s += ", ties going to the lower attribute index; recall = ";
    s += p.average == RecallAverage::micro
             ? "positives found summed over the test set / positives summed over the test set (micro)"
             : "the mean over images with at least one positive of (positives found / positives) (per image)";
    s += "; All = ";
    s += p.all == AllColumn::global_topk ? "the same recall with all attributes ranked together (global top-k)"
                                         : "the arithmetic mean of the five type columns";
    s += ".";
    return s;
}

/// mmfashion's attribute "top-k recall", NOT the papers' metric (kept to compare with its model zoo): every image
/// takes its global top k over all attributes (lower index first on ties); for each attribute that has positives,
/// recall = images where it is positive and in the top k / images where it is positive; the recalls are sorted in
/// descending order and only the best `best_n` (mmfashion: 50) are averaged. On 1000 attributes this averages a
/// cherry-picked 5 %. Returns one number per k, std::nullopt when no attribute has a positive.
inline std::vector<std::optional<double>> mmfashion_attribute_topk_recall(MatrixView scores,
                                                                         std::span<const std::int8_t> labels,
                                                                         std::span<const std::size_t> ks,
                                                                         std::size_t best_n = 50) {
    detail::check_ks(ks, "mmfashion_attribute_topk_recall");
    SEAM_CHECK(labels.size() == scores.values.size(), "mmfashion_attribute_topk_recall: ", labels.size(),
               " labels for a ", scores.rows, " x ", scores.cols, " score matrix");
    SEAM_CHECK(best_n >= 1, "mmfashion_attribute_topk_recall: best_n must be >= 1");
    detail::check_finite(scores, "mmfashion_attribute_topk_recall");
    const std::size_t n_attr = scores.cols, k_max = detail::max_k(ks);
    std::vector<std::size_t> positive_count(n_attr, 0);
    std::vector<std::vector<std::size_t>> true_positive(ks.size(), std::vector<std::size_t>(n_attr, 0));
    std::vector<std::size_t> list(n_attr);
    for (std::size_t i = 0; i < scores.rows; ++i) {
        const auto row = scores.row(i);
        std::iota(list.begin(), list.end(), std::size_t{0});
        detail::top_k_by_score(list, row, k_max);
        for (std::size_t a = 0; a < n_attr; ++a)
            if (labels[i * n_attr + a] == 1) ++positive_count[a];
        for (std::size_t j = 0; j < ks.size(); ++j)
            for (std::size_t r = 0; r < std::min(ks[j], n_attr); ++r)
                if (labels[i * n_attr + list[r]] == 1) ++true_positive[j][list[r]];
    }
    std::vector<std::optional<double>> result(ks.size());
    for (std::size_t j = 0; j < ks.size(); ++j) {
        std::vector<double> recalls;
        for (std::size_t a = 0; a < n_attr; ++a)
            if (positive_count[a] > 0)
                recalls.push_back(static_cast<double>(true_positive[j][a]) / static_cast<double>(positive_count[a]));
        if (recalls.empty()) continue;
        std::sort(recalls.begin(), recalls.end(), std::greater<>());
        const std::size_t n = std::min(best_n, recalls.size());
        result[j] = std::accumulate(recalls.begin(), recalls.begin() + static_cast<std::ptrdiff_t>(n), 0.0) /
                    static_cast<double>(n);
    }
    return result;
}

// ------------------------------------------------------------------------------------------------
// Retrieval: top-k hit rate

enum class Distance {
    cosine,  ///< rank by cosine similarity (embeddings need not be normalised; a zero vector has similarity 0)
    l2,      ///< rank by Euclidean distance, nearest first
};

struct RetrievalOptions {
    Distance distance = Distance::cosine;
    /// Queries scored per block: memory is query_block × gallery floats, whatever the number of queries.
    std::size_t query_block = 256;
};

/// Hit rate at each k, with the counts it rests on.
struct RetrievalResult {
    std::vector<std::size_t> ks;
    std::vector<double> hit_rate;           ///< hit_rate[j]: fraction of queries that are hits at ks[j]
    std::size_t queries = 0;                ///< the denominator: every query, including those below
    std::size_t queries_without_relevant = 0;  ///< queries with no relevant gallery item: always misses
    Distance distance = Distance::cosine;
};

namespace detail {

// Calls visit(query_index, similarity_row) for every query, where similarity_row[g] is larger for gallery items
// that are closer. The similarities of a block of queries come from one GEMM (Eigen), so the cost is O(Q·G·D)
// time and O(block·G) memory.
//  cosine: q·g / |g|. Dividing by |q| too would not change one query's order, so it is left out.
//  l2:     2 q·g − |g|², which is |q|² − |q − g|²: the same order as the Euclidean distance, nearest first.
// Float GEMM rounds differently from a direct sum, so two similarities that are mathematically equal but come
// from different vectors may differ in the last bit; exactly equal values are tied and broken by gallery index.
template <class Visit>
void for_each_similarity_row(MatrixView queries, MatrixView gallery, const RetrievalOptions& options, Visit&& visit) {
    SEAM_CHECK(queries.cols == gallery.cols, "retrieval: query embeddings have ", queries.cols,
               " dimensions but gallery embeddings have ", gallery.cols);
    SEAM_CHECK(gallery.rows > 0, "retrieval: the gallery is empty");
    SEAM_CHECK(options.query_block >= 1, "retrieval: query_block must be >= 1");
    check_finite(queries, "retrieval (query embeddings)");
    check_finite(gallery, "retrieval (gallery embeddings)");
    using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const auto dim = static_cast<Eigen::Index>(queries.cols);
    Eigen::Map<const RowMajor> q_all(queries.values.data(), static_cast<Eigen::Index>(queries.rows), dim);
    Eigen::Map<const RowMajor> g_all(gallery.values.data(), static_cast<Eigen::Index>(gallery.rows), dim);

    // Per-gallery-item factor and offset, computed in double once.
    Eigen::VectorXf scale(static_cast<Eigen::Index>(gallery.rows)), offset(static_cast<Eigen::Index>(gallery.rows));
    for (std::size_t g = 0; g < gallery.rows; ++g) {
        double sq = 0.0;
        for (float v : gallery.row(g)) sq += static_cast<double>(v) * v;
        const auto gi = static_cast<Eigen::Index>(g);
        if (options.distance == Distance::cosine) {
            scale[gi] = sq > 0.0 ? static_cast<float>(1.0 / std::sqrt(sq)) : 0.0f;
            offset[gi] = 0.0f;
        } else {
            scale[gi] = 2.0f;
            offset[gi] = static_cast<float>(-sq);
        }
    }
    RowMajor block;
    for (std::size_t start = 0; start < queries.rows; start += options.query_block) {
        const std::size_t count = std::min(options.query_block, queries.rows - start);
        block.noalias() = q_all.middleRows(static_cast<Eigen::Index>(start), static_cast<Eigen::Index>(count)) *
                          g_all.transpose();
        for (std::size_t b = 0; b < count; ++b) {
            float* row = block.data() + b * gallery.rows;
            for (std::size_t g = 0; g < gallery.rows; ++g)
                row[g] = row[g] * scale[static_cast<Eigen::Index>(g)] + offset[static_cast<Eigen::Index>(g)];
            visit(start + b, std::span<const float>(row, gallery.rows));
        }
    }
}

inline void check_relevant(std::span<const std::vector<std::size_t>> relevant, std::size_t queries,
                           std::size_t gallery, const char* what) {
    SEAM_CHECK(relevant.size() == queries, what, ": ", relevant.size(), " relevant-sets for ", queries, " queries");
    for (std::size_t q = 0; q < relevant.size(); ++q)
        for (std::size_t g : relevant[q])
            SEAM_CHECK(g < gallery, what, ": query ", q, " lists gallery index ", g, " but the gallery has ", gallery,
                       " items");
}

}  // namespace detail

/// Consumer-to-shop top-k retrieval accuracy ("hit rate"; the DeepFashion and WTBI metric): a query is a hit at k
/// when ANY of its relevant gallery items (same item id) is among its k nearest gallery items; the result is the
/// fraction of queries that are hits. Gallery items are ordered by similarity, ties going to the lower gallery
/// index. It needs no sort: the query is a hit at k exactly when its best-placed relevant item has fewer than k
/// items ahead of it, and that count is one pass over the row, so every k of the list comes from the same pass.
/// queries: Q × D, gallery: G × D, relevant[q]: the gallery indices that match query q. A query with no relevant
/// item stays in the denominator as a miss (it is counted in queries_without_relevant so a report can show it).
inline RetrievalResult retrieval_hit_rate(MatrixView queries, MatrixView gallery,
                                          std::span<const std::vector<std::size_t>> relevant,
                                          std::span<const std::size_t> ks, RetrievalOptions options = {}) {
    detail::check_ks(ks, "retrieval_hit_rate");
    SEAM_CHECK(queries.rows > 0, "retrieval_hit_rate: no queries");
    detail::check_relevant(relevant, queries.rows, gallery.rows, "retrieval_hit_rate");
    RetrievalResult result;
    result.ks.assign(ks.begin(), ks.end());
    result.queries = queries.rows;
    result.distance = options.distance;
    std::vector<std::size_t> hits(ks.size(), 0);
    detail::for_each_similarity_row(queries, gallery, options, [&](std::size_t q, std::span<const float> sim) {
        if (relevant[q].empty()) {
            ++result.queries_without_relevant;
            return;
        }
        // The relevant item that comes first in the order (highest similarity, then lowest index).
        std::size_t best = relevant[q].front();
        for (std::size_t g : relevant[q])
            if (sim[g] > sim[best] || (sim[g] == sim[best] && g < best)) best = g;
        const std::size_t rank = detail::index_tiebreak_rank(sim, best);
        for (std::size_t j = 0; j < ks.size(); ++j)
            if (rank < ks[j]) ++hits[j];
    });
    for (std::size_t j = 0; j < ks.size(); ++j)
        result.hit_rate.push_back(static_cast<double>(hits[j]) / static_cast<double>(result.queries));
    return result;
}

/// mmfashion's retrieval "recall@k", NOT the papers' metric: for each query, (relevant gallery items among its top
/// k) / (relevant gallery items), averaged over the queries that have at least one relevant item. With several
/// relevant items a query that finds one of two scores 0.5 here but is a full hit in retrieval_hit_rate; with
/// duplicated gallery entries (mmfashion's C2S lists) the denominator grows too. Same order and ties as above.
inline std::vector<double> mmfashion_retrieval_recall(MatrixView queries, MatrixView gallery,
                                                      std::span<const std::vector<std::size_t>> relevant,
                                                      std::span<const std::size_t> ks, RetrievalOptions options = {}) {
    detail::check_ks(ks, "mmfashion_retrieval_recall");
    SEAM_CHECK(queries.rows > 0, "mmfashion_retrieval_recall: no queries");
    detail::check_relevant(relevant, queries.rows, gallery.rows, "mmfashion_retrieval_recall");
    std::vector<double> sum(ks.size(), 0.0);
    std::size_t counted = 0;
    detail::for_each_similarity_row(queries, gallery, options, [&](std::size_t q, std::span<const float> sim) {
        if (relevant[q].empty()) return;
        ++counted;
        std::vector<std::size_t> found(ks.size(), 0);
        for (std::size_t g : relevant[q]) {
            const std::size_t rank = detail::index_tiebreak_rank(sim, g);
            for (std::size_t j = 0; j < ks.size(); ++j)
                if (rank < ks[j]) ++found[j];
        }
        for (std::size_t j = 0; j < ks.size(); ++j)
            sum[j] += static_cast<double>(found[j]) / static_cast<double>(relevant[q].size());
    });
    SEAM_CHECK(counted > 0, "mmfashion_retrieval_recall: no query has a relevant gallery item");
    for (double& s : sum) s /= static_cast<double>(counted);
    return sum;
}

/// relevant[q] = every gallery index whose id equals query q's id (e.g. the C2S item ids "id_00000218").
template <class Id>
std::vector<std::vector<std::size_t>> relevant_gallery_by_id(std::span<const Id> query_ids,
                                                             std::span<const Id> gallery_ids) {
    std::map<Id, std::vector<std::size_t>> gallery_of_id;
    for (std::size_t g = 0; g < gallery_ids.size(); ++g) gallery_of_id[gallery_ids[g]].push_back(g);
    std::vector<std::vector<std::size_t>> relevant(query_ids.size());
    for (std::size_t q = 0; q < query_ids.size(); ++q)
        if (auto it = gallery_of_id.find(query_ids[q]); it != gallery_of_id.end()) relevant[q] = it->second;
    return relevant;
}

/// One sentence stating the retrieval protocol, printed under every retrieval result.
inline std::string describe_retrieval_protocol(Distance distance) {
    return std::string("Retrieval: top-k hit rate (a query is a hit when any gallery image of its item id is among "
                       "its k nearest gallery images, ") +
           (distance == Distance::cosine ? "by cosine similarity" : "by Euclidean distance") +
           ", ties going to the lower gallery index; queries without a matching gallery image count as misses).";
}

// ------------------------------------------------------------------------------------------------
// Landmarks: normalised error and detection rate

/// Predicted and ground-truth landmarks of `images` images with `slots` landmark slots each (DeepFashion: the
/// canonical 8 slots). All spans are row-major: xy spans hold images × slots × (x, y) in pixels; `counted` holds
/// images × slots flags, 1 where the ground-truth landmark exists for the garment AND is visible (build it with
/// visible_landmark_mask); image_size holds images × (width, height), the normaliser of each image.
struct LandmarkBatch {
    std::size_t images = 0;
    std::size_t slots = 0;
    std::span<const float> predicted_xy;
    std::span<const float> truth_xy;
    std::span<const std::uint8_t> counted;
    std::span<const float> image_size;
};

/// counted flags from the DeepFashion annotations: present[i] = 1 when the garment has that slot (an upper-body
/// garment has no waistline points), visibility[i] in DeepFashion-1 coding (0 visible, 1 occluded, 2 truncated).
/// Only present and visible landmarks are evaluated; an occluded point has no reliable ground-truth position.
inline std::vector<std::uint8_t> visible_landmark_mask(std::span<const std::uint8_t> present,
                                                       std::span<const int> visibility) {
    SEAM_CHECK(present.size() == visibility.size(), "visible_landmark_mask: ", present.size(), " presence flags for ",
               visibility.size(), " visibility values");
    std::vector<std::uint8_t> counted(present.size());
    for (std::size_t i = 0; i < present.size(); ++i) counted[i] = present[i] != 0 && visibility[i] == 0 ? 1 : 0;
    return counted;
}

struct LandmarkError {
    /// Mean normalised error over every counted landmark (micro over landmarks); nullopt when none is counted.
    std::optional<double> mean_error;
    /// Per slot mean normalised error, and its mean over the slots that have one (how AFGN's "avg" is formed:
    /// its 8 per-point errors average to its reported 0.0484).
    std::vector<std::optional<double>> slot_error;
    std::optional<double> mean_of_slot_errors;
    std::vector<std::size_t> slot_count;
    std::size_t counted = 0;
    /// detection_rate[j]: fraction of counted landmarks whose normalised error is <= thresholds[j].
    std::vector<double> thresholds;
    std::vector<std::optional<double>> detection_rate;
};

/// Normalised landmark error: the error of one landmark is the Euclidean distance between prediction and ground
/// truth after dividing x by the image width and y by the image height (so 0.05 means 5 % of the image);
/// averaged only over landmarks whose `counted` flag is 1. Detection rate at threshold τ: the share of those
/// landmarks with error <= τ (mmfashion's "within 10 px at 224" is τ = 10/224).
///
/// Why the mask is applied this way: mmfashion multiplies predictions and ground truth by the visibility mask and
/// then averages over every slot, so a masked slot compares (0,0) with (0,0): it adds zero error, always counts as
/// detected, and still sits in the denominator, which flatters both numbers. Here a masked slot is left out of the
/// sum AND the count, so the result only speaks about landmarks that were really there to find.
inline LandmarkError landmark_error(const LandmarkBatch& batch, std::span<const double> thresholds = {}) {
    const std::size_t n = batch.images * batch.slots;
    SEAM_CHECK(batch.predicted_xy.size() == 2 * n, "landmark_error: ", batch.predicted_xy.size(),
               " predicted coordinates for ", batch.images, " images x ", batch.slots, " slots (expected ", 2 * n, ")");
    SEAM_CHECK(batch.truth_xy.size() == 2 * n, "landmark_error: ", batch.truth_xy.size(),
               " ground-truth coordinates (expected ", 2 * n, ")");
    SEAM_CHECK(batch.counted.size() == n, "landmark_error: ", batch.counted.size(), " counted flags (expected ", n,
               ")");
    SEAM_CHECK(batch.image_size.size() == 2 * batch.images, "landmark_error: ", batch.image_size.size(),
               " image-size values (expected width and height of ", batch.images, " images)");
    for (double t : thresholds) SEAM_CHECK(t >= 0.0, "landmark_error: negative threshold ", t);

    LandmarkError result;
    result.thresholds.assign(thresholds.begin(), thresholds.end());
    std::vector<double> slot_sum(batch.slots, 0.0);
    result.slot_count.assign(batch.slots, 0);
    std::vector<std::size_t> detected(thresholds.size(), 0);
    double total = 0.0;
    for (std::size_t i = 0; i < batch.images; ++i) {
        const double width = batch.image_size[2 * i], height = batch.image_size[2 * i + 1];
        SEAM_CHECK(width > 0.0 && height > 0.0, "landmark_error: image ", i, " has size ", width, " x ", height);
        for (std::size_t s = 0; s < batch.slots; ++s) {
            const std::size_t at = i * batch.slots + s;
            if (batch.counted[at] == 0) continue;
            const double dx = (static_cast<double>(batch.predicted_xy[2 * at]) - batch.truth_xy[2 * at]) / width;
            const double dy =
                (static_cast<double>(batch.predicted_xy[2 * at + 1]) - batch.truth_xy[2 * at + 1]) / height;
            const double error = std::sqrt(dx * dx + dy * dy);
            SEAM_CHECK(std::isfinite(error), "landmark_error: image ", i, ", slot ", s, " has a non-finite coordinate");
            total += error;
            slot_sum[s] += error;
            ++result.slot_count[s];
            ++result.counted;
            for (std::size_t j = 0; j < thresholds.size(); ++j)
                if (error <= thresholds[j]) ++detected[j];
        }
    }
    result.detection_rate.assign(thresholds.size(), std::nullopt);
    if (result.counted > 0) {
        result.mean_error = total / static_cast<double>(result.counted);
        for (std::size_t j = 0; j < thresholds.size(); ++j)
            result.detection_rate[j] = static_cast<double>(detected[j]) / static_cast<double>(result.counted);
    }
    result.slot_error.assign(batch.slots, std::nullopt);
    double slot_mean_sum = 0.0;
    std::size_t slots_with_error = 0;
    for (std::size_t s = 0; s < batch.slots; ++s) {
        if (result.slot_count[s] == 0) continue;
        result.slot_error[s] = slot_sum[s] / static_cast<double>(result.slot_count[s]);
        slot_mean_sum += *result.slot_error[s];
        ++slots_with_error;
    }
    if (slots_with_error > 0) result.mean_of_slot_errors = slot_mean_sum / static_cast<double>(slots_with_error);
    return result;
}

}  // namespace seam::eval
