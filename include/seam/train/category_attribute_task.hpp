// seam/train/category_attribute_task.hpp — the DeepFashion-C task (Table 2): predict a split, score
// it with the papers' protocol, and train the two models that exist so far — FashionNet with its
// alternating schedule, and a plain VGG-16 classifier (the same trunk, no landmark branch) — with
// the same Trainer, optimizer and budget, so their rows can be compared.
//
// Evaluation never sees ground truth: predict_split hands the predictor the images of a batch
// and nothing else (CategoryAttributePredictor takes one tensor), so no model can peek at the true
// landmarks at test time. The landmark error is then computed from the predictions against the
// split's ground truth, over present and visible points only (seam/eval/metrics.hpp).
//
// Devices: CategoryAttributeTraining::device says where the model lives (move it there with
// Module::to before training). Each batch is assembled on the host and copied there, the
// attribute loss's constants too; predictions come back to the host for scoring.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "seam/autograd/grad_mode.hpp"
#include "seam/data/category_attribute_split.hpp"
#include "seam/eval/metrics.hpp"
#include "seam/eval/tables.hpp"
#include "seam/models/fashionnet.hpp"
#include "seam/models/fashionnet_loss.hpp"
#include "seam/models/vgg.hpp"
#include "seam/optim/adam.hpp"
#include "seam/optim/schedule.hpp"
#include "seam/train/trainer.hpp"

