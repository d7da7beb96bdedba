// test_label_space.cpp: datasets concatenated into one label space: offsets, labels shifted on read,
// prefixed class names, dataset ids, sampling weights, and the ignore value switching from 255 to -1
// when the space has more than 255 classes (VOC 21 + ADE20K 150 + COCO-Stuff 171 = 342). Unlabeled
// members (0 classes, all-ignore labels, through the loader too) and class merging from a mapping file
// (renumbering, names, labels of real and generated samples, the ignore rule on the merged count, and
// every error message).
#include <boost/test/unit_test.hpp>

#include <map>

#include "data/ade20k.h"
#include "data/cityscapes.h"
#include "data/coco_stuff.h"
#include "data/folder.h"
#include "data/generated.h"
#include "data/label_space.h"
#include "data/loader.h"
#include "data/voc.h"
#include "data_helpers.h"
#include "data/transforms.h"
#include "tensor/ops.h"
#include "tensor/random.h"

using namespace mdp::data;
using namespace mdp::data::test;

namespace {

// The pseudo dataset's images without labels and without classes: 4 images (split train), 256x128.
std::shared_ptr<FileListDataset> pseudo_images(int num_classes = 0) {
  FolderOptions o;
  o.name = "pseudo";
  o.root = sample("pseudo_dataset");
  o.image_dir = "imgs";
  o.image_suffix = "_img.jpg";
  o.split_file = "splits/train.txt";
  o.num_classes = num_classes;
  o.labeled = false;
  return open_folder(o);
}

void write_text(const std::string& path, const std::string& text) {
  spit(path, std::vector<uint8_t>(text.begin(), text.end()));
}

// shapes_a (6 classes) and shapes_b (6 classes) of a small generated dataset under root, split train.
std::pair<std::shared_ptr<FileListDataset>, std::shared_ptr<FileListDataset>> shapes_ab(const std::string& root) {
  GeneratedSpec spec = demo_domains(3, 48, 40, 8, 1);
  spec.domains.resize(2);  // shapes_a, shapes_b
  write_generated(spec, root);
  return {open_folder(generated_domain_options(root, "shapes_a", "train")),
          open_folder(generated_domain_options(root, "shapes_b", "train"))};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(label_space)

BOOST_AUTO_TEST_CASE(ignore_value_rule) {
  BOOST_TEST(ignore_index_for(1) == 255);
  BOOST_TEST(ignore_index_for(255) == 255);
  BOOST_TEST(ignore_index_for(256) == -1);
  BOOST_TEST(ignore_index_for(342) == -1);
}

BOOST_AUTO_TEST_CASE(small_space_keeps_255) {
  auto voc = open_voc({sample("VOCdevkit/VOC2012"), "train"});
  auto city = open_cityscapes({sample("cityscapes"), "val"});
  LabelSpace space({{voc, 1.0, ""}, {city, 1.0, "city"}});
  BOOST_TEST(space.num_classes() == 40);
  BOOST_TEST(space.ignore_index() == 255);
  BOOST_TEST(space.size() == 3);
  BOOST_TEST(space.offset(0) == 0);
  BOOST_TEST(space.offset(1) == 21);
  BOOST_TEST(space.class_names()[15] == "voc/person");
  BOOST_TEST(space.class_names()[21 + 13] == "city/car");
  BOOST_TEST(space.name() == "voc+city");
  Sample s = space.get(2);  // the Cityscapes frame
  BOOST_TEST(s.dataset_id == 1);
  BOOST_TEST(s.ignore_index == 255);
  Sample local = city->get(0);
  bool shifted = true;
  for (size_t p = 0; p < s.label.size(); ++p)
    shifted = shifted && s.label[p] == (local.label[p] == 255 ? 255 : local.label[p] + 21);
  BOOST_TEST(shifted);
  BOOST_TEST(space.get(0).dataset_id == 0);
  BOOST_TEST((space.get(0).label == voc->get(0).label));  // offset 0: unchanged
}

BOOST_AUTO_TEST_CASE(large_space_uses_minus_one) {
  auto voc = open_voc({sample("VOCdevkit/VOC2012"), "trainval"});
  auto ade = open_ade20k({sample("ADEChallengeData2016"), "training"});
  auto coco = open_coco_stuff({sample("coco_stuff164k"), "train2017"});
  LabelSpace space({{voc, 1.0, ""}, {ade, 1.0, ""}, {coco, 1.0, ""}});
  BOOST_TEST(space.num_classes() == 342);
  BOOST_TEST(space.ignore_index() == -1);
  BOOST_TEST(space.size() == 5);
  BOOST_TEST(space.offset(1) == 21);
  BOOST_TEST(space.offset(2) == 171);
  BOOST_TEST(space.class_names()[21] == "ade20k/wall");
  BOOST_TEST(space.class_names()[171] == "coco-stuff/person");
  // Global class 255 is a real class here.
  BOOST_TEST(space.class_names()[255] == "coco-stuff/building-other");
  BOOST_TEST((space.local_id(255) == std::pair<int, int>{2, 84}));
  BOOST_TEST(space.global_id(2, 94) == 265);
  BOOST_TEST((space.locate(3) == std::pair<int, int64_t>{1, 0}));
  BOOST_CHECK_EXCEPTION(space.global_id(0, 21), mdp::Error, mentions({"class 21 of voc", "0..20"}));

  // VOC: its 255 border becomes -1, classes unchanged.
  Sample v = space.get(0);
  BOOST_TEST(v.ignore_index == -1);
  BOOST_TEST((distinct(v.label) == std::set<int32_t>{-1, 0, 5, 15}));
  // ADE20K: reduce_zero_label's 255 becomes -1, classes + 21.
  Sample a = space.get(3);
  BOOST_TEST(a.dataset_id == 1);
  std::set<int32_t> want_ade;
  for (int32_t c : {0, 3, 4, 5, 12, 17, 31, 32, 42, 43, 87, 96, 104, 125, 138, 149}) want_ade.insert(c + 21);
  want_ade.insert(-1);
  BOOST_TEST((distinct(a.label) == want_ade));
  // COCO-Stuff: 94 clouds, 145 sky-other, 157 tree -> + 171; 255 -> -1. No value is 255 any more.
  Sample c = space.get(4);
  BOOST_TEST(c.dataset_id == 2);
  BOOST_TEST((distinct(c.label) == std::set<int32_t>{-1, 265, 316, 328}));
  BOOST_TEST(space.class_names()[265] == "coco-stuff/clouds");
}

BOOST_AUTO_TEST_CASE(sampling_weights_and_members) {
  auto voc = open_voc({sample("VOCdevkit/VOC2012"), "trainval"});   // 3 samples
  auto city = open_cityscapes({sample("cityscapes"), "val"});        // 1 sample
  LabelSpace space({{voc, 1.0, ""}, {city, 3.0, ""}});
  std::vector<double> w = space.sample_weights();
  BOOST_TEST(w.size() == 4u);
  BOOST_TEST(w[0] == 1.0 / 3);
  BOOST_TEST(w[3] == 3.0);
  BOOST_TEST(space.weight(1) == 3.0);
  BOOST_TEST(space.palette().size() == 40u);
  BOOST_TEST((space.palette()[21] == std::array<uint8_t, 3>{128, 64, 128}));
  BOOST_TEST(space.describe(3).find("leftImg8bit") != std::string::npos);

  BOOST_CHECK_EXCEPTION(LabelSpace({}), mdp::Error, mentions({"at least one dataset"}));
  BOOST_CHECK_EXCEPTION(LabelSpace({{voc, 1.0, ""}, {voc, 1.0, ""}}), mdp::Error, mentions({"two datasets are named 'voc'"}));
  BOOST_CHECK_EXCEPTION(LabelSpace({{voc, 0.0, ""}}), mdp::Error, mentions({"weight 0"}));
}

BOOST_AUTO_TEST_CASE(unlabeled_folder_opens) {
  // No labels directory, no classes: a layout.txt with labeled = false is enough.
  TempDir tmp("ls_unlabeled");
  for (int i = 0; i < 3; ++i) {
    std::string id = "0000" + std::to_string(i);
    copy_file(sample("pseudo_dataset/imgs/" + id + "_img.jpg"), tmp.file("images/" + id + ".jpg"));
  }
  write_text(tmp.file("layout.txt"), "name = web\nlabeled = false\n");
  auto ds = open_folder(read_folder_layout(tmp.path.string(), "train"));
  BOOST_TEST(!ds->has_labels());
  BOOST_TEST(ds->num_classes() == 0);
  BOOST_TEST(ds->size() == 3);
  Sample s = ds->get(2);
  BOOST_TEST(!s.labeled());
  BOOST_TEST(s.width == 256);
  BOOST_TEST(ds->describe(0).find("labels") == std::string::npos);
  // A labeled dataset still needs classes.
  FolderOptions o = read_folder_layout(tmp.path.string(), "train");
  o.labeled = true;
  BOOST_CHECK_EXCEPTION(open_folder(o), mdp::Error, mentions({"web (", "): no classes", "labeled = false"}));
  BOOST_CHECK_EXCEPTION(FileListDataset("x", {}, {}, {}, LabelMap{}, true), mdp::Error, mentions({"x: no class names"}));
}

BOOST_AUTO_TEST_CASE(unlabeled_member) {
  auto voc = open_voc({sample("VOCdevkit/VOC2012"), "trainval"});  // 3 samples, 21 classes
  auto city = open_cityscapes({sample("cityscapes"), "val"});       // 1 sample, 19 classes
  auto images = pseudo_images(4);  // declares 4 classes, but has no labels: contributes none
  LabelSpace space({{voc, 1.0, ""}, {images, 2.0, "web"}, {city, 1.0, "city"}});
  BOOST_TEST(space.num_classes() == 40);
  BOOST_TEST(space.ignore_index() == 255);
  BOOST_TEST(space.size() == 3 + 4 + 1);
  BOOST_TEST(space.labeled(0));
  BOOST_TEST(!space.labeled(1));
  BOOST_TEST(space.labeled(2));
  BOOST_TEST(space.offset(1) == 21);
  BOOST_TEST(space.num_classes_of(1) == 0);
  BOOST_TEST(space.offset(2) == 21);  // later members are not shifted by the unlabeled one
  BOOST_TEST(space.num_classes_of(2) == 19);
  BOOST_TEST(space.class_names()[21] == "city/road");
  BOOST_TEST(space.dataset_of_class(21) == 2);
  BOOST_TEST(space.name() == "voc+web+city");
  BOOST_CHECK_EXCEPTION(space.global_id(1, 0), mdp::Error, mentions({"dataset 1 (web) has no labels"}));

  // The unlabeled samples: full-size labels, all ignore, dataset id 1, the image untouched.
  for (int64_t i = 3; i < 7; ++i) {
    Sample s = space.get(i);
    Sample raw = images->get(i - 3);
    BOOST_TEST(s.dataset_id == 1);
    BOOST_TEST(s.ignore_index == 255);
    BOOST_TEST(s.label.size() == size_t(s.width) * size_t(s.height));
    BOOST_TEST(s.label.size() == 256u * 128u);
    BOOST_TEST((distinct(s.label) == std::set<int32_t>{255}));
    BOOST_TEST((s.image.pixels == raw.image.pixels));
    BOOST_TEST(s.label_path.empty());
  }
  // The member after it keeps its offset: Cityscapes labels + 21.
  Sample c = space.get(7);
  Sample local = city->get(0);
  BOOST_TEST(c.dataset_id == 2);
  bool shifted = true;
  for (size_t p = 0; p < c.label.size(); ++p)
    shifted = shifted && c.label[p] == (local.label[p] == 255 ? 255 : local.label[p] + 21);
  BOOST_TEST(shifted);
  // Sampling weights: the unlabeled member's 4 images share its weight 2.
  std::vector<double> w = space.sample_weights();
  BOOST_TEST(w.size() == 8u);
  BOOST_TEST(w[3] == 0.5);
  BOOST_TEST(w[7] == 1.0);

  // Only unlabeled members: no classes, an error.
  BOOST_CHECK_EXCEPTION(LabelSpace({{images, 1.0, "web"}, {pseudo_images(), 1.0, "web2"}}), mdp::Error,
                        mentions({"no classes", "web, web2", "unlabeled"}));
}

BOOST_AUTO_TEST_CASE(unlabeled_member_in_a_large_space_uses_minus_one) {
  auto voc = open_voc({sample("VOCdevkit/VOC2012"), "trainval"});
  auto ade = open_ade20k({sample("ADEChallengeData2016"), "training"});
  auto coco = open_coco_stuff({sample("coco_stuff164k"), "train2017"});
  LabelSpace space({{voc, 1.0, ""}, {pseudo_images(), 1.0, "web"}, {ade, 1.0, ""}, {coco, 1.0, ""}});
  BOOST_TEST(space.num_classes() == 342);
  BOOST_TEST(space.ignore_index() == -1);
  BOOST_TEST(space.offset(2) == 21);
  BOOST_TEST(space.offset(3) == 171);
  Sample s = space.get(3);
  BOOST_TEST(s.dataset_id == 1);
  BOOST_TEST((distinct(s.label) == std::set<int32_t>{-1}));
  BOOST_TEST(s.label.size() == 256u * 128u);
}

BOOST_AUTO_TEST_CASE(unlabeled_member_through_the_loader) {
  auto city = open_cityscapes({sample("cityscapes"), "val"});
  auto space = std::make_shared<LabelSpace>(std::vector<LabelSpaceMember>{{pseudo_images(), 1.0, "web"}, {city, 1.0, ""}});
  LoaderOptions o;
  o.batch_size = 5;
  o.num_workers = 1;
  o.shuffle = false;
  Loader loader(space, train_pipeline(64, 48, 256, 128), o);
  Batch b;
  BOOST_TEST_REQUIRE(loader.next(b));
  BOOST_TEST((b.labels.shape() == mdp::Shape{5, 48, 64}));
  BOOST_TEST((mdp::ops::to_vector(b.dataset_ids) == std::vector<double>{0, 0, 0, 0, 1}));
  std::vector<double> labels = mdp::ops::to_vector(b.labels);
  const size_t per = 48 * 64;
  std::set<double> unlabeled(labels.begin(), labels.begin() + 4 * per), labeled(labels.begin() + 4 * per, labels.end());
  BOOST_TEST((unlabeled == std::set<double>{255}));
  BOOST_TEST(labeled.size() > 1u);
}

BOOST_AUTO_TEST_CASE(marked_unlabeled_pixels_are_told_from_padding) {
  // With mark_unlabeled_pixels, an unlabeled image's own pixels carry kUnlabeledPixel through the train
  // pipeline, while the padding up to the crop is ignore: pseudo-labels go to exactly the image.
  auto city = open_cityscapes({sample("cityscapes"), "val"});
  LabelSpace space({{pseudo_images(), 1.0, "web"}, {city, 1.0, ""}});
  space.mark_unlabeled_pixels(true);
  Sample s = space.get(0);
  BOOST_TEST((distinct(s.label) == std::set<int32_t>{LabelSpace::kUnlabeledPixel}));
  PipelineOptions p = train_pipeline(320, 200, 128, 64);  // resized to at most 256 x 128: always padded
  mdp::Generator gen(3);
  PreparedSample r = apply_pipeline(s, p, gen);
  BOOST_TEST_REQUIRE(r.label_width == 320);
  BOOST_TEST_REQUIRE(r.label_height == 200);
  int64_t marked = 0, ignored = 0;
  for (int32_t v : r.label) {
    marked += v == LabelSpace::kUnlabeledPixel;
    ignored += v == 255;
  }
  BOOST_TEST(marked + ignored == int64_t(r.label.size()));
  BOOST_TEST(marked > 0);
  BOOST_TEST(ignored > 0);  // the padding
  Sample c = space.get(space.size() - 1);  // a labeled sample never carries the mark
  BOOST_TEST(distinct(c.label).count(LabelSpace::kUnlabeledPixel) == 0u);
  space.mark_unlabeled_pixels(false);
  BOOST_TEST((distinct(space.get(0).label) == std::set<int32_t>{255}));
}

BOOST_AUTO_TEST_CASE(read_label_mapping_parses_groups) {
  TempDir tmp("ls_mapping");
  write_text(tmp.file("map.txt"),
             "# merged class = its members\n"
             "\n"
             "shapes_a/circle = shapes_b/disk   # same concept\n"
             "   voc/person=ade20k/person =  coco-stuff/person\r\n"
             "ade20k/chest of drawers = coco-stuff/cabinet\n");
  LabelMerges m = read_label_mapping(tmp.file("map.txt"));
  BOOST_TEST_REQUIRE(m.size() == 3u);
  BOOST_TEST((m[0].classes == std::vector<std::string>{"shapes_a/circle", "shapes_b/disk"}));
  BOOST_TEST((m[1].classes == std::vector<std::string>{"voc/person", "ade20k/person", "coco-stuff/person"}));
  BOOST_TEST((m[2].classes == std::vector<std::string>{"ade20k/chest of drawers", "coco-stuff/cabinet"}));
  BOOST_TEST(m[1].where == "label mapping " + tmp.file("map.txt") + " line 4");
  write_text(tmp.file("empty.txt"), "# nothing merged\n\n");
  BOOST_TEST(read_label_mapping(tmp.file("empty.txt")).empty());
  // A NUL byte would cut a class name short: an error naming the file and line (as for every list file).
  write_text(tmp.file("nul.txt"), std::string("voc/person = ade20k/per\0son\n", 28));
  try {
    read_label_mapping(tmp.file("nul.txt"));
    BOOST_ERROR("a NUL byte was accepted");
  } catch (const mdp::Error& e) {
    BOOST_TEST(std::string(e.what()).find("nul.txt line 1: has a NUL byte") != std::string::npos, e.what());
  }
}

BOOST_AUTO_TEST_CASE(merge_renumbers_generated_domains) {
  TempDir tmp("ls_merge");
  auto [a, b] = shapes_ab(tmp.path.string());
  // a: background circle square triangle ring striped_circle; b: background bar disk checker_box blob cross.
  write_text(tmp.file("map.txt"),
             "shapes_a/circle = shapes_b/disk\n"
             "shapes_b/background = shapes_a/background  # written in reverse: order does not matter\n");
  LabelSpace plain({{a, 1.0, ""}, {b, 1.0, ""}});
  LabelSpace space({{a, 1.0, ""}, {b, 1.0, ""}}, read_label_mapping(tmp.file("map.txt")));
  BOOST_TEST(plain.num_classes() == 12);
  BOOST_TEST(plain.global_id(1, 2) == 8);
  BOOST_TEST(space.num_classes() == 10);
  const std::vector<std::string> want_names = {
      "shapes_a/background|shapes_b/background", "shapes_a/circle|shapes_b/disk", "shapes_a/square",
      "shapes_a/triangle", "shapes_a/ring", "shapes_a/striped_circle", "shapes_b/bar", "shapes_b/checker_box",
      "shapes_b/blob", "shapes_b/cross"};
  BOOST_TEST(space.class_names() == want_names, boost::test_tools::per_element());
  // b's classes: background -> 0, bar -> 6, disk -> 1, checker_box -> 7, blob -> 8, cross -> 9.
  const std::vector<int> want_b = {0, 6, 1, 7, 8, 9};
  for (int c = 0; c < 6; ++c) {
    BOOST_TEST(space.global_id(0, c) == c);
    BOOST_TEST(space.global_id(1, c) == want_b[size_t(c)]);
  }
  BOOST_TEST(space.offset(0) == 0);
  BOOST_TEST(space.num_classes_of(0) == 6);
  BOOST_TEST(space.offset(1) == 6);
  BOOST_TEST(space.num_classes_of(1) == 4);
  BOOST_TEST((space.local_id(1) == std::pair<int, int>{0, 1}));
  BOOST_TEST((space.local_id(7) == std::pair<int, int>{1, 3}));
  BOOST_TEST(space.dataset_of_class(0) == 0);
  BOOST_TEST(space.dataset_of_class(1) == 0);
  BOOST_TEST(space.dataset_of_class(6) == 1);
  BOOST_TEST(space.dataset_of_class(9) == 1);
  BOOST_TEST((space.members_of(1) == std::vector<std::pair<int, int>>{{0, 1}, {1, 2}}));
  BOOST_TEST(space.members_of(2).size() == 1u);
  BOOST_TEST(space.palette().size() == 10u);
  BOOST_TEST((space.palette()[1] == a->palette()[1]));
  BOOST_TEST((space.palette()[6] == b->palette()[1]));
  BOOST_TEST(space.ignore_index() == 255);

  // Labels of every real sample: a's unchanged, b's through the table; disk pixels become 1.
  int64_t disk_pixels = 0;
  for (int64_t i = 0; i < space.size(); ++i) {
    auto [d, local] = space.locate(i);
    Sample s = space.get(i);
    Sample raw = (d == 0 ? a : b)->get(local);
    BOOST_TEST(s.dataset_id == d);
    BOOST_TEST_REQUIRE(s.label.size() == raw.label.size());
    bool mapped = true;
    for (size_t p = 0; p < s.label.size(); ++p) {
      const int32_t v = raw.label[p];
      const int32_t want = v == 255 ? 255 : d == 0 ? v : want_b[size_t(v)];
      mapped = mapped && s.label[p] == want;
      disk_pixels += d == 1 && v == 2;
    }
    BOOST_TEST(mapped, "sample " << i);
  }
  BOOST_TEST(disk_pixels > 0);
}

BOOST_AUTO_TEST_CASE(merge_real_datasets) {
  auto voc = open_voc({sample("VOCdevkit/VOC2012"), "trainval"});
  auto ade = open_ade20k({sample("ADEChallengeData2016"), "training"});
  auto coco = open_coco_stuff({sample("coco_stuff164k"), "train2017"});
  // Two classes of one dataset may merge too: sky-other (145) with clouds (94), which owns the group.
  LabelMerges merges = {{{"voc/person", "ade20k/person", "coco-stuff/person"}, "group person"},
                        {{"coco-stuff/sky-other", "coco-stuff/clouds"}, "group sky"}};
  LabelSpace space({{voc, 1.0, ""}, {ade, 1.0, ""}, {coco, 1.0, ""}}, merges);
  BOOST_TEST(space.num_classes() == 342 - 3);
  BOOST_TEST(space.ignore_index() == -1);
  BOOST_TEST(space.class_names()[15] == "voc/person|ade20k/person|coco-stuff/person");
  BOOST_TEST(space.offset(1) == 21);
  BOOST_TEST(space.offset(2) == 21 + 149);
  BOOST_TEST(space.num_classes_of(2) == 171 - 2);
  BOOST_TEST(space.global_id(1, 12) == 15);  // ade20k person
  BOOST_TEST(space.global_id(1, 13) == 21 + 12);
  BOOST_TEST(space.global_id(2, 0) == 15);   // coco-stuff person
  // coco-stuff class c > 0 -> 169 + c up to the clouds, 169 + c - 1 after sky-other; sky-other -> clouds.
  BOOST_TEST(space.global_id(2, 94) == 169 + 94);
  BOOST_TEST(space.class_names()[169 + 94] == "coco-stuff/clouds|coco-stuff/sky-other");
  BOOST_TEST(space.global_id(2, 145) == 169 + 94);
  BOOST_TEST(space.global_id(2, 157) == 169 + 157 - 1);
  BOOST_TEST(space.local_id(169 + 94).second == 94);
  BOOST_TEST(space.members_of(15).size() == 3u);

  // VOC: person stays 15.
  BOOST_TEST((distinct(space.get(0).label) == std::set<int32_t>{-1, 0, 5, 15}));
  // ADE20K: person (12) -> 15, c < 12 -> c + 21, c > 12 -> c + 20.
  Sample a = space.get(3);
  std::set<int32_t> want_ade;
  for (int32_t c : {0, 3, 4, 5, 12, 17, 31, 32, 42, 43, 87, 96, 104, 125, 138, 149})
    want_ade.insert(c == 12 ? 15 : c < 12 ? c + 21 : c + 20);
  want_ade.insert(-1);
  BOOST_TEST((distinct(a.label) == want_ade));
  // COCO-Stuff: 94 clouds and 145 sky-other -> 263 both; 157 tree -> 325.
  BOOST_TEST((distinct(space.get(4).label) == std::set<int32_t>{-1, 263, 325}));
}

BOOST_AUTO_TEST_CASE(ignore_rule_applies_to_the_merged_count) {
  auto voc = open_voc({sample("VOCdevkit/VOC2012"), "trainval"});
  auto ade = open_ade20k({sample("ADEChallengeData2016"), "training"});
  auto coco = open_coco_stuff({sample("coco_stuff164k"), "train2017"});
  auto merges_of = [&](int n) {  // ade20k class c with coco-stuff class c, c < n
    LabelMerges m;
    for (int c = 0; c < n; ++c)
      m.push_back({{"ade20k/" + ade->class_names()[size_t(c)], "coco-stuff/" + coco->class_names()[size_t(c)]}});
    return m;
  };
  LabelSpace over({{voc, 1.0, ""}, {ade, 1.0, ""}, {coco, 1.0, ""}}, merges_of(86));
  BOOST_TEST(over.num_classes() == 256);
  BOOST_TEST(over.ignore_index() == -1);
  LabelSpace fits({{voc, 1.0, ""}, {ade, 1.0, ""}, {coco, 1.0, ""}}, merges_of(87));
  BOOST_TEST(fits.num_classes() == 255);
  BOOST_TEST(fits.ignore_index() == 255);
  // COCO-Stuff's 255 stays the ignore 255; 94, 145, 157 -> 171 + c - 87.
  Sample c = fits.get(4);
  BOOST_TEST(c.ignore_index == 255);
  BOOST_TEST((distinct(c.label) == std::set<int32_t>{255, 178, 229, 241}));
  BOOST_TEST(fits.class_names()[254] == "coco-stuff/wood");
}

BOOST_AUTO_TEST_CASE(mapping_errors_name_file_and_line) {
  TempDir tmp("ls_mapping_err");
  auto [a, b] = shapes_ab(tmp.path.string());
  const std::vector<LabelSpaceMember> members = {{a, 1.0, ""}, {b, 1.0, ""}, {pseudo_images(), 1.0, "web"}};
  auto space_from = [&](const std::string& text) {
    write_text(tmp.file("map.txt"), text);
    return LabelSpace(members, read_label_mapping(tmp.file("map.txt")));
  };
  const std::string file = tmp.file("map.txt");

  BOOST_CHECK_EXCEPTION(read_label_mapping(tmp.file("missing.txt")), mdp::Error,
                        mentions({"label mapping: cannot open", "missing.txt"}));
  BOOST_CHECK_EXCEPTION(space_from("# ok\nshapes_a/circle = shapes_b/disk\nshapes_a/ring shapes_b/blob\n"), mdp::Error,
                        mentions({file + " line 3", "'shapes_a/ring shapes_b/blob' has no '='"}));
  BOOST_CHECK_EXCEPTION(space_from("shapes_a/circle =\n"), mdp::Error,
                        mentions({file + " line 1", "at least two classes, has 1"}));
  BOOST_CHECK_EXCEPTION(space_from("\nshapes_a/circle = shapes_b/disc\n"), mdp::Error,
                        mentions({file + " line 2", "unknown class 'shapes_b/disc'",
                                  "shapes_b has 6 classes: shapes_b/disk, shapes_b/background"}));
  BOOST_CHECK_EXCEPTION(space_from("shapes_c/circle = shapes_b/disk\n"), mdp::Error,
                        mentions({file + " line 1", "unknown class 'shapes_c/circle'", "shapes_a, shapes_b",
                                  "shapes_a/background"}));
  BOOST_CHECK_EXCEPTION(space_from("web/class_0 = shapes_a/background\n"), mdp::Error,
                        mentions({"unknown class 'web/class_0'", "'web' is unlabeled"}));
  BOOST_CHECK_EXCEPTION(
      space_from("shapes_a/circle = shapes_b/disk\nshapes_a/ring = shapes_b/blob\nshapes_b/cross = shapes_a/circle\n"),
      mdp::Error, mentions({file + " line 3", "class 'shapes_a/circle' is in two merge groups (also in label mapping " + file + " line 1)"}));
  BOOST_CHECK_EXCEPTION(space_from("shapes_a/ring = shapes_b/blob = shapes_a/ring\n"), mdp::Error,
                        mentions({file + " line 1", "'shapes_a/ring' is listed twice"}));
  // Groups built in code: a one-member group, named by its index.
  BOOST_CHECK_EXCEPTION(LabelSpace(members, LabelMerges{{{"shapes_a/circle", "shapes_b/disk"}}, {{"shapes_a/ring"}}}),
                        mdp::Error, mentions({"merge group 1", "at least two classes, has 1 ('shapes_a/ring')"}));
}

BOOST_AUTO_TEST_SUITE_END()
