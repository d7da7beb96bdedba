// test_readers.cpp: each dataset reader on the real samples in ../shared/data: counts, sizes, the label
// values its README lists, ADE20K's reduce_zero_label, Cityscapes labelIds -> trainIds equal to the
// labelTrainIds files, class names and palettes. Bad files are in test_bad_input.cpp.
#include <boost/test/unit_test.hpp>

#include <algorithm>

#include "data/ade20k.h"
#include "data/cityscapes.h"
#include "data/coco_stuff.h"
#include "data/folder.h"
#include "data/image_io.h"
#include "data/png.h"
#include "data/voc.h"
#include "data_helpers.h"

using namespace mdp::data;
using namespace mdp::data::test;

BOOST_AUTO_TEST_SUITE(readers)

BOOST_AUTO_TEST_CASE(voc_splits_sizes_and_labels) {
  auto train = open_voc({sample("VOCdevkit/VOC2012"), "train"});
  auto val = open_voc({sample("VOCdevkit"), "val"});  // the VOCdevkit above VOC2012 works too
  auto trainval = open_voc({sample("VOCdevkit/VOC2012"), "trainval"});
  BOOST_TEST(train->size() == 2);
  BOOST_TEST(val->size() == 1);
  BOOST_TEST(trainval->size() == 3);
  BOOST_TEST(train->num_classes() == 21);
  BOOST_TEST(train->class_names()[15] == "person");
  BOOST_TEST(train->class_names()[20] == "tvmonitor");
  BOOST_TEST(train->palette().size() == 21u);
  BOOST_TEST((train->palette()[1] == std::array<uint8_t, 3>{128, 0, 0}));
  BOOST_TEST((train->palette()[15] == std::array<uint8_t, 3>{192, 128, 128}));

  std::set<int32_t> all;
  struct Want { int w, h; std::set<int32_t> values; };
  std::vector<Want> want = {{500, 338, {0, 5, 15, 255}}, {500, 375, {0, 9, 15, 18, 255}}, {500, 375, {0, 6, 7}}};
  for (int64_t i = 0; i < trainval->size(); ++i) {
    BOOST_TEST_CONTEXT(trainval->describe(i)) {
      Sample s = trainval->get(i);
      BOOST_TEST(s.width == want[size_t(i)].w);
      BOOST_TEST(s.height == want[size_t(i)].h);
      BOOST_TEST(s.image.channels == 3);
      BOOST_TEST(s.label.size() == size_t(s.width) * size_t(s.height));
      BOOST_TEST((distinct(s.label) == want[size_t(i)].values));
      BOOST_TEST(s.ignore_index == 255);
      BOOST_TEST(s.image_path.find("JPEGImages") != std::string::npos);
      BOOST_TEST(s.label_path.find("SegmentationClass/") != std::string::npos);
      for (int32_t v : s.label) all.insert(v);
    }
  }
  BOOST_TEST((all == std::set<int32_t>{0, 5, 6, 7, 9, 15, 18, 255}));

  // SegmentationClassAug (gray) gives the same labels as the palette PNGs; split "aug" uses it.
  auto aug = open_voc({sample("VOCdevkit/VOC2012"), "aug"});
  BOOST_TEST(aug->size() == 3);
  for (int64_t i = 0; i < 3; ++i) {
    Sample a = aug->get(i), p = trainval->get(i);
    BOOST_TEST(a.label_path.find("SegmentationClassAug") != std::string::npos);
    BOOST_TEST((a.label == p.label));
    BOOST_TEST((a.image.pixels == p.image.pixels));
  }
}

