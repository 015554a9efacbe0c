// tests/cuda/compile/all_kernel_headers.cu — a build check, not a test: every header of kernels/seam/
// in one translation unit, linked with seam::cuda (whose own translation unit includes them too).
// The kernels are meant to be included by users' .cu files; a function a header defines without
// `inline` (or a kernel that is not a template) is then defined twice and this program fails to
// link. CMake builds it with the CUDA tests (tests/cuda/CMakeLists.txt); it is never run. main
// refers to one function of seam::cuda so that the linker takes the library's object file (an
// archive member nobody refers to is never linked, and its duplicates would go unseen).
#include "seam/cuda/api.hpp"

#include "seam/common.cuh"
#include "seam/conv2d.cuh"
#include "seam/conv2d_tf32.cuh"
#include "seam/conv2d_tf32_mma.cuh"
#include "seam/conv2d_tf32_nhwc.cuh"
#include "seam/conv2d_tf32_wgmma.cuh"
#include "seam/elementwise.cuh"
#include "seam/fast_divisor.cuh"
#include "seam/gather_scatter.cuh"
#include "seam/landmark_pool.cuh"
#include "seam/norm.cuh"
#include "seam/optim.cuh"
#include "seam/pool2d.cuh"
#include "seam/reduce.cuh"
#include "seam/resize.cuh"
#include "seam/row_group.cuh"
#include "seam/softmax.cuh"
#include "seam/winograd.cuh"

int main() { return seam::cuda::op_name(seam::cuda::BinaryOp::add) != nullptr ? 0 : 1; }
