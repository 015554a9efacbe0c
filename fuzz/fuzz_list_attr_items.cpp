// libFuzzer target: seam::data::parse_list_attr_items on arbitrary bytes; what it accepts must
// survive write_list_attr_items -> parse unchanged (fuzz_common.hpp).
// fuzz-dict: deepfashion.dict
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    seam_fuzz::check_list_round_trip(data, size, seam::data::parse_list_attr_items,
                                     seam::data::write_list_attr_items);
    return 0;
}
