// autocast.cpp: the thread-local autocast state of autocast.h (the casting itself is in functions.cpp).
#include "autograd/autocast.h"

#include "tensor/error.h"

namespace mdp {
namespace {
thread_local bool t_enabled = false;
thread_local DType t_dtype = DType::BFloat16;
}  // namespace

bool autocast_enabled() { return t_enabled; }
DType autocast_dtype() { return t_dtype; }

AutocastGuard::AutocastGuard(bool enabled, DType dtype) : prev_enabled_(t_enabled), prev_dtype_(t_dtype) {
  MDP_CHECK(dtype == DType::BFloat16, "AutocastGuard: only bfloat16 mixed precision is supported, got {}",
            dtype_name(dtype));
  t_enabled = enabled;
  t_dtype = dtype;
}

AutocastGuard::~AutocastGuard() {
  t_enabled = prev_enabled_;
  t_dtype = prev_dtype_;
}

}  // namespace mdp
