// tests/cuda/row_group_emulation.hpp — what the host emulations of the row-group kernels share
// (kernels/seam/row_group.cuh: softmax and cross-entropy version 2 in test_softmax_kernel_logic.cu,
// layer_norm version 2 in test_norm_kernel_logic.cu): a lane's registers, the xor-shuffle butterfly
// replayed lane by lane, and the kernels' walk over rows.
#pragma once

#include <cstdint>
#include <vector>

#include "seam/row_group.cuh"

namespace seam::kernel_emulation {

/// One lane's registers (row_lane_load fills them).
template <class T>
struct LaneValues {
    T v[seam::kernels::kRowLaneValues];
};

/// An xor-shuffle butterfly over a group's lanes as the hardware runs it: at each offset (n/2 .. 1)
/// every lane combines its value with lane ^ offset's value from before the step.
template <class V, class Combine>
std::vector<V> butterfly(std::vector<V> lanes, const Combine& combine) {
    const int n = static_cast<int>(lanes.size());
    std::vector<V> next(lanes.size());
    for (int offset = n / 2; offset > 0; offset /= 2) {
        for (int l = 0; l < n; ++l) next[l] = combine(lanes[l], lanes[l ^ offset]);
        lanes.swap(next);
    }
    return lanes;
}

/// The row-group kernels' walk, warp by warp as they run it: fn(row, valid) for every group of
/// every iteration of every warp of the grid (valid: row < rows; invalid groups still take part in
/// the butterflies). Returns how often each row was served.
template <class F>
std::vector<int> walk_row_groups(int64_t rows, int lanes, const F& fn) {
    namespace k = seam::kernels;
    const unsigned grid = k::row_group_blocks(rows, lanes);
    std::vector<int> visits(static_cast<size_t>(rows), 0);
    for (unsigned b = 0; b < grid; ++b)
        for (int t0 = 0; t0 < k::kThreads; t0 += k::kWarpSize) {
            const k::RowGroupWalk warp(lanes, b, t0, grid);  // the warp's iterations (uniform)
            for (int64_t base = warp.first; base < rows; base += warp.stride)
                for (int first = t0; first < t0 + k::kWarpSize; first += lanes) {
                    const k::RowGroupWalk w(lanes, b, first, grid);  // the group's first lane's walk
                    const int64_t row = base + w.offset;
                    if (row < rows) ++visits[static_cast<size_t>(row)];
                    fn(row, row < rows);
                }
        }
    return visits;
}

}  // namespace seam::kernel_emulation
