// progress.h: the training progress display: one line redrawn in place on a terminal (iteration,
// loss, learning rate, images/s, ETA), or plain lines every `plain_every` iterations when stdout is
// not a terminal (logs, CI).
#pragma once
#include <chrono>
#include <string>

namespace mdp::apps {

class Progress {
 public:
  Progress(int64_t total, int64_t start, int64_t plain_every);
  // Called after iteration `iter` (1-based) with the images it processed.
  void update(int64_t iter, double loss, double lr, int64_t images, const std::string& extra = "");
  void message(const std::string& line);  // a full line (clears the bar first on a terminal)
  void finish();
  double images_per_second() const { return ema_rate_; }  // smoothed over the updates so far (0 before the first)
  ~Progress() { finish(); }  // an error mid-run starts on a line of its own
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

 private:
  int64_t total_, start_, every_;
  bool tty_;
  double ema_rate_ = 0;
  int64_t images_ = 0;
  std::chrono::steady_clock::time_point t0_, last_;
  bool drawn_ = false;
};

std::string format_duration(double seconds);  // "1h02m", "3m05s", "12s"

}  // namespace mdp::apps
