// label_space.cpp: offsets, the label shift on read, the ignore rule and per-sample sampling weights.
#include "data/label_space.h"

#include <algorithm>
#include <set>

#include "tensor/error.h"

namespace mdp::data {

int32_t ignore_index_for(int num_classes) { return num_classes <= 255 ? kIgnore : -1; }

LabelSpace::LabelSpace(std::vector<LabelSpaceMember> members) : members_(std::move(members)) {
  MDP_CHECK(!members_.empty(), "LabelSpace: needs at least one dataset");
  std::set<std::string> prefixes;
  starts_.push_back(0);
  offsets_.push_back(0);
  for (size_t d = 0; d < members_.size(); ++d) {
    auto& m = members_[d];
    MDP_CHECK(m.dataset != nullptr, "LabelSpace: dataset {} is null", d);
    if (m.prefix.empty()) m.prefix = m.dataset->name();
    MDP_CHECK(m.dataset->has_labels(), "LabelSpace: dataset {} ({}) has no labels", d, m.prefix);
    MDP_CHECK(m.weight > 0, "LabelSpace: dataset {} ({}) has weight {}, must be > 0", d, m.prefix, m.weight);
    MDP_CHECK(prefixes.insert(m.prefix).second, "LabelSpace: two datasets are named '{}'; give distinct prefixes",
              m.prefix);
    starts_.push_back(starts_.back() + m.dataset->size());
    offsets_.push_back(offsets_.back() + m.dataset->num_classes());
    const Palette& pal = m.dataset->palette();
    for (int c = 0; c < m.dataset->num_classes(); ++c) {
      names_.push_back(m.prefix + "/" + m.dataset->class_names()[size_t(c)]);
      palette_.push_back(size_t(c) < pal.size() ? pal[size_t(c)] : std::array<uint8_t, 3>{0, 0, 0});
    }
  }
  total_ = starts_.back();
  ignore_ = ignore_index_for(offsets_.back());
}

std::string LabelSpace::name() const {
  std::string n;
  for (const auto& m : members_) n += (n.empty() ? "" : "+") + m.prefix;
  return n;
}

const Dataset& LabelSpace::dataset(int d) const {
  MDP_CHECK(d >= 0 && d < num_datasets(), "LabelSpace: dataset {} out of range ({} datasets)", d, num_datasets());
  return *members_[size_t(d)].dataset;
}

const std::string& LabelSpace::prefix(int d) const {
  dataset(d);
  return members_[size_t(d)].prefix;
}

int LabelSpace::offset(int d) const {
  dataset(d);
  return offsets_[size_t(d)];
}

double LabelSpace::weight(int d) const {
  dataset(d);
  return members_[size_t(d)].weight;
}

int LabelSpace::global_id(int d, int local_class) const {
  int n = dataset(d).num_classes();
  MDP_CHECK(local_class >= 0 && local_class < n, "LabelSpace: class {} of {} out of range (0..{})", local_class,
            prefix(d), n - 1);
  return offsets_[size_t(d)] + local_class;
}

std::pair<int, int> LabelSpace::local_id(int global) const {
  MDP_CHECK(global >= 0 && global < num_classes(), "LabelSpace: global class {} out of range (0..{})", global,
            num_classes() - 1);
  int d = int(std::upper_bound(offsets_.begin(), offsets_.end(), global) - offsets_.begin()) - 1;
  return {d, global - offsets_[size_t(d)]};
}

std::pair<int, int64_t> LabelSpace::locate(int64_t i) const {
  MDP_CHECK(i >= 0 && i < total_, "LabelSpace: sample index {} out of range (size {})", i, total_);
  int d = int(std::upper_bound(starts_.begin(), starts_.end(), i) - starts_.begin()) - 1;
  return {d, i - starts_[size_t(d)]};
}

Sample LabelSpace::get(int64_t i) const {
  auto [d, local] = locate(i);
  const Dataset& ds = *members_[size_t(d)].dataset;
  Sample s = ds.get(local);
  const int32_t member_ignore = ds.ignore_index(), offset = offsets_[size_t(d)], n = ds.num_classes();
  for (int32_t& v : s.label) {
    if (v == member_ignore) {
      v = ignore_;
    } else {
      MDP_CHECK(v >= 0 && v < n, "LabelSpace: {}: label {} of {} is out of range (0..{})", s.label_path, v,
                members_[size_t(d)].prefix, n - 1);
      v += offset;
    }
  }
  s.ignore_index = ignore_;
  s.dataset_id = d;
  return s;
}

std::string LabelSpace::describe(int64_t i) const {
  auto [d, local] = locate(i);
  return members_[size_t(d)].dataset->describe(local);
}

std::vector<double> LabelSpace::sample_weights() const {
  std::vector<double> w(static_cast<size_t>(total_));
  for (size_t d = 0; d < members_.size(); ++d) {
    int64_t n = starts_[d + 1] - starts_[d];
    for (int64_t k = starts_[d]; k < starts_[d + 1]; ++k) w[size_t(k)] = members_[d].weight / double(n);
  }
  return w;
}

}  // namespace mdp::data
