// error.h: the one exception type of the stack and the MDP_CHECK macro that builds its message.
// Messages name the op and the offending shapes or values: "conv2d: weight [64, 3, 7] must be 4-D".
#pragma once
#include <stdexcept>
#include <string>
#include <fmt/format.h>

namespace mdp {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace mdp

#define MDP_CHECK(cond, ...)                                   \
  do {                                                         \
    if (!(cond)) throw ::mdp::Error(::fmt::format(__VA_ARGS__)); \
  } while (0)
