// fuzz_dataset_lists.cpp: the list and index files the dataset readers take from a download: PASCAL
// VOC's split list (ImageSets/Segmentation/<split>.txt) and ADE20K's objectInfo150.csv, parts 1 and 2 of
// the input (parts as in fuzz_input.h), opened by open_voc and open_ade20k. (Cityscapes and COCO-Stuff
// list folders and read no index file.) Every rejection is an mdp::Error naming the file; what opens has
// one entry per id.
#include <string>

#include "data/ade20k.h"
#include "data/voc.h"
#include "tensor/error.h"
#include "tests/fuzz/fuzz_input.h"

using namespace mdp;
using namespace mdp::data;
using mdp::fuzz::expect;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> parts = fuzz::split_parts(data, size, 2);
  const auto dir = fuzz::scratch_dir();

  const auto voc_list = dir / "VOC2012" / "ImageSets" / "Segmentation" / "train.txt";
  fuzz::write_file(voc_list, parts[0]);
  try {
    auto ds = open_voc({.root = (dir / "VOC2012").string(), .split = "train"});
    expect(ds->num_classes() == 21);
  } catch (const Error& e) {
    fuzz::expect_mentions(e, voc_list.string());
  }

  const auto csv = dir / "ade" / "objectInfo150.csv";
  fuzz::write_file(csv, parts[1]);
  std::filesystem::create_directories(dir / "ade" / "images" / "training");
  try {
    auto ds = open_ade20k({.root = (dir / "ade").string(), .split = "train"});
    expect(ds->num_classes() == 150 && ds->size() == 0);
  } catch (const Error& e) {
    fuzz::expect_mentions(e, csv.string());
  }
  return 0;
}
