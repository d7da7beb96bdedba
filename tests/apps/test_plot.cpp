// Suite plot: the SVG charts' axes (apps/plot.cpp). Ticks are round (1, 2 or 5 times a power of ten) and
// cover the data; a single evaluation gets one tick and is drawn as a point; labels carry only the
// decimals the step needs; the heatmap has a colour scale; a missing bar value is marked "n/a".
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "apps/plot.h"

using namespace mdp::apps;
namespace fs = std::filesystem;

namespace {
bool round_step(double step) {  // 1, 2 or 5 times a power of ten
  double mag = std::pow(10.0, std::floor(std::log10(step) + 1e-9)), m = step / mag;
  return std::fabs(m - 1) < 1e-6 || std::fabs(m - 2) < 1e-6 || std::fabs(m - 5) < 1e-6;
}
std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}
fs::path temp_dir() {
  fs::path d = fs::temp_directory_path() / ("mdp_test_plot_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(plot)

BOOST_AUTO_TEST_CASE(ticks_are_round_and_cover_the_data) {
  const std::pair<double, double> ranges[] = {{0, 23.1}, {7.69, 23.1}, {1000, 1001}, {0.013, 0.97}, {-3.2, 4.1},
                                              {200, 1200}, {0.5, 0.5001}, {12345, 98765}};
  for (auto [lo, hi] : ranges) {
    std::vector<double> t = nice_ticks(lo, hi, 4);
    BOOST_TEST_CONTEXT("range [" << lo << ", " << hi << "]") {
      BOOST_TEST_REQUIRE(t.size() >= 2u);
      BOOST_TEST(t.size() <= 10u);
      BOOST_TEST(t.front() <= lo);
      BOOST_TEST(t.back() >= hi);
      double step = t[1] - t[0];
      BOOST_TEST(round_step(step));
      for (double v : t) BOOST_TEST(std::fabs(v / step - std::round(v / step)) < 1e-6);  // multiples of the step
      for (size_t i = 1; i < t.size(); ++i) BOOST_TEST(std::fabs(t[i] - t[i - 1] - step) < step * 1e-6);
    }
  }
  // The example of issue 20: one evaluation at iteration 1000 is one tick, not "1000 1000 1000 1001".
  BOOST_TEST(nice_ticks(1000, 1000, 4) == std::vector<double>{1000});
  // Equal up to rounding: one tick, not a step below the values' resolution that never advances.
  BOOST_TEST(nice_ticks(0.1, 0.1 + 0.1 * 1e-15, 4) == std::vector<double>{0.1});
  BOOST_TEST(nice_ticks(0, 1e-12, 4).size() >= 3u);
  BOOST_CHECK_THROW(nice_ticks(1, 0, 4), std::exception);
  BOOST_CHECK_THROW(nice_ticks(0, NAN, 4), std::exception);
}

BOOST_AUTO_TEST_CASE(labels_have_the_decimals_the_step_needs) {
  std::vector<double> t = nice_ticks(0, 23.1, 4);
  for (double v : t) BOOST_TEST(tick_label(v, t).find('.') == std::string::npos);  // integer steps: no decimals
  BOOST_TEST(tick_label(1200, nice_ticks(200, 1200, 4)) == "1200");
  std::vector<double> q = {0, 0.25, 0.5};
  BOOST_TEST(tick_label(0.25, {0, 0.05, 0.1}) == "0.25");
  BOOST_TEST(tick_label(0.5, q) == "0.50");  // step 0.25 wants two decimals
  BOOST_TEST(tick_label(0.2, {0, 0.2, 0.4}) == "0.2");
}

BOOST_AUTO_TEST_CASE(a_single_point_is_drawn_as_a_point) {
  fs::path d = temp_dir();
  Panel p{"validation mIoU", "iteration", "mIoU", {Series{"scratch", {1000}, {23.4}}}};
  write_line_plot((d / "one.svg").string(), {p});
  std::string svg = slurp(d / "one.svg");
  BOOST_TEST(svg.find("<circle") != std::string::npos);
  BOOST_TEST(svg.find(">1000<") != std::string::npos);
  BOOST_TEST(svg.find(">1001<") == std::string::npos);
  fs::remove_all(d);
}

BOOST_AUTO_TEST_CASE(heatmap_has_a_colour_scale_and_bars_mark_missing_values) {
  fs::path d = temp_dir();
  write_heatmap((d / "map.svg").string(), "prototype cosine similarity, a long title that must still fit",
                {{1, 0.2}, {0.2, 1}}, {"a:background", "b:ground"}, {0, 1});
  std::string map = slurp(d / "map.svg");
  BOOST_TEST(map.find(">+1.0<") != std::string::npos);  // the scale's ends
  BOOST_TEST(map.find(">-1.0<") != std::string::npos);
  write_bar_chart((d / "bars.svg").string(), "mIoU", {"scratch", "mdp"}, {20.5, NAN}, {1.0, NAN}, {NAN, NAN}, "");
  std::string bars = slurp(d / "bars.svg");
  BOOST_TEST(bars.find("n/a") != std::string::npos);
  BOOST_TEST(bars.find("nan") == std::string::npos);
  // a long bar label (rotated 60 degrees) fits: the chart is tall enough for it
  const std::string label = "classification on the ImageNet analogue";
  write_bar_chart((d / "long.svg").string(), "mIoU", {"scratch", label}, {20.5, 22.0}, {1.0, 1.0}, {NAN, NAN}, "");
  std::string tall = slurp(d / "long.svg");
  size_t at = tall.find("height='");
  BOOST_TEST_REQUIRE(at != std::string::npos);
  BOOST_TEST(std::stod(tall.substr(at + 8)) >= 40 + 130 + 0.87 * 0.6 * 10 * double(label.size()), tall.substr(0, 200));
  fs::remove_all(d);
}

BOOST_AUTO_TEST_SUITE_END()
