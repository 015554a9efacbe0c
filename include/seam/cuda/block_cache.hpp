// seam/cuda/block_cache.hpp — the free lists of seam's caching allocator.
//
// Plain C++ with no CUDA call: the allocator in src/cuda/seam_cuda.cu keeps its freed device blocks
// here, and the host tests (tests/cuda/test_cuda_host.cpp) check the reuse rules without a GPU.
//
// A freed block is kept under (device, stream, size) and handed out again only on the stream it was
// freed on: work on one stream runs in order, so a block freed there can be reused there at once
// (see runtime.hpp). A request finds a block in one of two ways:
//   * exact: a block of the request's size class (allocation_size_class) — every request;
//   * best fit: failing that, the smallest cached block of that device and stream at least as large —
//     only for scratch space of at least 1 MiB that a call gives back before it returns (the
//     launchers' workspaces). Such requests come one after another on a stream and differ in size
//     from layer to layer: a VGG-16 training step (batch 16, 224x224) with Winograd convolutions
//     asks for workspaces in 8 size classes from 80 MiB to 1 GiB, 3.7 GiB kept in the cache with
//     exact reuse alone; with best fit the first, largest block serves them all. Tensors keep exact
//     reuse: they stay alive, and a larger block would stay tied up with them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <tuple>
#include <vector>

#include "seam/cuda/runtime.hpp"

namespace seam::cuda::allocator_detail {

/// Scratch requests from this size class up may take a larger cached block (best fit).
inline constexpr size_t kBestFitFrom = size_t(1) << 20;

class BlockCache {
public:
    struct Block {
        void* ptr = nullptr;  // null: nothing cached fits
        size_t size = 0;      // the block's own size (its class when it was allocated)
    };

    /// A cached block for a request of size class `size` on (device, stream), taken out of the
    /// cache: one of exactly that size, or with `best_fit` (and size ≥ kBestFitFrom) the smallest
    /// one at least that large.
    Block take(int device, StreamHandle stream, size_t size, bool best_fit) {
        auto it = free_.find(key(device, stream, size));
        if ((it == free_.end() || it->second.empty()) && best_fit && size >= kBestFitFrom)
            it = smallest_at_least(device, stream, size);
        if (it == free_.end() || it->second.empty()) return {};
        Block b{it->second.back(), std::get<2>(it->first)};
        it->second.pop_back();
        return b;
    }

    /// Keeps a freed block of `size` bytes (its class) for reuse on (device, stream).
    void put(int device, StreamHandle stream, size_t size, void* ptr) { free_[key(device, stream, size)].push_back(ptr); }

    /// Hands every cached block of `device` to free_block(ptr, size) and forgets them.
    template <class FreeBlock>
    void release(int device, const FreeBlock& free_block) {
        for (auto it = free_.begin(); it != free_.end();) {
            if (std::get<0>(it->first) != device) {
                ++it;
                continue;
            }
            for (void* ptr : it->second) free_block(ptr, std::get<2>(it->first));
            it = free_.erase(it);
        }
    }

private:
    // The stream as an integer: std::map orders keys with <, which C++ defines on integers, not on
    // pointers to unrelated objects.
    using Key = std::tuple<int, std::uintptr_t, size_t>;
    using Lists = std::map<Key, std::vector<void*>>;

    static Key key(int device, StreamHandle stream, size_t size) {
        return Key{device, reinterpret_cast<std::uintptr_t>(stream), size};
    }

    /// The first non-empty list of (device, stream) with a size ≥ `size` (the map orders sizes
    /// within a device and stream), or end().
    Lists::iterator smallest_at_least(int device, StreamHandle stream, size_t size) {
        const Key from = key(device, stream, size);
        for (auto it = free_.lower_bound(from); it != free_.end(); ++it) {
            if (std::get<0>(it->first) != device || std::get<1>(it->first) != std::get<1>(from)) break;
            if (!it->second.empty()) return it;
        }
        return free_.end();
    }

    Lists free_;
};

}  // namespace seam::cuda::allocator_detail