BOOST_AUTO_TEST_CASE(ade20k_reduce_zero_label) {
  auto train = open_ade20k({sample("ADEChallengeData2016"), "training"});
  auto val = open_ade20k({sample("ADEChallengeData2016"), "val"});
  BOOST_TEST(train->size() == 1);
  BOOST_TEST(val->size() == 1);
  BOOST_TEST(train->num_classes() == 150);
  BOOST_TEST(train->class_names()[0] == "wall");
  BOOST_TEST(train->class_names()[7] == "bed");  // MMSegmentation's 'bed ' without the stray space
  BOOST_TEST(train->class_names()[149] == "flag");
  BOOST_TEST((train->palette()[0] == std::array<uint8_t, 3>{120, 120, 120}));
  BOOST_TEST((train->palette()[149] == std::array<uint8_t, 3>{92, 0, 255}));

  Sample s = train->get(0);
  BOOST_TEST(s.width == 683);
  BOOST_TEST(s.height == 512);
  // Raw values {0, 1, 4, 5, 6, 13, 18, 32, 33, 43, 44, 88, 97, 105, 126, 139, 150}: 0 -> 255, v -> v-1.
  std::set<int32_t> want = {255, 0, 3, 4, 5, 12, 17, 31, 32, 42, 43, 87, 96, 104, 125, 138, 149};
  BOOST_TEST((distinct(s.label) == want));
  // Pixel by pixel against the raw file.
  Image raw = read_png(s.label_path, PngMode::Indices);
  bool same = true;
  for (size_t p = 0; p < s.label.size(); ++p) {
    int r = raw.pixels[p];
    same = same && s.label[p] == (r == 0 ? 255 : r - 1);
  }
  BOOST_TEST(same);
  Sample v = val->get(0);
  BOOST_TEST((distinct(v.label) == std::set<int32_t>{255, 0, 1, 2, 4, 6, 9, 17}));  // 8 raw values
}

BOOST_AUTO_TEST_CASE(cityscapes_label_ids_map_to_train_ids) {
  std::string root = sample("cityscapes");
  auto train_ids = open_cityscapes({root, "val", CityscapesOptions::Labels::TrainIds});
  auto label_ids = open_cityscapes({root, "val", CityscapesOptions::Labels::LabelIds});
  auto automatic = open_cityscapes({root, "val"});
  BOOST_TEST(train_ids->size() == 1);
  BOOST_TEST(train_ids->num_classes() == 19);
  BOOST_TEST(train_ids->class_names()[13] == "car");
  BOOST_TEST((train_ids->palette()[0] == std::array<uint8_t, 3>{128, 64, 128}));
  Sample a = train_ids->get(0), b = label_ids->get(0), c = automatic->get(0);
  BOOST_TEST(a.width == 256);
  BOOST_TEST(a.height == 128);
  BOOST_TEST(a.label_path.find("_gtFine_labelTrainIds.png") != std::string::npos);
  BOOST_TEST(b.label_path.find("_gtFine_labelIds.png") != std::string::npos);
  BOOST_TEST(c.label_path == a.label_path);  // Auto prefers the train-id files
  BOOST_TEST((distinct(a.label) == std::set<int32_t>{0, 1, 2, 4, 5, 7, 8, 10, 11, 13, 255}));
  // The two sample files were downscaled (by MMSegmentation, for its test data) separately, so they agree
  // everywhere but on some class boundaries: 80 of 32768 pixels, each next to a change of class in the
  // train-id file. Everywhere else the official table maps one exactly onto the other.
  int differ = 0, off_boundary = 0;
  for (int y = 0; y < a.height; ++y)
    for (int x = 0; x < a.width; ++x) {
      size_t p = size_t(y) * size_t(a.width) + size_t(x);
      if (a.label[p] == b.label[p]) continue;
      ++differ;
      bool boundary = false;
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) {
          int nx = std::clamp(x + dx, 0, a.width - 1), ny = std::clamp(y + dy, 0, a.height - 1);
          boundary = boundary || a.label[size_t(ny) * size_t(a.width) + size_t(nx)] != a.label[p];
        }
      off_boundary += !boundary;
    }
  BOOST_TEST_MESSAGE("labelIds -> trainIds: " << differ << " of " << a.label.size() << " pixels differ from labelTrainIds");
  BOOST_TEST(differ <= 80);
  BOOST_TEST(off_boundary == 0);
  BOOST_TEST((a.image.pixels == b.image.pixels));
  // The table itself, on a few well-known ids.
  const auto& t = cityscapes_label_to_train_id();
  BOOST_TEST(t[7] == 0);    // road
  BOOST_TEST(t[26] == 13);  // car
  BOOST_TEST(t[33] == 18);  // bicycle
  BOOST_TEST(t[0] == 255);  // unlabeled
  BOOST_TEST(t[29] == 255); // caravan
}

