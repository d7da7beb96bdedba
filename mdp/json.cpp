// json.cpp: see json.h.
#include "json.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "../tensor/error.h"
#include "../tensor/json_message.h"

namespace mdp {

std::string json_text(const Json& j) {
  if (j.is_object()) {
    std::string s = "{";
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it != j.begin()) s += ", ";
      s += Json(it.key()).dump(-1, ' ', false, Json::error_handler_t::replace) + ": " + json_text(it.value());
    }
    return s + "}";
  }
  if (j.is_array()) {
    std::string s = "[";
    for (size_t i = 0; i < j.size(); ++i) s += (i ? ", " : "") + json_text(j[i]);
    return s + "]";
  }
  // Strings as they are (invalid UTF-8, e.g. from a path in an error message, as U+FFFD), NaN as null.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Json json_number(double v, int decimals) {
  if (!std::isfinite(v)) return nullptr;
  const double scale = std::pow(10.0, decimals);
  return std::round(v * scale) / scale;
}

Json parse_json(const std::string& text, const std::string& what) {
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    throw Error(fmt::format("{}: not valid JSON at byte {}: {}", what, e.byte == 0 ? 0 : e.byte - 1, json_parse_problem(e.what())));
  } catch (const Json::exception& e) {  // out_of_range 406: a number beyond a double (1e999)
    throw Error(fmt::format("{}: not valid JSON: {}", what, json_parse_problem(e.what())));
  }
}

Json read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MDP_CHECK(in, "{}: cannot be opened", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_json(ss.str(), path);
}

double json_number_field(const Json& object, const std::string& key, const std::string& what) {
  MDP_CHECK(object.is_object(), "{}: expected a JSON object, found {}", what, object.type_name());
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nan("");
  MDP_CHECK(it->is_number(), "{}: \"{}\" is {}, not a number", what, key, it->type_name());
  return it->get<double>();
}

}  // namespace mdp
