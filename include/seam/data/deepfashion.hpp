// seam/data/deepfashion.hpp — DeepFashion readers and writers (one include for all of them).
//
// Two benchmarks of DeepFashion-1, read from the folders users download (Anno/ and Eval/):
//   Category and Attribute Prediction  load_category_attribute()  -> CategoryAttributeDataset
//   Consumer-to-shop Clothes Retrieval load_consumer_to_shop()    -> ConsumerToShopDataset,
//                                       make_c2s_protocol()       -> queries, gallery, relevant sets
// and the matching writers write_category_attribute() / write_consumer_to_shop(), which
// SynthFashion uses to write its data in the same formats.
//
// Each list file can also be read on its own (read_list_bbox(path), parse_list_bbox(table), ...)
// or written on its own (write_list_bbox(out, rows), ...): see deepfashion_lists.hpp and
// deepfashion_list_writers.hpp. All of them throw seam::Error "file:line: problem" on bad input.
//
//   deepfashion_common.hpp        Split, Box, Landmark, the 8 canonical landmark slots
//   text_table.hpp                the line/token reader with file:line errors
//   deepfashion_lists.hpp         one reader per list file, every format quirk handled there
//   deepfashion_list_writers.hpp  one writer per list file, in the real column layout
//   deepfashion_loading.hpp       LoadOptions, the cross-file image matcher
//   deepfashion_category.hpp      DeepFashion-C dataset: load and write
//   deepfashion_c2s.hpp           DeepFashion-C2S dataset: load, write, retrieval protocol
#pragma once

#include <seam/data/deepfashion_c2s.hpp>
#include <seam/data/deepfashion_category.hpp>
#include <seam/data/deepfashion_common.hpp>
#include <seam/data/deepfashion_list_writers.hpp>
#include <seam/data/deepfashion_lists.hpp>
#include <seam/data/deepfashion_loading.hpp>
#include <seam/data/text_table.hpp>
