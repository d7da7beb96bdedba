// test_label_space.cpp: datasets concatenated into one label space: offsets, labels shifted on read,
// prefixed class names, dataset ids, sampling weights, and the ignore value switching from 255 to -1
// when the space has more than 255 classes (VOC 21 + ADE20K 150 + COCO-Stuff 171 = 342).
#include <boost/test/unit_test.hpp>

#include "data/ade20k.h"
#include "data/cityscapes.h"
#include "data/coco_stuff.h"
#include "data/label_space.h"
#include "data/voc.h"
#include "data_helpers.h"

using namespace mdp::data;
using namespace mdp::data::test;

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

BOOST_AUTO_TEST_SUITE_END()
