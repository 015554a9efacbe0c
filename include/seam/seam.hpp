// seam/seam.hpp — the umbrella header: everything of the library that needs no CUDA compiler.
//
// Include this for convenience; include the individual headers to keep a translation unit light.
#pragma once

// core and autograd
#include "seam/core/tensor.hpp"
#include "seam/autograd/gradcheck.hpp"

// differentiable ops (CPU reference loops live in seam/cpu/reference/, included by the tests)
#include "seam/ops/elementwise.hpp"
#include "seam/ops/reduce.hpp"
#include "seam/ops/softmax.hpp"
#include "seam/ops/loss.hpp"
#include "seam/ops/matmul.hpp"
#include "seam/ops/conv.hpp"
#include "seam/ops/pool.hpp"
#include "seam/ops/resize.hpp"
#include "seam/ops/norm.hpp"
#include "seam/ops/shape_ops.hpp"

// modules and optimisers
#include "seam/nn/module.hpp"
#include "seam/nn/init.hpp"
#include "seam/nn/layers.hpp"
#include "seam/nn/sequential.hpp"
#include "seam/optim/optimizer.hpp"
#include "seam/optim/sgd.hpp"
#include "seam/optim/adam.hpp"
#include "seam/optim/schedule.hpp"
#include "seam/optim/clip.hpp"

// data, evaluation, training utilities
#include "seam/data/idx.hpp"
#include "seam/data/image.hpp"
#include "seam/data/transforms.hpp"
#include "seam/data/loader.hpp"
#include "seam/data/deepfashion.hpp"
#include "seam/data/synthfashion.hpp"
#include "seam/data/category_attribute_split.hpp"
#include "seam/eval/metrics.hpp"
#include "seam/eval/tables.hpp"
#include "seam/eval/paper_rows.hpp"
#include "seam/train/progress.hpp"

// backbones, files and training loop
#include "seam/models/vgg.hpp"
#include "seam/models/resnet.hpp"
#include "seam/models/fashionnet.hpp"
#include "seam/models/fashionnet_loss.hpp"
#include "seam/ops/landmark_pool.hpp"
#include "seam/io/json.hpp"
#include "seam/io/safetensors.hpp"
#include "seam/io/checkpoint.hpp"
#include "seam/train/log.hpp"
#include "seam/train/plot.hpp"
#include "seam/train/trainer.hpp"
#include "seam/train/category_attribute_task.hpp"
