// summary.h: a layer table of a model — each module's output shape, own parameter count and FLOPs
// (multiply-adds count as 2) — recorded by running one forward pass on a zero input of a given shape
// under no_grad, and the memory of parameters, gradients and optimizer state. Printing only; the model
// is not changed (its train/eval mode is kept; batch-norm statistics are restored).
#pragma once
#include <string>
#include <vector>

#include "../tensor/tensor.h"

namespace mdp::nn {

class Module;

struct LayerRow {
  std::string name, type;
  Shape output;
  int64_t params = 0;  // own parameters, not the children's
  int64_t flops = 0;
  int depth = 0;
};

struct ModelSummary {
  std::vector<LayerRow> rows;
  int64_t total_params = 0, trainable_params = 0, total_flops = 0;
  int64_t param_bytes = 0, grad_bytes = 0;
  std::string table(int64_t optimizer_state_bytes = -1) const;  // the printable table
};

ModelSummary summarize(Module& model, const Shape& input_shape);

// Records module outputs while alive (one per thread); used by Module::operator().
class SummaryScope {
 public:
  explicit SummaryScope(Module& root);
  ~SummaryScope();
  struct Frame {
    Frame(Module* m);
    void done(const Tensor& y);
    Module* module;
    int depth;
    size_t row = 0;
    bool active;
  };
  std::vector<LayerRow>& rows() { return rows_; }

 private:
  friend struct Frame;
  std::vector<std::pair<Module*, std::string>> names_;
  std::vector<LayerRow> rows_;
  int depth_ = 0;
  SummaryScope* previous_;
};

}  // namespace mdp::nn
