// seam/data/deepfashion_common.hpp — the vocabulary shared by the DeepFashion readers and writers:
// splits, clothes types, bounding boxes, the 8 canonical landmark slots and their visibility.
//
// DeepFashion-1 lists 6 landmarks for upper-body clothes, 4 for lower-body and 8 for full-body
// clothes, each in its own order. Every public model places them into one 8-slot layout,
//     [left collar, right collar, left sleeve, right sleeve, left waistline, right waistline,
//      left hem, right hem],
// so upper-body points go to slots 0,1,2,3,6,7 and lower-body points to slots 4,5,6,7.
// landmark_slots() is that mapping; Landmark::present marks the slots a clothes type uses.
// See /shared/ref/deepfashion.md §2 for the evidence behind each convention.
#pragma once

#include <seam/core/error.hpp>

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace seam::data {

/// The evaluation status of an image (or of a consumer-to-shop pair).
enum class Split : std::uint8_t { train, val, test };

inline std::string_view split_name(Split split) {
    switch (split) {
        case Split::train: return "train";
        case Split::val: return "val";
        case Split::test: return "test";
    }
    return "?";
}

/// "train" / "val" / "test" as in list_eval_partition.txt; false for anything else.
inline bool parse_split_name(std::string_view name, Split& split) {
    if (name == "train") split = Split::train;
    else if (name == "val") split = Split::val;
    else if (name == "test") split = Split::test;
    else return false;
    return true;
}

// clothes_type / category_type values used by every DeepFashion-1 file.
inline constexpr int kUpperBody = 1;
inline constexpr int kLowerBody = 2;
inline constexpr int kFullBody = 3;

inline std::string_view clothes_type_name(int clothes_type) {
    switch (clothes_type) {
        case kUpperBody: return "upper-body";
        case kLowerBody: return "lower-body";
        case kFullBody: return "full-body";
        default: return "unknown";
    }
}

// Landmark visibility as written in the files. (DeepFashion2 uses the reverse encoding.)
inline constexpr int kVisible = 0;
inline constexpr int kOccluded = 1;
inline constexpr int kTruncated = 2;

inline constexpr int kLandmarkSlots = 8;
inline constexpr std::array<std::string_view, kLandmarkSlots> kLandmarkSlotNames = {
    "left_collar", "right_collar", "left_sleeve", "right_sleeve",
    "left_waistline", "right_waistline", "left_hem", "right_hem"};

/// The canonical slots that the landmarks of one row fill, in file order.
inline std::span<const int> landmark_slots(int clothes_type) {
    static constexpr int upper[] = {0, 1, 2, 3, 6, 7};
    static constexpr int lower[] = {4, 5, 6, 7};
    static constexpr int full[] = {0, 1, 2, 3, 4, 5, 6, 7};
    switch (clothes_type) {
        case kUpperBody: return upper;
        case kLowerBody: return lower;
        case kFullBody: return full;
        default: seam::fail("landmark_slots: clothes_type must be 1, 2 or 3, got ", clothes_type);
    }
}

/// Pixel box [x1, y1, x2, y2]: (x1, y1) upper-left, (x2, y2) lower-right, in the coordinates of
/// the distributed (resized) images.
struct Box {
    float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
    bool operator==(const Box&) const = default;
};

/// One landmark slot. `present` is false for the slots the clothes type does not have; those
/// slots are left at zero and must be ignored (visibility 0 would otherwise read as visible).
struct Landmark {
    float x = 0, y = 0;
    int visibility = kVisible;
    bool present = false;

    /// Usable as a target or for pooling: the slot exists and the point is visible.
    bool visible() const { return present && visibility == kVisible; }
    bool operator==(const Landmark&) const = default;
};

using Landmarks = std::array<Landmark, kLandmarkSlots>;

}  // namespace seam::data
