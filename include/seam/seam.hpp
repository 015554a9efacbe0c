// seam/seam.hpp — the umbrella header: everything of the library that needs no CUDA compiler.
#pragma once

#include "seam/core/tensor.hpp"
#include "seam/autograd/gradcheck.hpp"
#include "seam/ops/elementwise.hpp"
