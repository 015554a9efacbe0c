// Tests of seam/eval: every metric against numbers worked out by hand (the working is in the comments), the
// protocol options that must give different numbers, the table writers' exact output, JSON escaping and CSV errors.
#include <seam/eval/csv.hpp>
#include <seam/eval/metrics.hpp>
#include <seam/eval/paper_rows.hpp>
#include <seam/eval/tables.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

using namespace seam::eval;

namespace {

// The message of the seam::Error that `f` throws ("" if it throws none).
template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const seam::Error& e) {
        return e.what();
    }
    return "";
}

const std::vector<std::size_t> k_1_2{1, 2};

}  // namespace

// ------------------------------------------------------------------------------------------------
// Category

TEST_CASE("category_topk_accuracy: micro over images, ties count against the prediction") {
    // 3 images x 4 classes.
    // image 0: true class 2 (0.5); only class 1 (0.9) scores >= 0.5 -> rank 1: miss at k=1, hit at k=2.
    // image 1: all four classes tie at 0.4, true class 0; the 3 others tie with it and count against -> rank 3:
    //          miss at k=1 and k=2, hit only at k=4 (a "lower index wins" rule would have called it a top-1 hit).
    // image 2: true class 0 has the top score 0.8 -> rank 0: hit everywhere.
    // top-1 = 1/3, top-2 = 2/3, top-4 = 3/3.
    const std::vector<float> scores{0.1f, 0.9f, 0.5f, 0.3f,  //
                                    0.4f, 0.4f, 0.4f, 0.4f,  //
                                    0.8f, 0.1f, 0.2f, 0.3f};
    const std::vector<int> labels{2, 0, 0};
    const std::vector<std::size_t> ks{1, 2, 4};
    const auto acc = category_topk_accuracy(MatrixView(scores, 3, 4), labels, ks);
    REQUIRE(acc.size() == 3);
    CHECK(acc[0] == doctest::Approx(1.0 / 3.0));
    CHECK(acc[1] == doctest::Approx(2.0 / 3.0));
    CHECK(acc[2] == doctest::Approx(1.0));
}

TEST_CASE("category: mmfashion's mean per-class recall differs from the papers' top-k accuracy") {
    // 4 images, 2 classes, k = 1. Class 0 has 3 images, all predicted right; class 1 has 1 image, predicted wrong.
    // papers (micro): 3 hits / 4 images = 0.75.   mmfashion (per class): (3/3 + 0/1) / 2 = 0.5.
    const std::vector<float> scores{0.9f, 0.1f,  //
                                    0.8f, 0.2f,  //
                                    0.7f, 0.3f,  //
                                    0.6f, 0.4f};
    const std::vector<int> labels{0, 0, 0, 1};
    const std::vector<std::size_t> ks{1};
    const MatrixView view(scores, 4, 2);
    CHECK(category_topk_accuracy(view, labels, ks)[0] == doctest::Approx(0.75));
    CHECK(category_mean_per_class_topk_recall(view, labels, ks)[0] == doctest::Approx(0.5));
}

TEST_CASE("category: bad input is rejected with a message") {
    const std::vector<float> scores{0.1f, 0.2f, 0.3f, 0.4f};
    const std::vector<int> labels{0, 2};
    const std::vector<std::size_t> ks{1};
    CHECK(error_of([&] { category_topk_accuracy(MatrixView(scores, 2, 2), labels, ks); }).find("label 2 of image 1") !=
          std::string::npos);
    CHECK(error_of([&] { MatrixView(scores, 3, 2); }).find("4 values for a 3 x 2 matrix") != std::string::npos);
    const std::vector<float> with_nan{0.1f, std::nanf(""), 0.3f, 0.4f};
    const std::vector<int> ok_labels{0, 1};
    CHECK(error_of([&] { category_topk_accuracy(MatrixView(with_nan, 2, 2), ok_labels, ks); })
              .find("row 0, column 1") != std::string::npos);
    const std::vector<std::size_t> zero_k{0};
    CHECK_FALSE(error_of([&] { category_topk_accuracy(MatrixView(scores, 2, 2), ok_labels, zero_k); }).empty());
}

// ------------------------------------------------------------------------------------------------
// Attributes

namespace {

// 4 images x 5 attributes; attributes 0,1 are Texture (type 1), 2,3,4 are Fabric (type 2).
//   A: scores .9 .1 .8 .7 .2   labels -1  1  1  0 -1   positives: a1 (T), a2 (F); a3 is 0 = unknown -> negative
//   B: scores .3 .3 .5 .5 .6   labels  1 -1 -1  1 -1   positives: a0 (T), a3 (F); ties a0=a1 and a2=a3
//   C: scores .2 .1 .3 .4 .5   labels all -1           no positive: contributes nothing anywhere
//   D: scores .1 .2 .9 .8 .7   labels -1 -1  1  1  1   positives: a2 a3 a4 (F)
const std::vector<float> attr_scores{0.9f, 0.1f, 0.8f, 0.7f, 0.2f,  //
                                     0.3f, 0.3f, 0.5f, 0.5f, 0.6f,  //
                                     0.2f, 0.1f, 0.3f, 0.4f, 0.5f,  //
                                     0.1f, 0.2f, 0.9f, 0.8f, 0.7f};
const std::vector<std::int8_t> attr_labels{-1, 1,  1,  0,  -1,  //
                                           1,  -1, -1, 1,  -1,  //
                                           -1, -1, -1, -1, -1,  //
                                           -1, -1, 1,  1,  1};
const std::vector<int> attr_types{1, 1, 2, 2, 2};

AttributeRecall recall_of(AttributeRecallProtocol protocol) {
    return attribute_topk_recall(MatrixView(attr_scores, 4, 5), attr_labels, attr_types, k_1_2, protocol);
}

}  // namespace

