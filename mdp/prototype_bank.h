// prototype_bank.h: one prototype per class of the concatenated label space (§2.4 of mdp-method.md).
//  Queue mode (default, the paper's "two-step average"): for each image and each class present, the
//    L2-normalised mean of that class's key embeddings is pushed into the class's FIFO queue of length N;
//    the prototype is the normalised mean of the queue.
//  EMA mode (the alternative): p_c <- normalize(mu p_c + (1 - mu) r) for each new class mean r
//    (the first r of a class is taken as it is).
//  Centred (an option, not the paper's): the loss sees normalize(p_c - m), m the mean of the filled
//    prototypes, which removes the direction every class shares; the class means themselves stay as they
//    are (class_means(): the collapse diagnostic measures them).
// Classes never seen are "unfilled" and take no part in the loss. Queues live in host memory and grow
// only as classes are seen (at most C x N x D floats); prototypes are a (C, D) tensor on the device.
#pragma once
#include <string>
#include <vector>

#include "../nn/module.h"

namespace mdp {

struct PrototypeBankOptions {
  int64_t num_classes = 0, dim = 256;
  std::string mode = "queue";  // queue | ema
  int64_t queue_length = 4096;
  double ema_momentum = 0.99;
  bool center = false;  // prototypes() = normalize(p_c - mean of the filled p), see above
};

class PrototypeBank {
 public:
  explicit PrototypeBank(const PrototypeBankOptions& o, Device device = Device::cpu());

  // keys: (B, D, h, w) normalised key embeddings (no gradient); labels: (B, h, w) int64 global ids at the
  // same resolution; ids outside [0, C) (ignore) are skipped. Updates queues and prototypes.
  void update(const Tensor& keys, const Tensor& labels);
  // Pushes one normalised class mean r (D) for class c (used by update(), public for tests).
  void push(int64_t c, const std::vector<float>& r);

  const Tensor& prototypes() const { return protos_; }  // (C, D), what the loss uses (centred if asked)
  Tensor class_means() const;                            // (C, D) normalised class means, never centred
  const Tensor& filled() const { return filled_; }      // (C) bool
  int64_t num_filled() const;
  int64_t queue_size(int64_t c) const { return int64_t(queues_[size_t(c)].size() / size_t(o_.dim)); }
  const PrototypeBankOptions& options() const { return o_; }

  // State for checkpoints: "bank.prototypes", "bank.filled", "bank.queue.<c>" (n_c, D), "bank.head" (C).
  nn::NamedTensors state() const;
  void load_state(const nn::NamedTensors& s);  // throws naming a mismatch of classes or dimension

 private:
  void refresh(int64_t c);  // prototype c from its queue (queue mode) -- host side
  void publish();           // protos_ and filled_ on the device from the host side (centred if asked)
  PrototypeBankOptions o_;
  Device device_;
  std::vector<std::vector<float>> queues_;  // per class, up to N * D floats, ring order from head_
  std::vector<int64_t> head_;               // next slot to overwrite once a queue is full
  std::vector<float> host_protos_;          // (C, D)
  std::vector<uint8_t> host_filled_;
  Tensor protos_, filled_;
};

}  // namespace mdp
