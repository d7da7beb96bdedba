// random.h: the random number generator behind every random op, initialiser, augmentation and shuffle.
// xoshiro256** (Blackman & Vigna) seeded through splitmix64: fast, 2^256 period, and its state is four
// 64-bit words, so a training checkpoint can save and restore it exactly. Not cryptographic.
//   uniform(): the top 53 bits of next() divided by 2^53.
//   normal():  Box-Muller on two uniforms, caching the second value.
#pragma once
#include <array>
#include <vector>
#include <cstdint>

namespace mdp {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) { manual_seed(seed); }
  void manual_seed(uint64_t seed);

  uint64_t next();              // 64 random bits
  double uniform();             // [0, 1), 53-bit resolution
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  double normal();              // N(0, 1)
  int64_t randint(int64_t lo, int64_t hi);  // [lo, hi), unbiased
  bool bernoulli(double p) { return uniform() < p; }

  struct State {
    std::array<uint64_t, 4> s;
    bool has_cached_normal;
    double cached_normal;
  };
  State state() const { return {s_, has_cached_, cached_}; }
  void set_state(const State& st) { s_ = st.s; has_cached_ = st.has_cached_normal; cached_ = st.cached_normal; }

 private:
  std::array<uint64_t, 4> s_{};
  bool has_cached_ = false;
  double cached_ = 0;
};

// Partial Fisher-Yates: moves k elements of v drawn uniformly without replacement to its front, in
// draw order (k <= v.size()); one randint per draw, so the same generator state gives the same draws.
void partial_shuffle(std::vector<int64_t>& v, int64_t k, Generator& gen);

Generator& default_generator();
void manual_seed(uint64_t seed);  // seeds the default generator

}  // namespace mdp
