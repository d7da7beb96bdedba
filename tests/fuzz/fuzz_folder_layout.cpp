// fuzz_folder_layout.cpp: the files that describe a folder dataset (data/folder.h, what `mdp data
// import` writes and the generated domains use): layout.txt, the classes file, the palette file and a
// split list, parts 1 to 4 of the input (parts as in fuzz_input.h), written to <root>/layout.txt,
// <root>/classes.txt, <root>/palette.txt and <root>/splits/train.txt. Read by read_folder_layout and
// open_folder as `data.dataset: folder` does. Every rejection is an mdp::Error naming the file (or the
// dataset's folder); what opens must be consistent: a colour per class, an entry per id.
#include <string>

#include "data/folder.h"
#include "tensor/error.h"
#include "tests/fuzz/fuzz_input.h"

using namespace mdp;
using namespace mdp::data;
using mdp::fuzz::expect;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> parts = fuzz::split_parts(data, size, 4);
  const auto root = fuzz::scratch_dir() / "dataset";
  fuzz::write_file(root / "layout.txt", parts[0]);
  fuzz::write_file(root / "classes.txt", parts[1]);
  fuzz::write_file(root / "palette.txt", parts[2]);
  fuzz::write_file(root / "splits" / "train.txt", parts[3]);
  std::filesystem::create_directories(root / "images");
  try {
    FolderOptions o = read_folder_layout(root.string(), "train");
    auto ds = open_folder(o);
    expect(ds->palette().size() == ds->class_names().size());
    expect(ds->num_classes() <= 255);
  } catch (const Error& e) {
    fuzz::expect_mentions(e, root.string());
  }
  return 0;
}
