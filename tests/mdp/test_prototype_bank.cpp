// Suite prototype_bank: the two-step average (per-image class means into per-class FIFO queues,
// prototype = normalised queue mean), the EMA mode, unfilled classes, the centred option, and the
// checkpoint state.
#include <boost/test/unit_test.hpp>
#include <cmath>

#include "mdp/prototype_bank.h"
#include "tests/common.h"

using namespace mdp;
using namespace mdp::test;

BOOST_AUTO_TEST_SUITE(prototype_bank)

BOOST_AUTO_TEST_CASE(two_step_average_by_hand) {
  PrototypeBank bank({4, 2, "queue", 2, 0.99});
  // one image 1x2x2 (D = 2): pixels of class 1: keys (1,0) and (0,1); class 3: key (1,0); ignore: 255
  Tensor keys = ops::from_vector({1, 0, 1, 0, 0, 1, 0, 1}, {1, 2, 2, 2});  // (B, D, h, w): channel 0 then 1
  Tensor labels = ops::from_vector({1, 1, 3, 255}, {1, 2, 2}, DType::Int64);
  bank.update(keys, labels);
  BOOST_TEST(bank.num_filled() == 2);
  BOOST_TEST(ops::to_vector(bank.filled()) == (std::vector<double>{0, 1, 0, 1}));
  double r = 1 / std::sqrt(2.0);
  close(ops::select(bank.prototypes(), 0, 1), ops::from_vector({r, r}, {2}), 1e-6, 1e-6, "class 1 = normalize(mean)");
  close(ops::select(bank.prototypes(), 0, 3), ops::from_vector({1, 0}, {2}), 1e-6, 1e-6, "class 3");
  bank.push(3, {0, 1});  // queue of 3: (1,0), (0,1) -> prototype (r, r)
  close(ops::select(bank.prototypes(), 0, 3), ops::from_vector({1, 0}, {2}), 1e-6, 1e-6, "device copy refreshed by update only");
  bank.push(3, {0, 1});  // the queue is full (N = 2): (1,0) is overwritten -> (0,1), (0,1)
  BOOST_TEST(bank.queue_size(3) == 2);
  bank.update(keys, ops::full({1, 2, 2}, 255, DType::Int64));  // nothing new; refreshes the device copy
  // class 3 queue now holds (0,1),(0,1): prototype (0, 1)
  close(ops::select(bank.prototypes(), 0, 3), ops::from_vector({0, 1}, {2}), 1e-6, 1e-6, "FIFO overwrite");
}

BOOST_AUTO_TEST_CASE(ema_mode_and_state) {
  PrototypeBank bank({3, 2, "ema", 16, 0.5});
  bank.push(0, {1, 0});
  bank.push(0, {0, 1});  // normalize(0.5 (1,0) + 0.5 (0,1))
  bank.update(ops::zeros({1, 2, 1, 1}), ops::full({1, 1, 1}, 255, DType::Int64));
  double r = 1 / std::sqrt(2.0);
  close(ops::select(bank.prototypes(), 0, 0), ops::from_vector({r, r}, {2}), 1e-6, 1e-6, "ema");
  PrototypeBank q({3, 2, "queue", 4, 0.9});
  q.push(2, {1, 0});
  q.push(2, {0, 1});
  PrototypeBank q2({3, 2, "queue", 4, 0.9});
  q2.load_state(q.state());
  BOOST_TEST(q2.queue_size(2) == 2);
  BOOST_TEST(ops::to_vector(q2.prototypes()) == ops::to_vector(ops::from_vector(
      std::vector<double>{0, 0, 0, 0, r, r}, {3, 2})), boost::test_tools::tolerance(1e-6));
  PrototypeBank wrong({4, 2, "queue", 4, 0.9});
  BOOST_TEST(throws_with([&] { wrong.load_state(q.state()); }, {"does not match", "4 classes"}));
  BOOST_TEST(throws_with([] { PrototypeBank b({3, 2, "fifo", 4, 0.9}); }, {"unknown mode 'fifo'"}));
}

BOOST_AUTO_TEST_CASE(centred_prototypes_leave_the_class_means_alone) {
  PrototypeBankOptions o{4, 2, "queue", 4, 0.99};
  o.center = true;
  PrototypeBank bank(o);
  const double c = std::cos(0.3), s = std::sin(0.3);  // two class means 0.6 rad apart around (1, 0)
  bank.push(0, {float(c), float(s)});
  bank.update(ops::zeros({1, 2, 1, 1}), ops::full({1, 1, 1}, 255, DType::Int64));
  // one filled class: its mean is itself, so it centres to 0 (every logit 0), and class 2 stays unfilled
  BOOST_TEST(close(bank.prototypes(), ops::zeros({4, 2}), 0, 0, "one filled class centres to 0"));
  bank.push(2, {float(c), float(-s)});
  bank.update(ops::zeros({1, 2, 1, 1}), ops::full({1, 1, 1}, 255, DType::Int64));
  // mean (c, 0): centred (0, s) and (0, -s), normalised; the shared direction (1, 0) is gone
  BOOST_TEST(close(bank.prototypes(), ops::from_vector({0, 1, 0, 0, 0, -1, 0, 0}, {4, 2}), 1e-6, 1e-6, "centred"));
  BOOST_TEST(close(bank.class_means(), ops::from_vector({c, s, 0, 0, c, -s, 0, 0}, {4, 2}), 1e-6, 1e-6, "class means"));
  PrototypeBank restored(o);  // a checkpoint keeps the class means; the centred copy is derived again
  restored.load_state(bank.state());
  BOOST_TEST(close(restored.prototypes(), bank.prototypes(), 0, 0, "centred after load_state"));
}

BOOST_AUTO_TEST_SUITE_END()