TEST_CASE("attribute recall: within-type ranking, micro (the default protocol)") {
    // Within type, ties to the lower index:
    //   k=1  A: T top {a0} neg -> 0/1;  F top {a2} pos -> 1/1
    //        B: T tie a0=a1 -> {a0} pos -> 1/1;  F top {a4} neg -> 0/1
    //        D: F top {a2} -> 1/3
    //        Texture = (0+1)/(1+1) = 0.5;  Fabric = (1+0+1)/(1+1+3) = 0.4
    //   k=2  A: T {a0,a1} -> 1/1; F {a2,a3} -> a2 pos (a3 is 0 = negative) -> 1/1
    //        B: T {a0,a1} -> 1/1; F {a4, then a2 before a3 on the tie} -> 0/1
    //        D: F {a2,a3} -> 2/3
    //        Texture = 2/2 = 1;  Fabric = (1+0+2)/5 = 0.6
    // All, global top-k over all 5, micro (A, B, D have 2, 2, 3 positives = 7):
    //   global orders: A a0 a2 a3 a4 a1;  B a4 a2 a3 a0 a1;  D a2 a3 a4 a1 a0
    //   k=1: A a0 neg, B a4 neg, D a2 pos -> 1/7;   k=2: A {a0,a2} 1, B {a4,a2} 0, D {a2,a3} 2 -> 3/7
    const auto r = recall_of({});
    REQUIRE(r.type_recall[0][0]);
    CHECK(*r.type_recall[0][0] == doctest::Approx(0.5));
    CHECK(*r.type_recall[0][1] == doctest::Approx(1.0));
    CHECK(*r.type_recall[1][0] == doctest::Approx(0.4));
    CHECK(*r.type_recall[1][1] == doctest::Approx(0.6));
    for (std::size_t t = 2; t < 5; ++t) CHECK_FALSE(r.type_recall[t][0].has_value());  // no attribute, no positive
    CHECK(*r.all_recall[0] == doctest::Approx(1.0 / 7.0));
    CHECK(*r.all_recall[1] == doctest::Approx(3.0 / 7.0));
    CHECK(r.images == 4);
    CHECK(r.images_with_positives == 3);  // C has none
    CHECK(r.all_positives == 7);
    CHECK(r.type_positives[0] == 2);
    CHECK(r.type_positives[1] == 5);
    CHECK(r.type_attribute_count[1] == 3);
}

TEST_CASE("attribute recall: global ranking gives different per-type numbers than within-type") {
    // Global top-k list, then count that type's positives (orders in the test above):
    //   k=1: A a0 -> T 0/1, F 0/1;  B a4 -> T 0/1, F 0/1;  D a2 -> F 1/3.   Texture 0/2 = 0;  Fabric 1/5 = 0.2
    //   k=2: A {a0,a2} -> T 0, F 1;  B {a4,a2} -> T 0, F 0;  D {a2,a3} -> F 2.  Texture 0;  Fabric 3/5 = 0.6
    AttributeRecallProtocol p;
    p.ranking = AttributeRanking::global;
    const auto r = recall_of(p);
    CHECK(*r.type_recall[0][0] == doctest::Approx(0.0));
    CHECK(*r.type_recall[0][1] == doctest::Approx(0.0));
    CHECK(*r.type_recall[1][0] == doctest::Approx(0.2));
    CHECK(*r.type_recall[1][1] == doctest::Approx(0.6));
    const auto within = recall_of({});
    CHECK(*within.type_recall[0][0] != doctest::Approx(*r.type_recall[0][0]));
}

TEST_CASE("attribute recall: per-image average differs from micro") {
    // Per image, over images with a positive of the type:
    //   Fabric k=1: A 1/1, B 0/1, D 1/3 -> (1 + 0 + 1/3)/3 = 4/9;   k=2: A 1, B 0, D 2/3 -> (5/3)/3 = 5/9
    //   Texture k=1: A 0, B 1 -> 0.5;  k=2: 1
    //   All (global) k=1: A 0/2, B 0/2, D 1/3 -> 1/9;  k=2: A 1/2, B 0, D 2/3 -> (7/6)/3 = 7/18
    AttributeRecallProtocol p;
    p.average = RecallAverage::per_image;
    const auto r = recall_of(p);
    CHECK(*r.type_recall[1][0] == doctest::Approx(4.0 / 9.0));
    CHECK(*r.type_recall[1][1] == doctest::Approx(5.0 / 9.0));
    CHECK(*r.type_recall[0][0] == doctest::Approx(0.5));
    CHECK(*r.type_recall[0][1] == doctest::Approx(1.0));
    CHECK(*r.all_recall[0] == doctest::Approx(1.0 / 9.0));
    CHECK(*r.all_recall[1] == doctest::Approx(7.0 / 18.0));
}

