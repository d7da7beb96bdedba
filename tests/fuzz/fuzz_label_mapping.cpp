// fuzz_label_mapping.cpp: a label-mapping file (pretrain's data.label_mapping), read by
// data::read_label_mapping and then handed, as `mdp pretrain` does, to a LabelSpace of VOC and ADE20K
// (their real class names, prefixes voc and ade20k, as configs/pretrain/voc_ade20k_label_mapping.txt
// expects), which checks the names and the groups. Every rejection is an mdp::Error naming the file;
// what is accepted must give a consistent label space.
#include <string>

#include "data/ade20k.h"
#include "data/label_space.h"
#include "data/voc.h"
#include "tensor/error.h"
#include "tests/fuzz/fuzz_input.h"

using namespace mdp;
using namespace mdp::data;
using mdp::fuzz::expect;

namespace {

std::shared_ptr<const Dataset> names_only(const std::string& name, const std::vector<std::string>& classes, const Palette& p,
                                          LabelMap map) {
  // One entry whose files are never opened: the label space needs only names, sizes and palettes.
  return std::make_shared<FileListDataset>(name, classes, p, std::vector<FileEntry>{{"x.jpg", "x.png"}}, map, true);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto voc = names_only("voc", voc_class_names(), voc_palette(), LabelMap::identity(21));
  static const auto ade = names_only("ade20k", ade20k_class_names(), ade20k_palette(), LabelMap::reduce_zero(150));
  const std::string path = (fuzz::scratch_dir() / "label_mapping.txt").string();
  fuzz::write_file(path, std::string_view(reinterpret_cast<const char*>(data), size));
  LabelMerges merges;
  try {
    merges = read_label_mapping(path);
  } catch (const Error& e) {
    fuzz::expect_mentions(e, path);
    return 0;
  }
  for (const auto& g : merges) expect(g.classes.size() >= 2 && g.where.find(path) != std::string::npos);
  try {
    LabelSpace ls({{voc}, {ade}}, merges);
    expect(ls.num_classes() <= 171 && ls.num_classes() >= 171 - int(merges.size()) * 170);
    for (int c = 0; c < ls.num_classes(); ++c) {
      for (const auto& [d, local] : ls.members_of(c)) expect(ls.global_id(d, local) == c);
      expect(ls.local_id(c) == ls.members_of(c).front());
    }
  } catch (const Error& e) {
    expect(!merges.empty());
    fuzz::expect_mentions(e, path);
  }
  return 0;
}
