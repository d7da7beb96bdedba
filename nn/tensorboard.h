// tensorboard.h: TensorBoard event files of scalars, written without TensorFlow or protobuf, so that
// `tensorboard --logdir WORK_DIR` shows a run's loss, learning rate and mIoU (train.tensorboard: true).
//
// The file, events.out.tfevents.<seconds>.<host>.<pid> in the run's folder, is TFRecord framing around
// tensorflow.Event protobuf messages:
//   record:  uint64 length | uint32 masked_crc32c(length) | data[length] | uint32 masked_crc32c(data)
//            (little-endian; masked_crc(c) = ((c >> 15) | (c << 17)) + 0xa282ead8, CRC-32C Castagnoli)
//   Event:   1 wall_time (double) | 2 step (int64) | 3 file_version ("brain.Event:2", the first event)
//            | 5 summary: Summary { 1 value: Value { 1 tag (string) | 2 simple_value (float) } }
//            | 7 session_log: SessionLog { 1 status (START = 1) }   (tensorflow/core/util/event.proto)
// A resumed run writes a new file that starts with a SessionLog START at its first step: TensorBoard
// then drops the steps from there on that the interrupted run had logged (they run again), as it does
// for TensorFlow's own restarts. Each event is flushed at once (a run killed keeps what it logged).
// Deliberately not here: images, histograms, text; reading the files (tools/read_tfevents.py does, for
// the tests).
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

namespace mdp::nn {

uint32_t crc32c(const void* data, size_t size);     // CRC-32C (Castagnoli), as TFRecord uses
uint32_t masked_crc32c(const void* data, size_t size);

class TensorBoardWriter {
 public:
  // Creates the event file in `dir` (which must exist); throws naming the file when it cannot.
  explicit TensorBoardWriter(const std::string& dir);
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  void add_scalar(const std::string& tag, double value, int64_t step);
  // A restart at `step`: TensorBoard discards what earlier files logged at step and after.
  void restart_at(int64_t step);
  const std::string& path() const { return path_; }

 private:
  void write_event(const std::string& event_fields, int64_t step);
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace mdp::nn