TEST_CASE("attribute recall: All as the mean of the types") {
    // Only Texture and Fabric have attributes, so the mean is over those two:
    //   k=1: (0.5 + 0.4)/2 = 0.45;   k=2: (1 + 0.6)/2 = 0.8
    AttributeRecallProtocol p;
    p.all = AllColumn::mean_of_types;
    const auto r = recall_of(p);
    CHECK(*r.all_recall[0] == doctest::Approx(0.45));
    CHECK(*r.all_recall[1] == doctest::Approx(0.8));

    // A Shape attribute that is never positive makes the Shape column undefined, so the mean of the types is too.
    std::vector<float> scores;
    std::vector<std::int8_t> labels;
    for (std::size_t i = 0; i < 4; ++i) {
        for (std::size_t a = 0; a < 5; ++a) {
            scores.push_back(attr_scores[i * 5 + a]);
            labels.push_back(attr_labels[i * 5 + a]);
        }
        scores.push_back(0.0f);
        labels.push_back(-1);
    }
    const std::vector<int> types{1, 1, 2, 2, 2, 3};
    const auto undefined = attribute_topk_recall(MatrixView(scores, 4, 6), labels, types, k_1_2, p);
    CHECK_FALSE(undefined.type_recall[2][0].has_value());
    CHECK_FALSE(undefined.all_recall[0].has_value());
}

TEST_CASE("attribute recall: images without positives change nothing - int labels work the same") {
    // Dropping image C (no positives) must leave every number unchanged.
    std::vector<float> scores(attr_scores.begin(), attr_scores.begin() + 10);
    scores.insert(scores.end(), attr_scores.begin() + 15, attr_scores.end());
    std::vector<int> labels(attr_labels.begin(), attr_labels.begin() + 10);
    labels.insert(labels.end(), attr_labels.begin() + 15, attr_labels.end());
    const auto without_c = attribute_topk_recall(MatrixView(scores, 3, 5), labels, attr_types, k_1_2);
    const auto with_c = recall_of({});
    for (std::size_t j = 0; j < 2; ++j) {
        CHECK(*without_c.type_recall[0][j] == doctest::Approx(*with_c.type_recall[0][j]));
        CHECK(*without_c.type_recall[1][j] == doctest::Approx(*with_c.type_recall[1][j]));
        CHECK(*without_c.all_recall[j] == doctest::Approx(*with_c.all_recall[j]));
    }
    // k larger than a type's attribute count takes the whole type: Texture (2 attributes) at k=5 finds everything.
    const std::vector<std::size_t> k5{5};
    const auto r5 = attribute_topk_recall(MatrixView(attr_scores, 4, 5), attr_labels, attr_types, k5);
    CHECK(*r5.type_recall[0][0] == doctest::Approx(1.0));
    CHECK(*r5.all_recall[0] == doctest::Approx(1.0));
}

TEST_CASE("attribute recall: bad labels and types are rejected") {
    std::vector<std::int8_t> labels = attr_labels;
    labels[7] = 2;
    CHECK(error_of([&] {
              attribute_topk_recall(MatrixView(attr_scores, 4, 5), labels, attr_types, k_1_2);
          }).find("image 1, attribute 2") != std::string::npos);
    const std::vector<int> bad_types{1, 1, 2, 2, 6};
    CHECK(error_of([&] {
              attribute_topk_recall(MatrixView(attr_scores, 4, 5), attr_labels, bad_types, k_1_2);
          }).find("attribute 4 has type 6") != std::string::npos);
}

TEST_CASE("attribute recall: mmfashion's best-50 per-attribute mean differs from the papers' recall") {
    // Global top-2 lists: A {a0,a2}, B {a4,a2}, C {a4,a3}, D {a2,a3}.
    // Per attribute (images where positive; found in the list):  a0: B -> 0/1;  a1: A -> 0/1;  a2: A, D -> 2/2;
    //   a3: B, D -> D only -> 1/2;  a4: D -> 0/1.   Sorted: 1, .5, 0, 0, 0.
    // best 50 (all 5): 1.5/5 = 0.3;  best 2: 0.75.   The papers' All (global, micro) at k=2 is 3/7 = 0.4286.
    const std::vector<std::size_t> k2{2};
    const auto all5 = mmfashion_attribute_topk_recall(MatrixView(attr_scores, 4, 5), attr_labels, k2);
    const auto best2 = mmfashion_attribute_topk_recall(MatrixView(attr_scores, 4, 5), attr_labels, k2, 2);
    CHECK(*all5[0] == doctest::Approx(0.3));
    CHECK(*best2[0] == doctest::Approx(0.75));
    CHECK(*recall_of({}).all_recall[1] == doctest::Approx(3.0 / 7.0));
}

TEST_CASE("attribute protocol sentences name every choice") {
    const std::string d = describe(AttributeRecallProtocol{});
    CHECK(d.find("within the type") != std::string::npos);
    CHECK(d.find("(micro)") != std::string::npos);
    CHECK(d.find("global top-k") != std::string::npos);
    AttributeRecallProtocol p{AttributeRanking::global, RecallAverage::per_image, AllColumn::mean_of_types};
    const std::string e = describe(p);
    CHECK(e.find("global ranking") != std::string::npos);
    CHECK(e.find("(per image)") != std::string::npos);
    CHECK(e.find("mean of the five type columns") != std::string::npos);
}

// ------------------------------------------------------------------------------------------------
// Retrieval