BOOST_AUTO_TEST_CASE(coco_stuff_train_ids) {
  auto ds = open_coco_stuff({sample("coco_stuff164k"), "train"});
  BOOST_TEST(ds->size() == 1);  // the raw 000000119938.png next to the train-id file is not an image
  BOOST_TEST(ds->num_classes() == 171);
  BOOST_TEST(ds->class_names()[94] == "clouds");
  BOOST_TEST(ds->class_names()[145] == "sky-other");
  BOOST_TEST(ds->class_names()[157] == "tree");
  BOOST_TEST(ds->palette().size() == 171u);
  Sample s = ds->get(0);
  BOOST_TEST(s.width == 640);
  BOOST_TEST(s.height == 427);
  BOOST_TEST((distinct(s.label) == std::set<int32_t>{94, 145, 157, 255}));
}

BOOST_AUTO_TEST_CASE(folder_reads_the_pseudo_dataset) {
  FolderOptions o;
  o.name = "pseudo";
  o.root = sample("pseudo_dataset");
  o.image_dir = "imgs";
  o.label_dir = "gts";
  o.image_suffix = "_img.jpg";
  o.label_suffix = "_gt.png";
  o.num_classes = 4;
  o.split_file = "splits/train.txt";
  auto train = open_folder(o);
  BOOST_TEST(train->size() == 4);
  BOOST_TEST(train->class_names()[3] == "class_3");
  std::set<int32_t> all;
  for (int64_t i = 0; i < train->size(); ++i) {
    Sample s = train->get(i);
    BOOST_TEST(s.width == 256);
    BOOST_TEST(s.height == 128);
    for (int32_t v : s.label) all.insert(v);
  }
  BOOST_TEST((all == std::set<int32_t>{0, 1, 2, 3}));
  // No split file: every image of the directory; the same image/label pairing.
  o.split_file.clear();
  auto every = open_folder(o);
  BOOST_TEST(every->size() == 5);
  BOOST_TEST(every->describe(4).find("00004_img.jpg") != std::string::npos);
  BOOST_TEST(every->describe(4).find("00004_gt.png") != std::string::npos);
  // Unlabeled: images only.
  o.labeled = false;
  auto images = open_folder(o);
  BOOST_TEST(!images->has_labels());
  Sample u = images->get(0);
  BOOST_TEST(!u.labeled());
  BOOST_TEST(u.label_path.empty());
  // Class names given explicitly; too few palette colours is an error at open.
  o.labeled = true;
  o.class_names = {"background", "a", "b", "c"};
  BOOST_TEST(open_folder(o)->class_names()[1] == "a");
}

BOOST_AUTO_TEST_CASE(folder_layout_file_round_trips) {
  TempDir tmp("readers");
  FolderOptions o;
  o.name = "mine";
  o.root = tmp.path.string();
  o.image_dir = "im";
  o.label_dir = "lab";
  o.image_suffix = ".png";
  o.split_file = "lists/{split}.txt";
  o.classes_file = "names.txt";
  o.reduce_zero_label = true;
  write_folder_layout(o);
  FolderOptions back = read_folder_layout(o.root, "val");
  BOOST_TEST(back.name == "mine");
  BOOST_TEST(back.image_dir == "im");
  BOOST_TEST(back.label_dir == "lab");
  BOOST_TEST(back.image_suffix == ".png");
  BOOST_TEST(back.split_file == "lists/val.txt");
  BOOST_TEST(back.classes_file == "names.txt");
  BOOST_TEST(back.reduce_zero_label);
  BOOST_TEST(back.labeled);
}

BOOST_AUTO_TEST_SUITE_END()
