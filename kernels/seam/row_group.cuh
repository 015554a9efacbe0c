// kernels/seam/row_group.cuh — rows served by groups of lanes: the map, the register load and the
// butterfly sum shared by the row kernels of softmax.cuh (softmax, cross-entropy) and norm.cuh
// (layer_norm).
//
// A row of n values gets a group of `lanes` threads, the power of two ≥ n capped at a warp (32 /
// lanes rows a warp, 256-thread blocks); lane l takes the row's values l, l + lanes, ..., so a
// warp reads consecutive addresses. Thread t of block b serves row b·(256/lanes) + t/lanes, then
// that plus k·(grid·256/lanes) (grid-stride). A kernel that shuffles must keep every lane of a warp
// in the loop: it iterates over the warp's first row (row_group_warp_first_row) and masks the
// rows past the end. These are functions so the host emulations (tests/cuda/*_kernel_logic.cu)
// run the same map as the kernels.
//
// Rows of up to kRowLaneValues · 32 = 1024 values can be held in registers, kRowLaneValues a lane
// (row_lane_load).
#pragma once

#include <cstdint>

#include "seam/common.cuh"

namespace seam::kernels {

/// The row's lanes: the power of two ≥ n, at most a warp.
inline int row_group_lanes(int64_t n) {
    int lanes = 1;
    while (lanes < kWarpSize && lanes < n) lanes *= 2;
    return lanes;
}
SEAM_HOST_DEVICE int64_t row_group_row_of(int lanes, int64_t block, int thread) {
    return block * (kThreads / lanes) + thread / lanes;
}
/// The first row of the thread's warp (a warp's rows are consecutive: lanes divides 32).
SEAM_HOST_DEVICE int64_t row_group_warp_first_row(int lanes, int64_t block, int thread) {
    return row_group_row_of(lanes, block, thread - thread % kWarpSize);
}
SEAM_HOST_DEVICE int64_t row_group_stride(int lanes, int64_t grid) { return grid * (kThreads / lanes); }

/// A thread's walk in a row-group kernel that shuffles: every lane of a warp runs the same
/// iterations, over its warp's first row, and masks the rows past the end:
///   const RowGroupWalk w(lanes, blockIdx.x, threadIdx.x, gridDim.x);
///   for (int64_t base = w.first; base < rows; base += w.stride) { row = base + w.offset; ... }
struct RowGroupWalk {
    int lane;             // within the row's group
    int64_t first;        // the warp's first row
    int64_t stride;       // rows served by the grid per iteration
    int64_t offset;       // this thread's row - its warp's first row
    SEAM_HOST_DEVICE RowGroupWalk(int lanes, int64_t block, int thread, int64_t grid)
        : lane(thread % lanes),
          first(row_group_warp_first_row(lanes, block, thread)),
          stride(row_group_stride(lanes, grid)),
          offset(row_group_row_of(lanes, block, thread) - row_group_warp_first_row(lanes, block, thread)) {}
};

/// Blocks of a row-group launch: enough groups for every row, at most 2^20 (grid-stride beyond).
inline unsigned row_group_blocks(int64_t rows, int lanes) {
    return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(ceil_div(rows, kThreads / lanes), int64_t(1) << 20)));
}

/// Values a lane holds in registers: rows of up to 32 · 32 = 1024 values.
inline constexpr int kRowLaneValues = 32;

/// Lane `lane`'s values of a row, v[k] = row[lane + k·lanes]; returns how many (≤ kRowLaneValues).
template <class T>
SEAM_HOST_DEVICE int row_lane_load(const T* row, int64_t n, int lane, int lanes, T (&v)[kRowLaneValues]) {
    int count = 0;
SEAM_UNROLL
    for (int k = 0; k < kRowLaneValues; ++k) {
        const int64_t c = lane + int64_t(k) * lanes;
        if (c >= n) break;
        v[k] = row[c];
        count = k + 1;
    }
    return count;
}

/// The group's sum by an xor butterfly (offsets lanes/2 .. 1 stay inside the group): every lane
/// ends with the sum, and with the same bits (a + b = b + a).
template <class V>
__device__ V row_group_sum(V v, int lanes) {
    for (int offset = lanes / 2; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

}  // namespace seam::kernels
