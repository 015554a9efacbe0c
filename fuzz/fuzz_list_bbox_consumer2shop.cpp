// libFuzzer target: seam::data::parse_list_bbox_consumer2shop on arbitrary bytes; what it accepts must
// survive write_list_bbox_consumer2shop -> parse unchanged (fuzz_common.hpp).
// fuzz-dict: deepfashion.dict
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    seam_fuzz::check_list_round_trip(data, size, seam::data::parse_list_bbox_consumer2shop,
                                     seam::data::write_list_bbox_consumer2shop);
    return 0;
}
