// json_message.cpp: see json_message.h.
#include "tensor/json_message.h"

namespace mdp {

std::string json_parse_problem(const std::string& what) {
  std::string w = what;  // "[json.exception.out_of_range.406] number overflow parsing '1e999'": no tag
  if (w.rfind("[json.exception.", 0) == 0 && w.find("] ") != std::string::npos) w = w.substr(w.find("] ") + 2);
  size_t start = w.find(": ");
  std::string m = start == std::string::npos ? w : w.substr(start + 2);
  size_t read = m.find("; last read: '");
  if (read != std::string::npos) {
    size_t expected = m.rfind("; expected ");
    m.erase(read, expected != std::string::npos && expected > read ? expected - read : std::string::npos);
  }
  return m;
}

}  // namespace mdp