namespace {

// Gallery (2-D): g0 (1,0)  g1 (0,1)  g2 (1,1)  g3 (-1,0)  g4 (1,0) (a copy of g0: an exact tie).
const std::vector<float> gallery{1, 0, 0, 1, 1, 1, -1, 0, 1, 0};
// Queries and their relevant gallery items (cosine similarity = q.g / (|q||g|)):
//   q0 (2,1)  relevant {g4, g1}: sims g0 2/√5, g1 1/√5, g2 3/√10, g3 -2/√5, g4 2/√5
//             order g2 g0 g4 g1 g3 (g0 before g4 on the tie) -> best relevant g4 has 2 ahead: rank 2
//   q1 (0,1)  relevant {g3}:     sims g0 0, g1 1, g2 1/√2, g3 0, g4 0 -> order g1 g2 g0 g3 g4 -> rank 3
//   q2 (1,0)  relevant {}:       can never be a hit; stays in the denominator
//   q3 (0,1)  relevant {g1, g2}: g1 is first -> rank 0
// Hit rate: k=1 -> q3 = 1/4;  k=3 -> q0, q3 = 2/4;  k=4 -> q0, q1, q3 = 3/4.
// mmfashion recall (per query: relevant in top k / relevant; q2 skipped; ranks: q0 g4 2, g1 3; q1 g3 3;
//   q3 g1 0, g2 1):  k=1: (0 + 0 + 1/2)/3 = 1/6;  k=3: (1/2 + 0 + 1)/3 = 1/2;  k=4: (1 + 1 + 1)/3 = 1
const std::vector<float> queries{2, 1, 0, 1, 1, 0, 0, 1};
const std::vector<std::vector<std::size_t>> relevant{{4, 1}, {3}, {}, {1, 2}};
const std::vector<std::size_t> ks_134{1, 3, 4};

}  // namespace

TEST_CASE("retrieval_hit_rate: any relevant item in the top k, ties to the lower gallery index") {
    for (std::size_t block : {1u, 3u, 256u}) {  // blocks that split the queries unevenly give the same result
        RetrievalOptions options;
        options.query_block = block;
        const auto r = retrieval_hit_rate(MatrixView(queries, 4, 2), MatrixView(gallery, 5, 2), relevant, ks_134,
                                          options);
        REQUIRE(r.hit_rate.size() == 3);
        CHECK(r.hit_rate[0] == doctest::Approx(0.25));
        CHECK(r.hit_rate[1] == doctest::Approx(0.5));
        CHECK(r.hit_rate[2] == doctest::Approx(0.75));
        CHECK(r.queries == 4);
        CHECK(r.queries_without_relevant == 1);
    }
}

TEST_CASE("retrieval: mmfashion's recall@k is not the hit rate") {
    const auto recall =
        mmfashion_retrieval_recall(MatrixView(queries, 4, 2), MatrixView(gallery, 5, 2), relevant, ks_134);
    CHECK(recall[0] == doctest::Approx(1.0 / 6.0));
    CHECK(recall[1] == doctest::Approx(0.5));
    CHECK(recall[2] == doctest::Approx(1.0));
}

TEST_CASE("retrieval: cosine and L2 rank differently") {
    // Gallery h0 (1,0), h1 (4,0); query (3,0), relevant {h1}.
    //   cosine: both similarities are 1 -> tie -> h0 first -> h1 has rank 1: miss at k=1.
    //   L2: |q-h0| = 2, |q-h1| = 1 -> h1 first: hit at k=1.
    const std::vector<float> g{1, 0, 4, 0};
    const std::vector<float> q{3, 0};
    const std::vector<std::vector<std::size_t>> rel{{1}};
    const std::vector<std::size_t> k1{1};
    CHECK(retrieval_hit_rate(MatrixView(q, 1, 2), MatrixView(g, 2, 2), rel, k1).hit_rate[0] == 0.0);
    RetrievalOptions l2;
    l2.distance = Distance::l2;
    CHECK(retrieval_hit_rate(MatrixView(q, 1, 2), MatrixView(g, 2, 2), rel, k1, l2).hit_rate[0] == 1.0);
}

TEST_CASE("retrieval: relevant sets from item ids, and bad input") {
    const std::vector<std::string> query_ids{"id_1", "id_2", "id_9"};
    const std::vector<std::string> gallery_ids{"id_2", "id_1", "id_2"};
    const auto rel = relevant_gallery_by_id<std::string>(query_ids, gallery_ids);
    REQUIRE(rel.size() == 3);
    CHECK(rel[0] == std::vector<std::size_t>{1});
    CHECK(rel[1] == std::vector<std::size_t>{0, 2});
    CHECK(rel[2].empty());

    const std::vector<std::vector<std::size_t>> out_of_range{{5}, {}, {}, {}};
    CHECK(error_of([&] {
              retrieval_hit_rate(MatrixView(queries, 4, 2), MatrixView(gallery, 5, 2), out_of_range, ks_134);
          }).find("query 0 lists gallery index 5") != std::string::npos);
    const std::vector<float> three_d{1, 2, 3};
    CHECK(error_of([&] {
              retrieval_hit_rate(MatrixView(three_d, 1, 3), MatrixView(gallery, 5, 2), {relevant.data(), 1}, ks_134);
          }).find("3 dimensions") != std::string::npos);
}