namespace seam::train {

/// What a Table 2 model predicts for a batch of images. landmarks is optional ([N, L, 2],
/// normalised (x, y)); models without a pose branch leave it undefined.
struct CategoryAttributePrediction {
    Tensor<float> category_logits;   // [N, categories]
    Tensor<float> attribute_logits;  // [N, attributes]
    Tensor<float> landmarks;         // [N, L, 2] or undefined
};

using CategoryAttributePredictor = std::function<CategoryAttributePrediction(const Tensor<float>& images)>;

/// Row-major scores of a whole split.
struct CategoryAttributeScores {
    size_t images = 0, categories = 0, attributes = 0, landmarks = 0;  // landmarks = 0: none predicted
    std::vector<float> category;   // images x categories
    std::vector<float> attribute;  // images x attributes
    std::vector<float> landmark;   // images x landmarks x 2, normalised
};

/// Runs `predict` over the split in order, `batch_size` images at a time, without gradients. The
/// predictor receives only the images (no labels, no landmarks); put the model in eval mode first.
inline CategoryAttributeScores predict_split(const data::CategoryAttributeSplit& split,
                                             const CategoryAttributePredictor& predict, size_t batch_size = 128) {
    SEAM_CHECK(batch_size > 0, "predict_split: batch_size must be positive");
    NoGradGuard no_grad;
    CategoryAttributeScores s;
    s.images = split.count();
    for (size_t begin = 0; begin < split.count(); begin += batch_size) {
        std::vector<size_t> rows;
        for (size_t i = begin; i < std::min(split.count(), begin + batch_size); ++i) rows.push_back(i);
        const Tensor<float> images = split.batch<float>(rows).images;
        const CategoryAttributePrediction p = predict(images);
        const int64_t n = static_cast<int64_t>(rows.size());
        SEAM_CHECK(p.category_logits.dim() == 2 && p.category_logits.size(0) == n && p.attribute_logits.dim() == 2 &&
                       p.attribute_logits.size(0) == n,
                   "predict_split: the predictor returned category logits ", shape_str(p.category_logits.shape()),
                   " and attribute logits ", shape_str(p.attribute_logits.shape()), " for ", n, " images");
        s.categories = static_cast<size_t>(p.category_logits.size(1));
        s.attributes = static_cast<size_t>(p.attribute_logits.size(1));
        auto append = [](std::vector<float>& to, const Tensor<float>& t) {
            const std::vector<float> v = t.detach().to(Device::cpu()).contiguous().to_vector();
            to.insert(to.end(), v.begin(), v.end());
        };
        append(s.category, p.category_logits);
        append(s.attribute, p.attribute_logits);
        if (p.landmarks.defined()) {
            SEAM_CHECK(p.landmarks.dim() == 3 && p.landmarks.size(0) == n && p.landmarks.size(2) == 2,
                       "predict_split: landmarks must be [N, L, 2], got ", shape_str(p.landmarks.shape()));
            s.landmarks = static_cast<size_t>(p.landmarks.size(1));
            append(s.landmark, p.landmarks);
        }
    }
    return s;
}

/// Table 2's numbers for one model on one split.
struct CategoryAttributeEvaluation {
    std::vector<size_t> category_ks{1, 3, 5};
    std::vector<double> category;         // top-k accuracy at category_ks
    eval::AttributeRecall attributes;     // top-3 / top-5 recall per type and All
    std::optional<double> landmark_error; // mean normalised error over visible points (pose models)
    size_t landmarks_counted = 0;
};

inline CategoryAttributeEvaluation evaluate_scores(const CategoryAttributeScores& s,
                                                   const data::CategoryAttributeSplit& split,
                                                   const std::vector<int>& attribute_types) {
    CategoryAttributeEvaluation e;
    SEAM_CHECK(s.images == split.count() && s.images > 0, "evaluate_scores: ", s.images, " scored images for a split of ",
               split.count());
    e.category = eval::category_topk_accuracy(eval::MatrixView(s.category, s.images, s.categories), split.categories,
                                              e.category_ks);
    const std::vector<size_t> attribute_ks{3, 5};
    e.attributes = eval::attribute_topk_recall(eval::MatrixView(s.attribute, s.images, s.attributes), split.attributes,
                                               attribute_types, attribute_ks);
    if (s.landmarks > 0) {
        const size_t slots = s.landmarks;
        SEAM_CHECK(slots == data::kLandmarkSlots, "evaluate_scores: ", slots, " landmarks predicted, the data has ",
                   data::kLandmarkSlots, " slots");
        std::vector<float> truth(s.images * slots * 2, 0.0f), size(s.images * 2, 1.0f);
        std::vector<uint8_t> counted(s.images * slots, 0);
        for (size_t i = 0; i < s.images; ++i) {
            for (size_t l = 0; l < slots; ++l) {
                const data::Landmark& p = split.images[i].landmarks[l];
                if (!p.visible()) continue;
                counted[i * slots + l] = 1;
                truth[(i * slots + l) * 2] = (p.x + 0.5f) / static_cast<float>(split.size);
                truth[(i * slots + l) * 2 + 1] = (p.y + 0.5f) / static_cast<float>(split.size);
            }
        }
        // Both sides are already normalised to [0, 1] of the input: an image size of 1 x 1.
        eval::LandmarkBatch batch{s.images, slots, s.landmark, truth, counted, size};
        const eval::LandmarkError le = eval::landmark_error(batch);
        e.landmark_error = le.mean_error;
        e.landmarks_counted = le.counted;
    }
    return e;
}

/// The budget both Table 2 models get.
struct CategoryAttributeTraining {
    int64_t epochs = 12;
    size_t batch = 64;
    double lr = 1e-3;
    double weight_decay = 1e-4;
    bool augment = true;            // random horizontal flips (landmarks follow)
    models::AttributeBalance attribute_balance = models::AttributeBalance::global;  // fashionnet_loss.hpp
    uint64_t seed = 1;
    std::string log_dir;            // Trainer logs, plots and checkpoint ("": none)
    int64_t checkpoint_every = 0;   // 0: only at the end
    std::string resume_from;
    std::FILE* output = stdout;
    Device device = Device::cpu();  // where the model is; batches are copied there
};

/// AdamW with a linear warm-up over half an epoch, then cosine decay to zero, per step.
struct StepSchedule {
    std::shared_ptr<optim::LRSchedule> schedule;
    static StepSchedule warmup_cosine(int64_t steps_per_epoch, int64_t epochs) {
        const int64_t total = steps_per_epoch * epochs;
        const int64_t warmup = std::min<int64_t>(std::max<int64_t>(1, steps_per_epoch / 2), std::max<int64_t>(1, total - 1));
        return {std::make_shared<optim::LinearWarmup>(
            std::make_shared<optim::CosineAnnealingLR>(std::max<int64_t>(1, total - warmup)), warmup,
            1.0 / static_cast<double>(warmup))};
    }
};

/// The attribute loss's constants from the training split's label counts.
inline models::AttributeLossWeights<float> attribute_weights_for(const data::CategoryAttributeSplit& train,
                                                                 const CategoryAttributeTraining& budget) {
    return models::attribute_loss_weights<float>(train.attribute_positives(), static_cast<int64_t>(train.count()),
                                                 budget.attribute_balance);
}

/// Validation metrics for the Trainer's log: category top-3, attribute All top-5 recall, and the
/// landmark error when the model predicts landmarks.
inline Metrics validation_metrics(const data::CategoryAttributeSplit& split, const std::vector<int>& attribute_types,
                                  const CategoryAttributePredictor& predict) {
    const CategoryAttributeEvaluation e = evaluate_scores(predict_split(split, predict), split, attribute_types);
    Metrics m{{"val_category_top3", e.category[1]}};
    if (e.attributes.all_recall.size() > 1 && e.attributes.all_recall[1])
        m.emplace_back("val_attribute_all_top5", *e.attributes.all_recall[1]);
    if (e.landmark_error) m.emplace_back("val_landmark_error", *e.landmark_error);
    return m;
}

/// FashionNet's predictor: the pose branch's landmarks feed its own landmark pooling. The images
/// are copied to `device` (the model's) first.
inline CategoryAttributePredictor fashionnet_predictor(models::FashionNet<float>& net, Device device = Device::cpu()) {
    return [&net, device](const Tensor<float>& images) {
        models::FashionNetOutput<float> o = net.forward_all(images.to(device));
        return CategoryAttributePrediction{o.category_logits, o.attribute_logits, o.landmarks};
    };
}

/// A classifier whose logits are [categories | attributes] side by side (the plain VGG baseline).
inline CategoryAttributePredictor split_logits_predictor(nn::Module<float>& net, int64_t categories,
                                                         Device device = Device::cpu()) {
    return [&net, categories, device](const Tensor<float>& images) {
        Tensor<float> logits = net.forward(images.to(device));
        const int64_t attributes = logits.size(1) - categories;
        return CategoryAttributePrediction{logits.narrow(1, 0, categories), logits.narrow(1, categories, attributes), {}};
    };
}

namespace detail {
/// The batch's tensors copied to `device` (the same batch when it is the CPU).
inline data::CategoryAttributeBatch<float> batch_on(data::CategoryAttributeBatch<float> b, Device device) {
    if (device.is_cpu()) return b;
    b.images = b.images.to(device);
    b.landmarks = b.landmarks.to(device);
    b.visible = b.visible.to(device);
    b.categories = b.categories.to(device);
    b.attributes = b.attributes.to(device);
    return b;
}

/// The attribute loss's constants on `device` (undefined ones stay undefined).
inline models::AttributeLossWeights<float> weights_on(models::AttributeLossWeights<float> w, Device device) {
    if (w.pos_weight.defined()) w.pos_weight = w.pos_weight.to(device);
    if (w.weight.defined()) w.weight = w.weight.to(device);
    return w;
}

/// What both recipes set up the same way from a budget: the epoch order, AdamW, the per-step
/// warm-up + cosine schedule, and the Trainer (logs, checkpoints, resume) driving them.
struct BudgetedTraining {
    IndexBatches batches;
    optim::AdamW<float> optimizer;
    optim::LRScheduler<float> scheduler;
    Trainer<float> trainer;

