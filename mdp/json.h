// json.h: the project's JSON files (log.jsonl lines, eval.json, results.json) written and read through
// nlohmann-json (Debian's nlohmann-json3-dev, header only). Written in one layout that people and line
// tools can read: `{"iter": 10, "loss": 0.52}` (", " and ": " between items, one line); a NaN or an
// infinity is written as null, bytes of a string that are not UTF-8 as U+FFFD. Read with an error naming the file (and line) and what is wrong.
// Deliberately not here: the safetensors header, which tensor/safetensors.cpp parses with its own limits.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace mdp {

using Json = nlohmann::ordered_json;  // keys in insertion order, so files read in the order they were built

// j on one line, in the layout above.
std::string json_text(const Json& j);
// v rounded to `decimals` places (so 23.456712 is written as 23.4567), NaN and infinities as null.
Json json_number(double v, int decimals);

// The JSON value in `text`; `what` names it in errors ("results.json", "log.jsonl line 3").
Json parse_json(const std::string& text, const std::string& what);
Json read_json_file(const std::string& path);
// A number field of an object, or NaN when it is missing or null; an error naming `what` when it is
// something else.
double json_number_field(const Json& object, const std::string& key, const std::string& what);

}  // namespace mdp