TEST_CASE("retrieval_hit_rate agrees with a brute-force sort in double precision on random data") {
    // The library scores blocks of queries with a float GEMM and counts ranks without sorting; the reference below
    // computes every similarity in double, sorts the whole gallery (similarity descending, index ascending) and
    // takes the position of the first relevant item. Random Gaussian data has no near-ties, so they must agree.
    const std::size_t n_query = 37, n_gallery = 211, dim = 13;
    std::vector<float> q(n_query * dim), g(n_gallery * dim);
    std::uint32_t state = 12345;
    auto next = [&] {  // a small LCG: deterministic and independent of <random>'s distributions
        state = state * 1664525u + 1013904223u;
        return static_cast<float>(state >> 8) / static_cast<float>(1u << 24) - 0.5f;
    };
    for (auto& v : q) v = next();
    for (auto& v : g) v = next();
    std::vector<std::vector<std::size_t>> rel(n_query);
    for (std::size_t i = 0; i < n_query; ++i) rel[i] = {(i * 17) % n_gallery, (i * 5 + 3) % n_gallery};
    const std::vector<std::size_t> ks{1, 5, 10, 50, 100};
    for (Distance distance : {Distance::cosine, Distance::l2}) {
        std::vector<std::size_t> hits(ks.size(), 0);
        for (std::size_t i = 0; i < n_query; ++i) {
            std::vector<std::pair<double, std::size_t>> order;
            for (std::size_t j = 0; j < n_gallery; ++j) {
                double dot = 0, qq = 0, gg = 0, dd = 0;
                for (std::size_t d = 0; d < dim; ++d) {
                    const double a = q[i * dim + d], b = g[j * dim + d];
                    dot += a * b, qq += a * a, gg += b * b, dd += (a - b) * (a - b);
                }
                order.emplace_back(distance == Distance::cosine ? -dot / std::sqrt(qq * gg) : dd, j);
            }
            std::sort(order.begin(), order.end());
            std::size_t first = n_gallery;
            for (std::size_t r = 0; r < n_gallery && first == n_gallery; ++r)
                for (std::size_t want : rel[i])
                    if (order[r].second == want) first = r;
            for (std::size_t k = 0; k < ks.size(); ++k)
                if (first < ks[k]) ++hits[k];
        }
        RetrievalOptions options;
        options.distance = distance;
        options.query_block = 8;
        const auto r = retrieval_hit_rate(MatrixView(q, n_query, dim), MatrixView(g, n_gallery, dim), rel, ks, options);
        for (std::size_t k = 0; k < ks.size(); ++k)
            CHECK(r.hit_rate[k] == doctest::Approx(static_cast<double>(hits[k]) / n_query));
    }
}

// ------------------------------------------------------------------------------------------------
// Landmarks

TEST_CASE("landmark_error: normalised by image size, only present and visible landmarks count") {
    // 2 images x 3 slots.  image 0 is 8 x 8, image 1 is 16 x 4 (width x height).
    //   img0 s0: pred (1,1) truth (4,5): (3/8, 4/8) -> sqrt(.140625 + .25) = 0.625         counted
    //   img0 s1: pred (2,2) truth (2,2): 0                                                  counted
    //   img0 s2: pred (0,0) truth (7,7): occluded (visibility 1)                            NOT counted
    //   img1 s0: pred (4,1) truth (8,1): (4/16, 0) -> 0.25                                  counted
    //   img1 s1: slot absent for this garment                                               NOT counted
    //   img1 s2: pred (0,0) truth (0,2): (0, 2/4) -> 0.5                                    counted
    // mean over 4 counted: (0.625 + 0 + 0.25 + 0.5)/4 = 1.375/4 = 0.34375
    // per slot: s0 (0.625+0.25)/2 = 0.4375, s1 0, s2 0.5 -> mean of slots 0.9375/3 = 0.3125
    // detected (error <= t): t=0.25 -> {0, 0.25} 2/4;  t=0.5 -> 3/4;  t=1 -> 4/4
    const std::vector<float> pred{1, 1, 2, 2, 0, 0, 4, 1, 0, 0, 0, 0};
    const std::vector<float> truth{4, 5, 2, 2, 7, 7, 8, 1, 0, 0, 0, 2};
    const std::vector<std::uint8_t> present{1, 1, 1, 1, 0, 1};
    const std::vector<int> visibility{0, 0, 1, 0, 0, 0};
    const auto counted = visible_landmark_mask(present, visibility);
    CHECK(counted == std::vector<std::uint8_t>{1, 1, 0, 1, 0, 1});
    const std::vector<float> sizes{8, 8, 16, 4};
    const std::vector<double> thresholds{0.25, 0.5, 1.0};
    const auto r = landmark_error({2, 3, pred, truth, counted, sizes}, thresholds);
    CHECK(r.counted == 4);
    CHECK(*r.mean_error == doctest::Approx(0.34375));
    CHECK(*r.slot_error[0] == doctest::Approx(0.4375));
    CHECK(*r.slot_error[1] == doctest::Approx(0.0));
    CHECK(*r.slot_error[2] == doctest::Approx(0.5));
    CHECK(*r.mean_of_slot_errors == doctest::Approx(0.3125));
    CHECK(*r.detection_rate[0] == doctest::Approx(0.5));
    CHECK(*r.detection_rate[1] == doctest::Approx(0.75));
    CHECK(*r.detection_rate[2] == doctest::Approx(1.0));

    // mmfashion's way: coordinates multiplied by the mask and every slot counted. The two masked slots become
    // (0,0) vs (0,0): zero error, "detected". Mean 1.375/6 = 0.2292 and detection at 0.25 is 4/6: both flattered.
    std::vector<float> masked_pred = pred, masked_truth = truth;
    for (std::size_t i = 0; i < 6; ++i)
        if (!counted[i]) masked_pred[2 * i] = masked_pred[2 * i + 1] = masked_truth[2 * i] = masked_truth[2 * i + 1] = 0;
    const std::vector<std::uint8_t> all_slots(6, 1);
    const auto flattered = landmark_error({2, 3, masked_pred, masked_truth, all_slots, sizes}, thresholds);
    CHECK(*flattered.mean_error == doctest::Approx(1.375 / 6.0));
    CHECK(*flattered.detection_rate[0] == doctest::Approx(4.0 / 6.0));
    CHECK(*flattered.mean_error < *r.mean_error);

    // Nothing counted -> no number at all.
    const std::vector<std::uint8_t> none(6, 0);
    const auto empty = landmark_error({2, 3, pred, truth, none, sizes}, thresholds);
    CHECK_FALSE(empty.mean_error.has_value());
    CHECK_FALSE(empty.detection_rate[0].has_value());
    CHECK(error_of([&] { landmark_error({2, 3, pred, truth, none, {sizes.data(), 3}}); }).find("image-size") !=
          std::string::npos);
}

