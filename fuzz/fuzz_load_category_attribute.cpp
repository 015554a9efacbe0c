// libFuzzer target: seam::data::load_category_attribute on a benchmark folder made from the
// input. The input is cut at 0x1E bytes into the seven list files (in the order of `names`;
// missing parts are absent files). Whatever loads must survive write_category_attribute ->
// load unchanged. This covers the cross-file checks and TextTable's file reading.
// fuzz-dict: deepfashion.dict
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace files = seam::data::category_attribute_files;
    static const char* const names[] = {files::category_cloth, files::attr_cloth, files::category_img,
                                        files::eval_partition,  files::attr_img,   files::bbox,
                                        files::landmarks};
    static const seam_fuzz::ScratchFolder input_folder("c_in");
    const std::filesystem::path& input_root = input_folder.path;
    static const seam_fuzz::ScratchFolder output_folder("c_out");
    const std::filesystem::path& output_root = output_folder.path;
    std::vector<std::string> storage;
    const auto parts = seam_fuzz::split_files(seam_fuzz::as_text(data, size), 7, storage);
    seam_fuzz::set_files(input_root, names, parts);

    seam::data::LoadOptions options;
    options.attribute_labels = options.boxes = options.landmarks = seam::data::Need::if_present;
    seam::data::CategoryAttributeDataset first;
    try {
        first = seam::data::load_category_attribute(input_root, options);
    } catch (const seam::Error&) {
        return 0;
    }
    seam_fuzz::remove_files(output_root, names, 7);
    seam::data::write_category_attribute(output_root, first);
    SEAM_FUZZ_ASSERT(seam::data::load_category_attribute(output_root, options) == first);
    return 0;
}
