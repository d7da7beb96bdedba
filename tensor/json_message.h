// json_message.h: nlohmann-json's parse-error text made fit for our error messages. Its what() reads
// "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error while parsing value -
// invalid literal; last read: 'tru}'; expected ..."; this keeps "syntax error ... - invalid literal;
// expected ..." (the position is given separately, as a byte offset) and drops the raw bytes last read,
// which may be invalid UTF-8. Used by the safetensors reader and mdp/json.h.
#pragma once
#include <string>

namespace mdp {

std::string json_parse_problem(const std::string& nlohmann_what);

}  // namespace mdp
