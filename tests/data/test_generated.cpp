// test_generated.cpp: the generated multi-domain dataset: same seed -> byte-identical files, another seed
// or domain -> different ones, the files read back through the folder reader with the domain's
// taxonomy, every class shows up, and the domains differ in colour statistics as documented.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <map>

#include "data/folder.h"
#include "data/generated.h"
#include "data_helpers.h"

using namespace mdp::data;
using namespace mdp::data::test;

namespace {

// Every file under dir (relative path -> bytes).
std::map<std::string, std::vector<uint8_t>> tree(const fs::path& dir) {
  std::map<std::string, std::vector<uint8_t>> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = slurp(e.path().string());
  return out;
}

GeneratedSpec small_spec(uint64_t seed) { return demo_domains(seed, 40, 32, 6, 3); }

// Mean saturation (max - min over max) of an RGB image.
double mean_saturation(const Image& img) {
  double sum = 0;
  for (size_t i = 0; i < img.pixels.size(); i += 3) {
    int mx = std::max({img.pixels[i], img.pixels[i + 1], img.pixels[i + 2]});
    int mn = std::min({img.pixels[i], img.pixels[i + 1], img.pixels[i + 2]});
    sum += mx ? double(mx - mn) / mx : 0;
  }
  return sum / double(img.pixels.size() / 3);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(generated)

BOOST_AUTO_TEST_CASE(same_seed_same_files) {
  TempDir a("gen_a"), b("gen_b"), c("gen_c");
  write_generated(small_spec(7), a.path.string());
  write_generated(small_spec(7), b.path.string());
  write_generated(small_spec(8), c.path.string());
  auto ta = tree(a.path), tb = tree(b.path), tc = tree(c.path);
  // 3 domains x (9 images + 9 labels + 2 splits + classes, palette, concepts, layout, spec)
  BOOST_TEST(ta.size() == 3u * 25u);
  BOOST_TEST((ta == tb), "same spec, different files");
  BOOST_TEST(ta.size() == tc.size());
  int differing = 0;
  for (const auto& [path, bytes] : ta) differing += tc.at(path) != bytes;
  BOOST_TEST(differing >= 3 * 18);  // every image and label changes with the seed
  BOOST_TEST(ta.count("shapes_a/images/train_00000.png") == 1u);
  BOOST_TEST(ta.count("shapes_b/images/val_00002.jpg") == 1u);
  BOOST_TEST(ta.count("shapes_c/labels/train_00005.png") == 1u);
  std::string concepts(ta.at("shapes_c/concepts.txt").begin(), ta.at("shapes_c/concepts.txt").end());
  BOOST_TEST(concepts.find("shape: circle square striped_circle") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(reads_back_through_the_folder_reader) {
  TempDir tmp("gen_read");
  GeneratedSpec spec = small_spec(3);
  write_generated(spec, tmp.path.string());
  for (const DomainSpec& d : spec.domains) {
    BOOST_TEST_CONTEXT(d.name) {
      auto train = open_folder(generated_domain_options(tmp.path.string(), d.name, "train"));
      auto val = open_folder(generated_domain_options(tmp.path.string(), d.name, "val"));
      BOOST_TEST(train->name() == d.name);
      BOOST_TEST(train->size() == 6);
      BOOST_TEST(val->size() == 3);
      BOOST_TEST((train->class_names() == d.class_names));
      for (int64_t i = 0; i < train->size(); ++i) {
        Sample s = train->get(i);
        BOOST_TEST(s.width == 40);
        BOOST_TEST(s.height == 32);
        // The labels written are the labels rendered (PNG is lossless; JPEG images are not compared).
        RenderedScene r = render_scene(spec, d, "train", int(i));
        std::vector<int32_t> want(r.label.begin(), r.label.end());
        BOOST_TEST_REQUIRE((s.label == want));
        if (!d.jpeg) BOOST_TEST_REQUIRE((s.image.pixels == r.image.pixels));
      }
    }
  }
  // Taxonomies as documented: the same circle concept is "circle" (class 1) in shapes_a, "disk" (class
  // 2) in shapes_b, and part of the coarse "shape" (class 1) in shapes_c.
  BOOST_TEST(spec.domains[0].class_names[1] == "circle");
  BOOST_TEST(spec.domains[1].class_names[2] == "disk");
  BOOST_TEST(spec.domains[2].class_names[1] == "shape");
}

BOOST_AUTO_TEST_CASE(every_class_appears_and_domains_differ) {
  GeneratedSpec spec = demo_domains(0, 48, 48, 0, 0);
  double saturation[3] = {0, 0, 0};
  for (size_t k = 0; k < spec.domains.size(); ++k) {
    const DomainSpec& d = spec.domains[k];
    BOOST_TEST_CONTEXT(d.name) {
      std::vector<int64_t> pixels(d.class_names.size() + 1, 0);
      const int n = 40;
      for (int i = 0; i < n; ++i) {
        RenderedScene r = render_scene(spec, d, "train", i);
        for (uint8_t v : r.label) ++pixels[v == 255 ? d.class_names.size() : v];
        saturation[k] += mean_saturation(r.image) / n;
      }
      const double total = 48.0 * 48.0 * n;
      for (size_t c = 0; c < d.class_names.size(); ++c) {
        double share = double(pixels[c]) / total;
        BOOST_TEST_MESSAGE(d.name << " " << d.class_names[c] << ": " << share);
        BOOST_TEST(share > 0.01, d.class_names[c] << " covers " << share);
        BOOST_TEST(share < (c == 0 ? 0.9 : 0.4), d.class_names[c] << " covers " << share);
      }
      BOOST_TEST((pixels.back() > 0) == d.ignore_border);
    }
  }
  // shapes_a saturated, shapes_b pastel, shapes_c nearly grey.
  BOOST_TEST_MESSAGE("mean saturation a " << saturation[0] << ", b " << saturation[1] << ", c " << saturation[2]);
  BOOST_TEST(saturation[0] > saturation[1] + 0.15);
  BOOST_TEST(saturation[1] > saturation[2] + 0.05);
  // A scene depends on its index and domain.
  RenderedScene x = render_scene(spec, spec.domains[0], "train", 0), y = render_scene(spec, spec.domains[0], "train", 1);
  RenderedScene z = render_scene(spec, spec.domains[0], "val", 0);
  BOOST_TEST((x.image.pixels != y.image.pixels));
  BOOST_TEST((x.image.pixels != z.image.pixels));
}

BOOST_AUTO_TEST_CASE(ensure_generated_writes_only_when_needed) {
  TempDir tmp("gen_ensure");
  const std::string root = tmp.path.string();
  BOOST_TEST(ensure_generated(small_spec(1), root));   // nothing there
  BOOST_TEST(!ensure_generated(small_spec(1), root));  // same spec: left alone
  BOOST_TEST(ensure_generated(small_spec(2), root));   // another seed
  GeneratedSpec renamed = small_spec(2);
  renamed.domains[0].class_names[1] = "disc";
  BOOST_TEST(ensure_generated(renamed, root));         // another taxonomy
  fs::remove(tmp.path / "shapes_b" / "spec.txt");      // an interrupted write
  BOOST_TEST(ensure_generated(renamed, root));
  BOOST_TEST(!ensure_generated(renamed, root));
}

BOOST_AUTO_TEST_CASE(bad_specs_are_errors) {
  TempDir tmp("gen_bad");
  GeneratedSpec s = small_spec(0);
  s.domains[1].class_concepts[3] = {Concept::Bar};  // bar twice in shapes_b
  BOOST_CHECK_EXCEPTION(write_generated(s, tmp.path.string()), mdp::Error, mentions({"shapes_b", "concept bar", "two classes"}));
  s = small_spec(0);
  s.domains[2].class_concepts[0] = {Concept::Star};
  BOOST_CHECK_EXCEPTION(write_generated(s, tmp.path.string()), mdp::Error, mentions({"shapes_c", "class 0 must be the background"}));
  s = small_spec(0);
  s.domains[1].name = "shapes_a";
  BOOST_CHECK_EXCEPTION(write_generated(s, tmp.path.string()), mdp::Error, mentions({"two domains are named shapes_a"}));
  s = small_spec(0);
  s.domains.clear();
  BOOST_CHECK_EXCEPTION(write_generated(s, tmp.path.string()), mdp::Error, mentions({"no domain"}));
}

BOOST_AUTO_TEST_SUITE_END()
