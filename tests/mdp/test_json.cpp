// Suite json: the project's JSON files through mdp/json.h: the one-line layout (and that nlohmann reads
// it back), rounding and null for NaN, escaping, errors that name the file and the problem, and
// SegMetrics::json (eval.json) read back.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "mdp/json.h"
#include "mdp/metrics.h"
#include "tensor/error.h"
#include "tensor/ops.h"
#include "tests/common.h"

using namespace mdp;
using mdp::test::throws_with;

BOOST_AUTO_TEST_SUITE(json)

BOOST_AUTO_TEST_CASE(layout_numbers_and_strings) {
  Json j = {{"iter", 10}, {"loss", 0.5}, {"mIoU", json_number(23.456749, 4)}, {"none", json_number(std::nan(""), 4)},
            {"inf", json_number(INFINITY, 2)}, {"name", "a \"b\"\n\u00e9"}, {"list", {1, 2}}, {"obj", {{"x", true}}}};
  const std::string t = json_text(j);
  BOOST_TEST(t == "{\"iter\": 10, \"loss\": 0.5, \"mIoU\": 23.4567, \"none\": null, \"inf\": null, \"name\": \"a \\\"b\\\"\\n\u00e9\", "
                  "\"list\": [1, 2], \"obj\": {\"x\": true}}",
             t);
  Json back = parse_json(t, "t");
  BOOST_TEST(back == j);
  BOOST_TEST(json_number_field(back, "mIoU", "t") == 23.4567);
  BOOST_TEST(std::isnan(json_number_field(back, "none", "t")));     // null
  BOOST_TEST(std::isnan(json_number_field(back, "missing", "t")));  // absent
  BOOST_TEST(throws_with([&] { json_number_field(back, "name", "log.jsonl line 3"); },
                         {"log.jsonl line 3", "\"name\" is string, not a number"}));
  BOOST_TEST(throws_with([&] { json_number_field(Json::array(), "x", "f"); }, {"f: expected a JSON object, found array"}));
}

// A string that is not UTF-8 (a path in an error message, say) is written with U+FFFD, not refused:
// a results file must not be lost to one bad byte.
BOOST_AUTO_TEST_CASE(invalid_utf8_is_replaced_not_refused) {
  Json j = {{"failed", {std::string("cannot open /data/\xff.png")}}, {std::string("k\xfe"), 1}};
  const std::string t = json_text(j);
  BOOST_TEST(t.find("\"k\xef\xbf\xbd\": 1") != std::string::npos, t);  // U+FFFD in UTF-8
  BOOST_TEST(parse_json(t, "t")["failed"][0].get<std::string>() == "cannot open /data/\xef\xbf\xbd.png");
}

BOOST_AUTO_TEST_CASE(errors_name_the_file_and_the_problem) {
  BOOST_TEST(throws_with([] { parse_json("{\"a\": 1,}", "log.jsonl line 2"); },
                         {"log.jsonl line 2: not valid JSON at byte 8", "syntax error while parsing object key"}));
  BOOST_TEST(throws_with([] { parse_json("{\"a\": \"\xff\"}", "x.json"); }, {"x.json", "ill-formed UTF-8 byte"}));
  // A number beyond a double is nlohmann's out_of_range, not a parse_error (found by the safetensors fuzzer).
  BOOST_TEST(throws_with([] { parse_json("{\"mIoU\": 1e999}", "eval.json"); },
                         {"eval.json: not valid JSON: number overflow parsing '1e999'"}));
  try {  // the raw bytes nlohmann last read are not repeated (they may be invalid UTF-8)
    parse_json("{\"a\": \"\xff\"}", "x.json");
  } catch (const Error& e) {
    BOOST_TEST(std::string(e.what()).find('\xff') == std::string::npos, e.what());
    BOOST_TEST(std::string(e.what()).find("last read") == std::string::npos, e.what());
  }
  const std::string missing = (std::filesystem::temp_directory_path() / "mdp_no_such_file.json").string();
  BOOST_TEST(throws_with([&] { read_json_file(missing); }, {"mdp_no_such_file.json", "cannot be opened"}));
}

BOOST_AUTO_TEST_CASE(eval_json_reads_back) {
  SegMetrics m(3, 255);
  Tensor pred = ops::from_vector({0, 1, 1, 2}, {1, 2, 2}, DType::Int64);
  Tensor label = ops::from_vector({0, 1, 2, 255}, {1, 2, 2}, DType::Int64);
  m.add(pred, label);
  Json j = parse_json(m.json({"bg", "cat \"x\""}), "eval.json");  // the third class has no name
  BOOST_TEST(j["classes"].size() == 3u);
  BOOST_TEST(j["classes"][1]["name"] == "cat \"x\"");
  BOOST_TEST(j["classes"][2]["name"] == "2");
  BOOST_TEST(j["classes"][0]["IoU"].get<double>() == 100.0);
  BOOST_TEST(j["classes"][1]["IoU"].get<double>() == 50.0);
  BOOST_TEST(j["classes"][2]["IoU"].get<double>() == 0.0);
  BOOST_TEST(json_number_field(j, "mIoU", "eval.json") == 50.0);
  BOOST_TEST(json_number_field(j, "aAcc", "eval.json") == 66.6667);
}

BOOST_AUTO_TEST_SUITE_END()
