// libFuzzer target: seam::data::load_consumer_to_shop (and make_c2s_protocol) on a benchmark
// folder made from the input, cut at 0x1E bytes into the seven files (in the order of `names`;
// missing parts are absent files). Whatever loads must survive write_consumer_to_shop -> load
// unchanged, and its retrieval protocol must be well formed.
// fuzz-dict: deepfashion.dict
#include "fuzz_common.hpp"

#include <set>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace files = seam::data::consumer_to_shop_files;
    static const char* const names[] = {files::item,       files::bbox,       files::eval_partition, files::landmarks,
                                        files::attr_type,  files::attr_cloth, files::attr_items};
    static const seam_fuzz::ScratchFolder input_folder("c2s_in");
    const std::filesystem::path& input_root = input_folder.path;
    static const seam_fuzz::ScratchFolder output_folder("c2s_out");
    const std::filesystem::path& output_root = output_folder.path;
    std::vector<std::string> storage;
    const auto parts = seam_fuzz::split_files(seam_fuzz::as_text(data, size), 7, storage);
    seam_fuzz::set_files(input_root, names, parts);

    seam::data::LoadOptions options;
    options.attribute_labels = options.landmarks = seam::data::Need::if_present;
    seam::data::ConsumerToShopDataset first;
    try {
        first = seam::data::load_consumer_to_shop(input_root, options);
    } catch (const seam::Error&) {
        return 0;
    }
    seam_fuzz::remove_files(output_root, names, 7);
    seam::data::write_consumer_to_shop(output_root, first);
    SEAM_FUZZ_ASSERT(seam::data::load_consumer_to_shop(output_root, options) == first);

    for (const auto gallery_splits : {seam::data::GallerySplits::test, seam::data::GallerySplits::val_and_test}) {
        const auto protocol = seam::data::make_c2s_protocol(first, gallery_splits);
        SEAM_FUZZ_ASSERT(std::set<int>(protocol.queries.begin(), protocol.queries.end()).size() == protocol.queries.size());
        SEAM_FUZZ_ASSERT(std::set<int>(protocol.gallery.begin(), protocol.gallery.end()).size() == protocol.gallery.size());
        SEAM_FUZZ_ASSERT(protocol.relevant.size() == protocol.queries.size());
        for (std::size_t q = 0; q < protocol.queries.size(); ++q) {
            SEAM_FUZZ_ASSERT(!protocol.relevant[q].empty());  // a test query's own pair puts its item in the gallery
            for (const int g : protocol.relevant[q])
                SEAM_FUZZ_ASSERT(protocol.gallery_items.at(static_cast<std::size_t>(g)) == protocol.query_items[q]);
        }
    }
    return 0;
}