// ------------------------------------------------------------------------------------------------
// Tables

namespace {

CategoryAttributeTable two_row_table() {
    CategoryAttributeRow measured;
    measured.model = "Net";
    measured.dataset = "SynthFashion-C (seed 1)";
    measured.certainty = Certainty::measured;
    measured.note = "seed 1, \"tiny\"";
    measured.category = {12.3, 50.0};
    measured.texture = {std::nullopt, 7.5};
    measured.all = {33.333333, std::nullopt};
    CategoryAttributeRow reported;
    reported.model = "A|B";
    reported.dataset = "DeepFashion-C";
    reported.certainty = Certainty::read;
    reported.source = "Paper, 2016";
    for (TopThreeFive* c : {&reported.category, &reported.texture, &reported.fabric, &reported.shape, &reported.part,
                            &reported.style, &reported.all})
        *c = {1.0, 2.0};
    return {"T", {measured, reported}, {"P1."}};
}

}  // namespace

TEST_CASE("table 2 writers: exact markdown, CSV and JSON of a 2-row table") {
    const auto table = two_row_table();
    CHECK(to_markdown(table) ==
          "**T**\n"
          "\n"
          "| Model | Data set | Category | Texture | Fabric | Shape | Part | Style | All | Source |\n"
          "|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n"
          "| Net | SynthFashion-C (seed 1) | 12.30 / 50.00 | – / 7.50 | – / – | – / – | – / – | – / – | 33.33 / – "
          "| measured |\n"
          "| A\\|B | DeepFashion-C | 1.00 / 2.00 | 1.00 / 2.00 | 1.00 / 2.00 | 1.00 / 2.00 | 1.00 / 2.00 | "
          "1.00 / 2.00 | 1.00 / 2.00 | Paper, 2016 [read] |\n"
          "\n"
          "Notes:\n"
          "- Net (SynthFashion-C (seed 1)): seed 1, \"tiny\"\n"
          "\n"
          "P1.\n");
    CHECK(to_csv(table) ==
          "model,dataset,certainty,source,category_top3,category_top5,texture_top3,texture_top5,fabric_top3,"
          "fabric_top5,shape_top3,shape_top5,part_top3,part_top5,style_top3,style_top5,all_top3,all_top5,note\n"
          "Net,SynthFashion-C (seed 1),measured,,12.30,50.00,,7.50,,,,,,,,,33.33,,\"seed 1, \"\"tiny\"\"\"\n"
          "A|B,DeepFashion-C,read,\"Paper, 2016\",1.00,2.00,1.00,2.00,1.00,2.00,1.00,2.00,1.00,2.00,1.00,2.00,"
          "1.00,2.00,\n");
    const std::string ones = "{\"top3\": 1, \"top5\": 2}";
    CHECK(to_json(table) ==
          "{\n"
          "  \"title\": \"T\",\n"
          "  \"protocol\": [\"P1.\"],\n"
          "  \"rows\": [\n"
          "    {\"model\": \"Net\", \"dataset\": \"SynthFashion-C (seed 1)\", \"certainty\": \"measured\", "
          "\"source\": \"\", \"note\": \"seed 1, \\\"tiny\\\"\", \"category\": {\"top3\": 12.3, \"top5\": 50}, "
          "\"texture\": {\"top3\": null, \"top5\": 7.5}, \"fabric\": {\"top3\": null, \"top5\": null}, "
          "\"shape\": {\"top3\": null, \"top5\": null}, \"part\": {\"top3\": null, \"top5\": null}, "
          "\"style\": {\"top3\": null, \"top5\": null}, \"all\": {\"top3\": 33.333333, \"top5\": null}},\n"
          "    {\"model\": \"A|B\", \"dataset\": \"DeepFashion-C\", \"certainty\": \"read\", \"source\": "
          "\"Paper, 2016\", \"note\": \"\", \"category\": " +
              ones + ", \"texture\": " + ones + ", \"fabric\": " + ones + ", \"shape\": " + ones + ", \"part\": " +
              ones + ", \"style\": " + ones + ", \"all\": " + ones +
              "}\n"
              "  ]\n"
              "}\n");
}

