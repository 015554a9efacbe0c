// libFuzzer target: seam::data::parse_list_landmarks on arbitrary bytes; what it accepts must
// survive write_list_landmarks -> parse unchanged (fuzz_common.hpp).
// (list_landmarks_consumer2shop.txt has the same parser: this target covers both layouts.)
// fuzz-dict: deepfashion.dict
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    seam_fuzz::check_list_round_trip(data, size, seam::data::parse_list_landmarks,
                                     [](std::ostream& out, const std::vector<seam::data::LandmarkEntry>& rows) {
                                         // the layout the rows were read in: variation 0 means no column
                                         const bool with_variation = !rows.empty() && rows[0].variation != 0;
                                         seam::data::write_list_landmarks(out, rows, with_variation);
                                     });
    return 0;
}