    BudgetedTraining(nn::Module<float>& model, size_t samples, const CategoryAttributeTraining& budget)
        : batches(samples, budget.batch, budget.seed),
          optimizer(model.parameters(), {budget.lr, 0.9, 0.999, 1e-8, budget.weight_decay}),
          scheduler(optimizer, StepSchedule::warmup_cosine(batches.batches_per_epoch(), budget.epochs).schedule),
          trainer(model, optimizer, options(budget)) {
        trainer.set_scheduler(scheduler);
    }

    static TrainerOptions options(const CategoryAttributeTraining& budget) {
        TrainerOptions o;
        o.epochs = budget.epochs;
        o.log_dir = budget.log_dir;
        o.checkpoint_every = budget.checkpoint_every;
        o.checkpoint_at_end = !budget.log_dir.empty();
        o.resume_from = budget.resume_from;
        o.scheduler_per_step = true;
        o.output = budget.output;
        return o;
    }
};
}  // namespace detail

/// Trains FashionNet on `train` with the alternating schedule; `validation` (may be null or empty)
/// is scored after every epoch.
inline FitResult train_fashionnet(models::FashionNet<float>& net, const data::CategoryAttributeSplit& train,
                                  const data::CategoryAttributeSplit* validation, const std::vector<int>& attribute_types,
                                  const CategoryAttributeTraining& budget, const models::FashionNetSchedule& schedule = {},
                                  const models::FashionNetLossWeights& terms = {}) {
    SEAM_CHECK(train.count() > 0, "train_fashionnet: the training split is empty");
    const Device device = budget.device;
    const auto attribute_weights = detail::weights_on(attribute_weights_for(train, budget), device);
    detail::BudgetedTraining run(net, train.count(), budget);
    Trainer<float>& trainer = run.trainer;
    if (validation != nullptr && validation->count() > 0)
        trainer.set_evaluation([&](int64_t) {
            return validation_metrics(*validation, attribute_types, fashionnet_predictor(net, device));
        });
    return trainer.fit(run.batches, [&](const std::vector<size_t>& rows) {
        const int64_t epoch = trainer.current_epoch();
        const data::CategoryAttributeBatch<float> b =
            detail::batch_on(train.batch<float>(rows, budget.augment, budget.seed, epoch), device);
        models::FashionNetTargets<float> target{b.landmarks, b.visible, b.categories, b.attributes, {}};
        if (terms.triplet > 0) {
            const std::vector<int64_t> labels = b.categories.to(Device::cpu()).to_vector();
            // Seeded by the batch's first row and the epoch: the same triplets after a resume.
            target.triplets = models::category_triplets(labels, budget.seed,
                                                        static_cast<uint64_t>(epoch) * 1000003ull + rows.front());
        }
        models::FashionNetOutput<float> out = schedule.pools_at_ground_truth(epoch)
                                                  ? net.forward_pooling_at(b.images, b.landmarks, b.visible)
                                                  : net.forward_all(b.images);
        return models::fashionnet_loss(out, target, attribute_weights, schedule.weights(epoch, terms)).total;
    });
}

/// The plain VGG-16 classifier FashionNet is measured against: vgg16 (with the same width, BN and
/// input size) whose fc8 outputs [categories | attributes]; category cross-entropy plus the same
/// weighted attribute loss, no landmarks, no triplets.
inline std::shared_ptr<models::VGG<float>> make_vgg_classifier(const models::FashionNetOptions& like,
                                                               Generator& gen = default_generator()) {
    models::VggOptions v;
    v.num_classes = like.num_categories + like.num_attributes;
    v.width_mult = like.width_mult;
    v.batch_norm = like.batch_norm;
    v.in_channels = like.in_channels;
    v.dropout = like.dropout;
    const int64_t side = like.input_size / 32;  // pool5's side: the adaptive pool keeps it
    v.avgpool_size = {std::min<int64_t>(7, side), std::min<int64_t>(7, side)};
    return std::make_shared<models::VGG<float>>(v, gen);
}

inline FitResult train_vgg_classifier(models::VGG<float>& net, int64_t categories, const data::CategoryAttributeSplit& train,
                                      const data::CategoryAttributeSplit* validation,
                                      const std::vector<int>& attribute_types, const CategoryAttributeTraining& budget) {
    SEAM_CHECK(train.count() > 0, "train_vgg_classifier: the training split is empty");
    const Device device = budget.device;
    const auto attribute_weights = detail::weights_on(attribute_weights_for(train, budget), device);
    detail::BudgetedTraining run(net, train.count(), budget);
    Trainer<float>& trainer = run.trainer;
    const CategoryAttributePredictor predict = split_logits_predictor(net, categories, device);
    if (validation != nullptr && validation->count() > 0)
        trainer.set_evaluation([&](int64_t) { return validation_metrics(*validation, attribute_types, predict); });
    return trainer.fit(run.batches, [&](const std::vector<size_t>& rows) {
        const data::CategoryAttributeBatch<float> b =
            detail::batch_on(train.batch<float>(rows, budget.augment, budget.seed, trainer.current_epoch()), device);
        const CategoryAttributePrediction p = predict(b.images);
        BceWithLogitsOptions<float> bce;
        bce.pos_weight = attribute_weights.pos_weight;
        bce.weight = attribute_weights.weight;
        return cross_entropy(p.category_logits, b.categories) +
               binary_cross_entropy_with_logits(p.attribute_logits, b.attributes, bce);
    });
}

/// A Table 2 row from an evaluation.
inline eval::CategoryAttributeRow table2_row(const std::string& model, const std::string& dataset,
                                             const std::string& source, const CategoryAttributeEvaluation& e) {
    return eval::measured_row(model, dataset, source, e.category_ks, e.category, e.attributes);
}

}  // namespace seam::train
