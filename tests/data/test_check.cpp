// test_check.cpp: `mdp data check` as a function: exit 0 and a class histogram on good datasets of each
// layout, 1 with every bad file named, 2 when the dataset cannot be opened; argument parsing.
#include <boost/test/unit_test.hpp>

#include <sstream>

#include "data/check.h"
#include "data/generated.h"
#include "data_helpers.h"

using namespace mdp::data;
using namespace mdp::data::test;

namespace {

int run(const std::vector<std::string>& args, std::string& output) {
  std::ostringstream out;
  int rc = data_check(parse_data_check_args(args), out);
  output = out.str();
  BOOST_TEST_MESSAGE(output);
  return rc;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(data_check)

BOOST_AUTO_TEST_CASE(good_datasets_exit_0_with_a_histogram) {
  std::string out;
  BOOST_TEST(run({"--dataset", "voc", "--root", sample("VOCdevkit/VOC2012"), "--split", "trainval"}, out) == 0);
  BOOST_TEST(out.find("3 images, 21 classes") != std::string::npos);
  BOOST_TEST(out.find("person") != std::string::npos);
  BOOST_TEST(out.find("(ignore)") != std::string::npos);
  BOOST_TEST(out.find("7 of 21 classes present") != std::string::npos);  // 0 5 6 7 9 15 18
  BOOST_TEST(out.find("3 good, 0 bad") != std::string::npos);

  BOOST_TEST(run({"--dataset", "ade20k", "--root", sample("ADEChallengeData2016"), "--split", "validation"}, out) == 0);
  BOOST_TEST(out.find("7 of 150 classes present") != std::string::npos);
  BOOST_TEST(run({"--dataset", "cityscapes", "--root", sample("cityscapes"), "--split", "val", "--labels", "labelids"}, out) == 0);
  BOOST_TEST(out.find("10 of 19 classes present") != std::string::npos);
  BOOST_TEST(run({"--dataset", "coco-stuff", "--root", sample("coco_stuff164k")}, out) == 0);
  BOOST_TEST(out.find("sky-other") != std::string::npos);
  BOOST_TEST(run({"--dataset", "folder", "--root", sample("pseudo_dataset"), "--image-dir", "imgs", "--label-dir", "gts",
                  "--image-suffix", "_img.jpg", "--label-suffix", "_gt.png", "--num-classes", "4", "--split-file",
                  "splits/val.txt"},
                 out) == 0);
  BOOST_TEST(out.find("1 images, 4 classes") != std::string::npos);

  // A generated domain needs nothing but its root (layout.txt).
  TempDir tmp("check_gen");
  write_generated(demo_domains(1, 32, 32, 3, 2), tmp.path.string());
  BOOST_TEST(run({"--dataset", "folder", "--root", tmp.file("shapes_b"), "--split", "val"}, out) == 0);
  BOOST_TEST(out.find("dataset shapes_b") != std::string::npos);
  BOOST_TEST(out.find("checker_box") != std::string::npos);
  BOOST_TEST(out.find("2 good, 0 bad") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_pairs_exit_1_and_are_named) {
  TempDir tmp("check_bad");
  write_generated(demo_domains(2, 32, 32, 4, 0), tmp.path.string());
  std::string root = tmp.file("shapes_a");
  std::string cut = root + "/images/train_00001.png", gone = root + "/labels/train_00002.png";
  std::vector<uint8_t> bytes = slurp(cut);
  spit(cut, std::vector<uint8_t>(bytes.begin(), bytes.begin() + std::ptrdiff_t(bytes.size() / 2)));
  fs::remove(gone);
  std::string out;
  BOOST_TEST(run({"--dataset", "folder", "--root", root}, out) == 1);
  BOOST_TEST(out.find("4 images") != std::string::npos);
  BOOST_TEST(out.find("2 good, 2 bad") != std::string::npos);
  BOOST_TEST(out.find("BAD: ") != std::string::npos);
  BOOST_TEST(out.find(cut) != std::string::npos);
  BOOST_TEST(out.find("truncated") != std::string::npos);
  BOOST_TEST(out.find(gone) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(unopenable_datasets_exit_2_and_bad_arguments_throw) {
  std::string out;
  BOOST_TEST(run({"--dataset", "voc", "--root", "/nonexistent/VOC2012"}, out) == 2);
  BOOST_TEST(out.find("/nonexistent/VOC2012") != std::string::npos);
  BOOST_TEST(run({"--dataset", "imagenet", "--root", "."}, out) == 2);
  BOOST_TEST(out.find("unknown dataset 'imagenet'") != std::string::npos);
  BOOST_TEST(run({"--dataset", "voc", "--root", sample("VOCdevkit"), "--split", "nosuch"}, out) == 2);
  BOOST_TEST(out.find("nosuch.txt") != std::string::npos);

  BOOST_CHECK_EXCEPTION(parse_data_check_args({"--dataset", "voc"}), mdp::Error, mentions({"--root is required"}));
  BOOST_CHECK_EXCEPTION(parse_data_check_args({"--root", "x"}), mdp::Error, mentions({"--dataset is required"}));
  BOOST_CHECK_EXCEPTION(parse_data_check_args({"--dataset", "voc", "--root", "x", "--frobnicate"}), mdp::Error,
                        mentions({"unknown argument '--frobnicate'"}));
  BOOST_CHECK_EXCEPTION(parse_data_check_args({"--dataset", "voc", "--root"}), mdp::Error, mentions({"--root needs a value"}));
  BOOST_TEST(data_check_usage().find("--dataset") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