TEST_CASE("table 3 writers: exact markdown and CSV of a 2-row table") {
    ConsumerToShopRow measured;
    measured.model = "Net";
    measured.dataset = "SynthFashion-C2S (seed 1)";
    measured.source = "3 epochs";
    measured.top1 = 10.0;
    measured.top20 = 40.25;
    ConsumerToShopRow reported;
    reported.model = "X";
    reported.dataset = "DeepFashion-C2S";
    reported.certainty = Certainty::recalled;
    reported.source = "Y";
    reported.top20 = 6.3;
    const ConsumerToShopTable table{"T3", {measured, reported}, {"P."}};
    CHECK(to_markdown(table) ==
          "**T3**\n\n"
          "| Model | Data set | R@1 | R@20 | R@50 | Source |\n"
          "|---|---|---:|---:|---:|---|\n"
          "| Net | SynthFashion-C2S (seed 1) | 10.00 | 40.25 | – | measured: 3 epochs |\n"
          "| X | DeepFashion-C2S | – | 6.30 | – | Y [recalled] |\n"
          "\nP.\n");
    CHECK(to_csv(table) ==
          "model,dataset,certainty,source,top1,top20,top50,note\n"
          "Net,SynthFashion-C2S (seed 1),measured,3 epochs,10.00,40.25,,\n"
          "X,DeepFashion-C2S,recalled,Y,,6.30,,\n");
    CHECK(to_json(table).find("\"top1\": null, \"top20\": 6.3, \"top50\": null") != std::string::npos);
}

