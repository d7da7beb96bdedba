// test_bad_input.cpp: bad dataset files give an mdp::Error naming the file and the problem, never a
// crash or a silently wrong label: missing, truncated and corrupt images and label maps, a label map of
// another size than its image, label values out of range, colour and 16-bit label PNGs, missing split
// and class files. The files are made in a temporary directory from the real samples.
#include <boost/test/unit_test.hpp>

#include "data/ade20k.h"
#include "data/folder.h"
#include "data/png.h"
#include "data/voc.h"
#include "data_helpers.h"

using namespace mdp::data;
using namespace mdp::data::test;

namespace {

// A 4-class folder dataset of good copies of the pseudo_dataset pairs, ids "good0".."good4"; tests add
// damaged pairs next to them.
struct BadFolder {
  TempDir tmp{"bad_input"};
  FolderOptions options;
  BadFolder() {
    options.name = "bad";
    options.root = tmp.path.string();
    options.num_classes = 4;
    for (int i = 0; i < 5; ++i) add_good("good" + std::to_string(i), i);
  }
  std::string image(const std::string& id) const { return tmp.file("images/" + id + ".jpg"); }
  std::string label(const std::string& id) const { return tmp.file("labels/" + id + ".png"); }
  void add_good(const std::string& id, int k) {
    copy_file(sample("pseudo_dataset/imgs/0000" + std::to_string(k) + "_img.jpg"), image(id));
    copy_file(sample("pseudo_dataset/gts/0000" + std::to_string(k) + "_gt.png"), label(id));
  }
  // Opens a dataset of exactly the given ids (through a split file).
  std::shared_ptr<FileListDataset> open(const std::vector<std::string>& ids) {
    std::string list;
    for (const auto& id : ids) list += id + "\n";
    spit(tmp.file("split.txt"), std::vector<uint8_t>(list.begin(), list.end()));
    FolderOptions o = options;
    o.split_file = "split.txt";
    return open_folder(o);
  }
};

Image label_image(int w, int h, uint8_t value) {
  Image m(w, h, 1);
  std::fill(m.pixels.begin(), m.pixels.end(), value);
  return m;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(bad_input)

BOOST_AUTO_TEST_CASE(missing_files) {
  BadFolder f;
  f.add_good("nolabel", 0);
  std::filesystem::remove(f.label("nolabel"));
  auto ds = f.open({"good0", "noimage", "nolabel"});
  BOOST_TEST(ds->size() == 3);  // opening lists; reading checks
  BOOST_CHECK_NO_THROW(ds->get(0));
  BOOST_CHECK_EXCEPTION(ds->get(1), mdp::Error, mentions({f.image("noimage"), "No such file"}));
  BOOST_CHECK_EXCEPTION(ds->get(2), mdp::Error, mentions({f.label("nolabel"), "cannot open"}));
}

BOOST_AUTO_TEST_CASE(truncated_and_corrupt_images) {
  BadFolder f;
  std::vector<uint8_t> jpg = slurp(f.image("good0"));
  f.add_good("cut", 0);
  spit(f.image("cut"), std::vector<uint8_t>(jpg.begin(), jpg.begin() + std::ptrdiff_t(jpg.size() / 2)));
  f.add_good("garbled", 0);
  std::vector<uint8_t> bad = jpg;
  for (size_t i = bad.size() / 2; i < bad.size() / 2 + 64; ++i) bad[i] = 0xff;
  spit(f.image("garbled"), bad);
  f.add_good("text", 0);
  std::string words = "not an image at all\n";
  spit(f.image("text"), std::vector<uint8_t>(words.begin(), words.end()));
  f.add_good("cutlabel", 0);
  std::vector<uint8_t> png = slurp(f.label("good0"));
  spit(f.label("cutlabel"), std::vector<uint8_t>(png.begin(), png.begin() + std::ptrdiff_t(png.size() - 12)));

  auto ds = f.open({"cut", "garbled", "text", "cutlabel"});
  BOOST_CHECK_EXCEPTION(ds->get(0), mdp::Error, mentions({f.image("cut"), "truncated"}));
  BOOST_CHECK_EXCEPTION(ds->get(1), mdp::Error, mentions({f.image("garbled"), "JPEG"}));
  BOOST_CHECK_EXCEPTION(ds->get(2), mdp::Error, mentions({f.image("text"), "not a PNG or JPEG"}));
  BOOST_CHECK_EXCEPTION(ds->get(3), mdp::Error, mentions({f.label("cutlabel"), "truncated"}));
}

BOOST_AUTO_TEST_CASE(label_size_mismatch) {
  BadFolder f;
  f.add_good("small", 0);
  write_indexed_png(f.label("small"), label_image(255, 128, 1), voc_colormap(256));
  auto ds = f.open({"small"});
  BOOST_CHECK_EXCEPTION(ds->get(0), mdp::Error,
                        mentions({f.label("small"), "255x128", f.image("small"), "256x128", "size mismatch"}));
}

BOOST_AUTO_TEST_CASE(label_values_out_of_range) {
  BadFolder f;
  f.add_good("seven", 0);
  Image m = label_image(256, 128, 0);
  m.pixels[size_t(5) * 256 + 9] = 7;  // x 9, y 5
  write_indexed_png(f.label("seven"), m, voc_colormap(256));
  f.add_good("ignore", 0);
  write_indexed_png(f.label("ignore"), label_image(256, 128, 255), voc_colormap(256));
  auto ds = f.open({"seven", "ignore"});
  BOOST_CHECK_EXCEPTION(ds->get(0), mdp::Error,
                        mentions({f.label("seven"), "value 7", "x=9, y=5", "out of range", "0..3 or 255"}));
  BOOST_TEST((distinct(ds->get(1).label) == std::set<int32_t>{255}));  // 255 is ignore, not an error

  // The same rule for a real layout: VOC has 21 classes, so 21 is out of range.
  TempDir voc("bad_voc");
  std::string root = voc.file("VOC2012");
  spit(root + "/ImageSets/Segmentation/train.txt", {'x', '\n'});
  copy_file(sample("VOCdevkit/VOC2012/JPEGImages/2011_000025.jpg"), root + "/JPEGImages/x.jpg");
  Image v = read_png(sample("VOCdevkit/VOC2012/SegmentationClass/2011_000025.png"), PngMode::Indices);
  v.pixels[0] = 21;
  fs::create_directories(root + "/SegmentationClass");
  write_indexed_png(root + "/SegmentationClass/x.png", v, voc_colormap(256));
  auto vds = open_voc({root, "train"});
  BOOST_CHECK_EXCEPTION(vds->get(0), mdp::Error, mentions({"voc", root + "/SegmentationClass/x.png", "value 21", "0..20 or 255"}));

  // ADE20K: after reduce_zero_label 151 is out of range.
  TempDir ade("bad_ade");
  std::string aroot = ade.path.string();
  copy_file(sample("ADEChallengeData2016/images/validation/ADE_val_00000001.jpg"), aroot + "/images/validation/a.jpg");
  Image raw = read_png(sample("ADEChallengeData2016/annotations/validation/ADE_val_00000001.png"), PngMode::Indices);
  raw.pixels[683 * 2 + 3] = 151;
  fs::create_directories(aroot + "/annotations/validation");
  write_png(aroot + "/annotations/validation/a.png", raw);
  auto ads = open_ade20k({aroot, "validation"});
  BOOST_CHECK_EXCEPTION(ads->get(0), mdp::Error, mentions({"ade20k", "annotations/validation/a.png", "value 151", "x=3, y=2"}));
}

BOOST_AUTO_TEST_CASE(label_pngs_of_the_wrong_kind) {
  BadFolder f;
  f.add_good("colour", 0);
  write_png(f.label("colour"), Image(256, 128, 3));
  f.add_good("deep", 0);
  write_png(f.label("deep"), Image(256, 128, 1, 16));
  f.add_good("jpeglabel", 0);
  copy_file(f.image("good0"), f.label("jpeglabel"));
  auto ds = f.open({"colour", "deep", "jpeglabel"});
  BOOST_CHECK_EXCEPTION(ds->get(0), mdp::Error, mentions({f.label("colour"), "Indices mode"}));
  BOOST_CHECK_EXCEPTION(ds->get(1), mdp::Error, mentions({f.label("deep"), "16-bit"}));
  BOOST_CHECK_EXCEPTION(ds->get(2), mdp::Error, mentions({f.label("jpeglabel"), "not a PNG"}));
}

BOOST_AUTO_TEST_CASE(missing_roots_split_and_class_files) {
  TempDir tmp("bad_open");
  std::string nowhere = tmp.file("nowhere");
  BOOST_CHECK_EXCEPTION(open_voc({nowhere, "train"}), mdp::Error, mentions({"voc", nowhere, "not found"}));
  BOOST_CHECK_EXCEPTION(open_voc({sample("VOCdevkit/VOC2012"), "test"}), mdp::Error,
                        mentions({"voc", "ImageSets/Segmentation/test.txt", "not found"}));
  BOOST_CHECK_EXCEPTION(open_ade20k({sample("ADEChallengeData2016"), "testing"}), mdp::Error,
                        mentions({"ade20k", "images/testing", "not found"}));
  FolderOptions o;
  o.root = tmp.path.string();
  o.num_classes = 3;
  BOOST_CHECK_EXCEPTION(open_folder(o), mdp::Error, mentions({"folder", "images", "not found"}));
  std::filesystem::create_directories(tmp.path / "images");
  o.classes_file = "classes.txt";
  BOOST_CHECK_EXCEPTION(open_folder(o), mdp::Error, mentions({"classes.txt", "cannot open"}));
  o.classes_file.clear();
  o.num_classes = 0;
  BOOST_CHECK_EXCEPTION(open_folder(o), mdp::Error, mentions({"no classes"}));
  o.num_classes = 300;
  BOOST_CHECK_EXCEPTION(open_folder(o), mdp::Error, mentions({"num_classes 300", "8-bit"}));
  o.num_classes = 3;
  o.split_file = "splits/train.txt";
  BOOST_CHECK_EXCEPTION(open_folder(o), mdp::Error, mentions({"splits/train.txt", "cannot open"}));
  BOOST_CHECK_EXCEPTION(read_folder_layout(tmp.path.string(), "train"), mdp::Error, mentions({"layout.txt", "cannot open"}));
  spit(tmp.file("layout.txt"), {'c', 'o', 'l', 'o', 'u', 'r', ' ', '=', ' ', 'b', 'l', 'u', 'e', '\n'});
  BOOST_CHECK_EXCEPTION(read_folder_layout(tmp.path.string(), "train"), mdp::Error,
                        mentions({"layout.txt line 1", "unknown key 'colour'"}));
  // Found by the fuzzers (tests/fuzz): a number with a tail, or one past 255 (open_folder made that many
  // names), and a NUL byte, which cut names and messages short.
  auto text = [](const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); };
  spit(tmp.file("layout.txt"), text("num_classes = 12abc\n"));
  BOOST_CHECK_EXCEPTION(read_folder_layout(tmp.path.string(), "train"), mdp::Error,
                        mentions({"layout.txt line 1", "num_classes '12abc'", "0 to 255"}));
  spit(tmp.file("layout.txt"), text("num_classes = 2000000000\n"));
  BOOST_CHECK_EXCEPTION(read_folder_layout(tmp.path.string(), "train"), mdp::Error, mentions({"layout.txt line 1", "0 to 255"}));
  spit(tmp.file("layout.txt"), text(std::string("name = we\0b\n", 10)));
  BOOST_CHECK_EXCEPTION(read_folder_layout(tmp.path.string(), "train"), mdp::Error, mentions({"layout.txt line 1", "NUL byte"}));
  spit(tmp.file("layout.txt"), text("classes_file = classes.txt\n"));
  spit(tmp.file("classes.txt"), text(std::string("road\nsk\0y\n", 10)));
  BOOST_CHECK_EXCEPTION(open_folder(read_folder_layout(tmp.path.string(), "train")), mdp::Error,
                        mentions({"classes.txt line 2", "NUL byte"}));
}

BOOST_AUTO_TEST_SUITE_END()
