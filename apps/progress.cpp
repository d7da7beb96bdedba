// progress.cpp: the progress line.
#include "apps/progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace mdp::apps {

std::string format_duration(double s) {
  int64_t t = int64_t(s + 0.5);
  if (t >= 3600) return fmt::format("{}h{:02}m", t / 3600, (t % 3600) / 60);
  if (t >= 60) return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

Progress::Progress(int64_t total, int64_t start, int64_t every)
    : total_(total), start_(start), every_(std::max<int64_t>(every, 1)), tty_(isatty(fileno(stdout))) {
  t0_ = last_ = std::chrono::steady_clock::now();
}

void Progress::update(int64_t iter, double loss, double lr, int64_t images, const std::string& extra) {
  auto now = std::chrono::steady_clock::now();
  double dt = std::chrono::duration<double>(now - last_).count();
  last_ = now;
  images_ += images;
  double rate = dt > 0 ? double(images) / dt : 0;
  ema_rate_ = ema_rate_ == 0 ? rate : 0.9 * ema_rate_ + 0.1 * rate;
  double elapsed = std::chrono::duration<double>(now - t0_).count();
  double per_iter = elapsed / double(std::max<int64_t>(iter - start_, 1));
  std::string eta = format_duration(per_iter * double(total_ - iter));
  if (tty_) {
    int width = 24, done = int(double(width) * double(iter) / double(std::max<int64_t>(total_, 1)));
    std::string bar = std::string(size_t(done), '#') + std::string(size_t(width - done), '.');
    std::printf("\r[%s] %ld/%ld loss %.4f lr %.2e %.2f img/s ETA %s %s\033[K", bar.c_str(), long(iter), long(total_), loss,
                lr, ema_rate_, eta.c_str(), extra.c_str());
    std::fflush(stdout);
    drawn_ = true;
  } else if (iter % every_ == 0 || iter == total_) {
    std::printf("iter %ld/%ld  loss %.4f  lr %.3e  %.2f img/s  ETA %s %s\n", long(iter), long(total_), loss, lr, ema_rate_,
                eta.c_str(), extra.c_str());
    std::fflush(stdout);
  }
}

void Progress::message(const std::string& line) {
  if (tty_ && drawn_) std::printf("\r\033[K");
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

void Progress::finish() {
  if (tty_ && drawn_) {
    std::printf("\n");
    std::fflush(stdout);
  }
  drawn_ = false;
}

}  // namespace mdp::apps