TEST_CASE("json: string escaping and numbers") {
    CHECK(json::quote("plain") == "\"plain\"");
    CHECK(json::quote("a\"b\\c\n\t\r\b\f") == "\"a\\\"b\\\\c\\n\\t\\r\\b\\f\"");
    CHECK(json::quote(std::string("\x01\x1f", 2)) == "\"\\u0001\\u001f\"");
    CHECK(json::quote(std::string("nul\0!", 5)) == "\"nul\\u0000!\"");
    CHECK(json::quote("caf\xC3\xA9 \xE2\x80\x93 \xF0\x9F\x98\x80") == "\"caf\xC3\xA9 \xE2\x80\x93 \xF0\x9F\x98\x80\"");
    const std::string replacement = "\xEF\xBF\xBD";
    CHECK(json::quote("\xFF") == "\"" + replacement + "\"");                                // not a lead byte
    CHECK(json::quote("\xC0\xAF") == "\"" + replacement + replacement + "\"");              // overlong '/'
    CHECK(json::quote("\xED\xA0\x80") == "\"" + replacement + replacement + replacement + "\"");  // surrogate
    CHECK(json::quote("x\xE2\x82") == "\"x" + replacement + replacement + "\"");            // cut short
    CHECK(json::number(std::nullopt) == "null");
    CHECK(json::number(std::nan("")) == "null");
    CHECK(json::number(INFINITY) == "null");
    CHECK(json::number(0.1) == "0.1");
    CHECK(json::number(-2.0) == "-2");
    CHECK(csv_field("a,b") == "\"a,b\"");
    CHECK(csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
    CHECK(csv_field("plain") == "plain");
}

TEST_CASE("measured rows take k = 3 and 5 from the metric results, in percent") {
    const std::vector<std::size_t> cat_ks{1, 3, 5};
    const std::vector<double> cat_acc{0.5, 0.75, 1.0};
    const std::vector<std::size_t> k3{3};
    const auto attributes = attribute_topk_recall(MatrixView(attr_scores, 4, 5), attr_labels, attr_types, k3);
    const auto row = measured_row("Net", "SynthFashion-C (seed 1)", "", cat_ks, cat_acc, attributes);
    CHECK(*row.category.top3 == doctest::Approx(75.0));
    CHECK(*row.category.top5 == doctest::Approx(100.0));
    CHECK(row.texture.top3.has_value());
    CHECK_FALSE(row.texture.top5.has_value());  // k = 5 was not computed
    CHECK_FALSE(row.shape.top3.has_value());    // no Shape attribute
    CHECK(row.certainty == Certainty::measured);

    RetrievalResult retrieval;
    retrieval.ks = {1, 20};
    retrieval.hit_rate = {0.25, 0.5};
    const auto r3 = measured_row("Net", "SynthFashion-C2S", "", retrieval);
    CHECK(*r3.top1 == doctest::Approx(25.0));
    CHECK(*r3.top20 == doctest::Approx(50.0));
    CHECK_FALSE(r3.top50.has_value());
}

TEST_CASE("reported rows: values and certainty as in model-specs.md section 8") {
    const auto t2 = reported_category_attribute_rows();
    REQUIRE(t2.size() == 5);
    CHECK(t2[2].model == "FashionNet");
    CHECK(*t2[2].category.top3 == 82.58);
    CHECK(*t2[2].fabric.top3 == 39.30);
    CHECK(*t2[4].all.top5 == 60.95);  // AFGN
    CHECK(*t2[3].all.top3 == 23.10);  // Corbiere
    for (const auto& row : t2) CHECK(row.certainty == Certainty::read);
    const auto t3 = reported_consumer_to_shop_rows();
    REQUIRE(t3.size() == 5);
    CHECK(t3[3].model == "GRNet");
    CHECK(*t3[3].top1 == 25.7);
    CHECK(*t3[3].top50 == 75.0);
    CHECK(t3[2].model == "FashionNet");
    CHECK_FALSE(t3[2].top1.has_value());
    CHECK(t3[4].certainty == Certainty::not_recovered);
    CHECK_FALSE(t3[4].top20.has_value());

    const auto table = make_table_2({}, {"measured protocol"});
    CHECK(table.rows.size() == 5);
    CHECK(table.protocol.front() == "measured protocol");
    CHECK(table.protocol.back() == reported_rows_protocol());
    CHECK(make_table_3({}, {}, false).rows.empty());
}

// ------------------------------------------------------------------------------------------------
// CSV reader

TEST_CASE("csv reader: quotes, CRLF, BOM, blank lines and empty fields") {
    std::istringstream in("\xEF\xBB\xBFimage_name,score\r\n"
                          "\r\n"
                          "\"img/a,b.jpg\", 1.5 \r\n"
                          "  img/c.jpg ,\"say \"\"x\"\"\"\n"
                          ",\n");
    CsvReader reader(in, "p.csv");
    std::vector<std::string> f;
    REQUIRE(reader.next(f));
    CHECK(reader.line() == 1);
    CHECK(f == std::vector<std::string>{"image_name", "score"});
    REQUIRE(reader.next(f));
    CHECK(reader.line() == 3);  // the blank line 2 is skipped
    CHECK(f == std::vector<std::string>{"img/a,b.jpg", "1.5"});
    CHECK(parse_csv_float(reader, f[1], 2) == 1.5f);
    REQUIRE(reader.next(f));
    CHECK(f == std::vector<std::string>{"img/c.jpg", "say \"x\""});
    REQUIRE(reader.next(f));
    CHECK(f == std::vector<std::string>{"", ""});
    CHECK_FALSE(reader.next(f));
}

TEST_CASE("csv reader: errors name the file, the line and the problem") {
    auto first_error = [](const std::string& text) {
        std::istringstream in(text);
        CsvReader reader(in, "p.csv");
        std::vector<std::string> f;
        return error_of([&] {
            while (reader.next(f))
                for (std::size_t c = 1; c < f.size(); ++c) parse_csv_float(reader, f[c], c + 1, "score");
        });
    };
    CHECK(first_error("a,1\nb,\"2\n") == "p.csv:2: column 2: the quoted field is not closed on this line");
    CHECK(first_error("a,1\nb,2\"3\n") == "p.csv:2: column 2: a double quote inside an unquoted field");
    CHECK(first_error("\"a\"x,1\n") == "p.csv:1: column 1: unexpected text after the closing quote");
    CHECK(first_error("a,1\n\nb,abc\n") == "p.csv:3: column 2 (score): 'abc' is not a number");
    CHECK(first_error("a,1.5x\n") == "p.csv:1: column 2 (score): '1.5x' is not a number");
    CHECK(first_error("a,nan\n") == "p.csv:1: column 2 (score): 'nan' is not a finite number");
    CHECK(first_error("a,1e99\n") == "p.csv:1: column 2 (score): '1e99' is out of the range of float");
    CHECK(first_error("a,\n") == "p.csv:1: column 2 (score): empty field where a number is expected");
    CHECK(first_error("a,+2,-3e-1\n").empty());
    CHECK(error_of([] { CsvReader("/nonexistent/seam/p.csv"); }) ==
          "/nonexistent/seam/p.csv: cannot open the file for reading");
}

TEST_CASE("read_score_csv: rows, kept subset, header and row errors") {
    std::istringstream in("image_name,s_1,s_2\n"
                          "img/a.jpg,1,2\n"
                          "img/b.jpg,3,4\n"
                          "img/c.jpg,5,6\n");
    CsvReader reader(in, "s.csv");
    const auto csv = read_score_csv(reader, [](std::string_view name) { return name != "img/b.jpg"; });
    CHECK(csv.columns == std::vector<std::string>{"s_1", "s_2"});
    CHECK(csv.image_names == std::vector<std::string>{"img/a.jpg", "img/c.jpg"});
    CHECK(csv.lines == std::vector<std::size_t>{2, 4});
    CHECK(csv.values == std::vector<float>{1, 2, 5, 6});
    CHECK(csv.row_of_image.at("img/c.jpg") == 1);
    const std::vector<std::string> expected{"s_1", "s_2"};
    CHECK_NOTHROW(expect_columns(csv, expected));
    const std::vector<std::string> other{"s_1", "t_2"};
    CHECK(error_of([&] { expect_columns(csv, other); }) == "s.csv:1: column 3 is 's_2', expected 't_2'");
    const std::vector<std::string> longer{"s_1", "s_2", "s_3"};
    CHECK(error_of([&] { expect_columns(csv, longer); }) ==
          "s.csv:1: the header has 3 columns, expected 4 (image_name then 3 scores, the last one 's_3')");

    auto error_reading = [](const std::string& text) {
        std::istringstream stream(text);
        CsvReader r(stream, "s.csv");
        return error_of([&] { read_score_csv(r); });
    };
    CHECK(error_reading("") == "s.csv: the file is empty (expected a header line image_name,...)");
    CHECK(error_reading("name,s\n") == "s.csv:1: the first column of the header must be 'image_name', found 'name'");
    CHECK(error_reading("image_name,s\na,1\nb,1,2\n") == "s.csv:3: the row has 3 fields but the header has 2");
    CHECK(error_reading("image_name,s\na,1\n\na,2\n") == "s.csv:4: image 'a' already has a row on line 2");
    CHECK(error_reading("image_name,s\n,1\n") == "s.csv:2: column 1 (image_name): empty image name");
    CHECK(error_reading("image_name,s\na,x\n") == "s.csv:2: column 2 (s): 'x' is not a number");
}
