// label_space.cpp: member offsets, the optional class merging and its mapping file, the label mapping on
// read (with the all-ignore labels of unlabeled members), the ignore rule and per-sample sampling weights.
#include "data/label_space.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>

#include <fmt/ranges.h>

#include "tensor/error.h"

namespace mdp::data {

namespace {

// For an unknown class name: what the label space does have. When the prefix names a labeled dataset,
// up to 5 of its class names, those starting most like the wanted one first; else the datasets.
std::string valid_names_hint(const std::string& wanted, const std::vector<LabelSpaceMember>& members,
                             const std::vector<std::string>& names) {
  const size_t slash = wanted.find('/');
  const std::string want_prefix = wanted.substr(0, slash) + "/";
  for (const auto& m : members)
    if (m.prefix + "/" == want_prefix && !m.dataset->has_labels())
      return fmt::format("dataset '{}' is unlabeled and has no classes", m.prefix);
  std::vector<std::pair<int, std::string>> candidates;  // (-length of the prefix shared with wanted, name)
  for (const std::string& n : names) {
    if (n.compare(0, want_prefix.size(), want_prefix) != 0) continue;
    size_t k = 0;
    while (k < n.size() && k < wanted.size() && n[k] == wanted[k]) ++k;
    candidates.push_back({-int(k), n});
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<std::string> shown;
  for (size_t i = 0; i < candidates.size() && i < 5; ++i) shown.push_back(candidates[i].second);
  if (!shown.empty())
    return fmt::format("{} has {} classes: {}{}", want_prefix.substr(0, want_prefix.size() - 1), candidates.size(),
                       fmt::join(shown, ", "), candidates.size() > shown.size() ? ", ..." : "");
  std::vector<std::string> prefixes;  // unknown prefix: the labeled datasets and the first class of each
  for (const auto& m : members) {
    if (!m.dataset->has_labels() || m.dataset->num_classes() == 0) continue;
    prefixes.push_back(m.prefix);
    if (shown.size() < 5) shown.push_back(m.prefix + "/" + m.dataset->class_names()[0]);
  }
  return fmt::format("names are '<dataset>/<class>' with the labeled datasets {}, e.g. {}", fmt::join(prefixes, ", "),
                     fmt::join(shown, ", "));
}

}  // namespace

int32_t ignore_index_for(int num_classes) { return num_classes <= 255 ? kIgnore : -1; }

LabelMerges read_label_mapping(const std::string& path) {
  std::ifstream in(path);
  MDP_CHECK(in.good(), "label mapping: cannot open {}", path);
  LabelMerges merges;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    MDP_CHECK(line.find('\0') == std::string::npos, "label mapping {} line {}: has a NUL byte (not a text file?)", path, n);
    const std::string text = trim(line.substr(0, line.find('#')));
    if (text.empty()) continue;
    LabelMergeGroup g;
    g.where = fmt::format("label mapping {} line {}", path, n);
    MDP_CHECK(text.find('=') != std::string::npos,
              "{}: '{}' has no '=' (expected 'prefix/class = prefix/class [= ...]')", g.where, text);
    size_t start = 0;
    while (true) {
      size_t eq = text.find('=', start);
      std::string name = trim(text.substr(start, eq == std::string::npos ? std::string::npos : eq - start));
      if (!name.empty()) g.classes.push_back(name);
      if (eq == std::string::npos) break;
      start = eq + 1;
    }
    MDP_CHECK(g.classes.size() >= 2, "{}: '{}': a merge group needs at least two classes, has {}", g.where, text,
              g.classes.size());
    merges.push_back(std::move(g));
  }
  return merges;
}

LabelSpace::LabelSpace(std::vector<LabelSpaceMember> members, const LabelMerges& merges)
    : members_(std::move(members)) {
  MDP_CHECK(!members_.empty(), "LabelSpace: needs at least one dataset");

  // The members and their unmerged classes: member d's class c has the unmerged id first[d] + c.
  std::set<std::string> prefixes;
  std::vector<int> first;
  std::vector<std::string> unmerged_names;
  std::vector<std::pair<int, int>> unmerged_local;  // unmerged id -> (dataset, local class)
  starts_.push_back(0);
  for (size_t d = 0; d < members_.size(); ++d) {
    auto& m = members_[d];
    MDP_CHECK(m.dataset != nullptr, "LabelSpace: dataset {} is null", d);
    if (m.prefix.empty()) m.prefix = m.dataset->name();
    MDP_CHECK(m.weight > 0, "LabelSpace: dataset {} ({}) has weight {}, must be > 0", d, m.prefix, m.weight);
    MDP_CHECK(prefixes.insert(m.prefix).second, "LabelSpace: two datasets are named '{}'; give distinct prefixes",
              m.prefix);
    starts_.push_back(starts_.back() + m.dataset->size());
    first.push_back(int(unmerged_names.size()));
    if (!m.dataset->has_labels()) continue;  // contributes no class
    for (int c = 0; c < m.dataset->num_classes(); ++c) {
      unmerged_names.push_back(m.prefix + "/" + m.dataset->class_names()[size_t(c)]);
      unmerged_local.push_back({int(d), c});
    }
  }
  total_ = starts_.back();
  const int unmerged = int(unmerged_names.size());
  if (unmerged == 0) {
    std::vector<std::string> all;
    for (const auto& m : members_) all.push_back(m.prefix);
    throw Error(fmt::format("LabelSpace: no classes: every dataset ({}) is unlabeled or has no classes; at least "
                            "one needs labels", fmt::join(all, ", ")));
  }

  // Resolve the merge groups: owner[u] is the smallest unmerged id of u's group (u itself when unmerged).
  std::map<std::string, int> id_of;  // name -> unmerged id; -1 when two classes share the name
  for (int u = 0; u < unmerged; ++u) {
    auto [it, fresh] = id_of.emplace(unmerged_names[size_t(u)], u);
    if (!fresh) it->second = -1;
  }
  std::vector<int> owner(static_cast<size_t>(unmerged));
  for (int u = 0; u < unmerged; ++u) owner[size_t(u)] = u;
  std::vector<int> group_of(static_cast<size_t>(unmerged), -1);
  for (size_t gi = 0; gi < merges.size(); ++gi) {
    const LabelMergeGroup& g = merges[gi];
    const std::string where = g.where.empty() ? fmt::format("merge group {}", gi) : g.where;
    MDP_CHECK(g.classes.size() >= 2, "LabelSpace: {}: a merge group needs at least two classes, has {}{}", where,
              g.classes.size(), g.classes.empty() ? "" : " ('" + g.classes[0] + "')");
    std::vector<int> ids;
    for (const std::string& name : g.classes) {
      auto it = id_of.find(name);
      MDP_CHECK(it != id_of.end(), "LabelSpace: {}: unknown class '{}' ({})", where, name,
                valid_names_hint(name, members_, unmerged_names));
      MDP_CHECK(it->second >= 0, "LabelSpace: {}: class name '{}' is ambiguous (two classes of the dataset have it)",
                where, name);
      const int u = it->second;
      if (group_of[size_t(u)] >= 0) {
        const LabelMergeGroup& other = merges[size_t(group_of[size_t(u)])];
        const std::string other_where =
            other.where.empty() ? fmt::format("merge group {}", group_of[size_t(u)]) : other.where;
        MDP_CHECK(size_t(group_of[size_t(u)]) != gi, "LabelSpace: {}: class '{}' is listed twice in the group", where,
                  name);
        throw Error(fmt::format("LabelSpace: {}: class '{}' is in two merge groups (also in {})", where, name,
                                other_where));
      }
      group_of[size_t(u)] = int(gi);
      ids.push_back(u);
    }
    const int lowest = *std::min_element(ids.begin(), ids.end());
    for (int u : ids) owner[size_t(u)] = lowest;
  }

  // Renumber: an owner takes the next global id, a merged-away class its owner's (owner[u] <= u).
  std::vector<int> global_of(static_cast<size_t>(unmerged));
  for (int u = 0; u < unmerged; ++u) {
    const auto [d, c] = unmerged_local[size_t(u)];
    if (owner[size_t(u)] == u) {
      global_of[size_t(u)] = int(names_.size());
      names_.push_back(unmerged_names[size_t(u)]);
      const Palette& pal = members_[size_t(d)].dataset->palette();
      palette_.push_back(size_t(c) < pal.size() ? pal[size_t(c)] : std::array<uint8_t, 3>{0, 0, 0});
      class_members_.push_back({{d, c}});
    } else {
      const int g = global_of[size_t(owner[size_t(u)])];
      global_of[size_t(u)] = g;
      names_[size_t(g)] += "|" + unmerged_names[size_t(u)];
      class_members_[size_t(g)].push_back({d, c});
    }
  }

  // Per member: the first global id it owns and its local -> global table.
  to_global_.resize(members_.size());
  for (size_t d = 0; d < members_.size(); ++d) {
    int owned_before = 0;  // global ids owned by members before d = owners among unmerged ids < first[d]
    for (int u = 0; u < first[d]; ++u) owned_before += owner[size_t(u)] == u;
    offsets_.push_back(owned_before);
    if (!members_[d].dataset->has_labels()) continue;
    for (int c = 0; c < members_[d].dataset->num_classes(); ++c)
      to_global_[d].push_back(global_of[size_t(first[d] + c)]);
  }
  offsets_.push_back(int(names_.size()));
  ignore_ = ignore_index_for(int(names_.size()));
  unlabeled_fill_ = ignore_;
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

double LabelSpace::weight(int d) const {
  dataset(d);
  return members_[size_t(d)].weight;
}

bool LabelSpace::labeled(int d) const { return dataset(d).has_labels(); }

int LabelSpace::offset(int d) const {
  dataset(d);
  return offsets_[size_t(d)];
}

int LabelSpace::num_classes_of(int d) const {
  dataset(d);
  return offsets_[size_t(d) + 1] - offsets_[size_t(d)];
}

int LabelSpace::global_id(int d, int local_class) const {
  MDP_CHECK(labeled(d), "LabelSpace: dataset {} ({}) has no labels, so no class {}", d, prefix(d), local_class);
  const int n = int(to_global_[size_t(d)].size());
  MDP_CHECK(local_class >= 0 && local_class < n, "LabelSpace: class {} of {} out of range (0..{})", local_class,
            prefix(d), n - 1);
  return to_global_[size_t(d)][size_t(local_class)];
}

const std::vector<std::pair<int, int>>& LabelSpace::members_of(int global) const {
  MDP_CHECK(global >= 0 && global < num_classes(), "LabelSpace: global class {} out of range (0..{})", global,
            num_classes() - 1);
  return class_members_[size_t(global)];
}

std::pair<int, int> LabelSpace::local_id(int global) const { return members_of(global).front(); }

int LabelSpace::dataset_of_class(int global) const { return local_id(global).first; }

std::pair<int, int64_t> LabelSpace::locate(int64_t i) const {
  MDP_CHECK(i >= 0 && i < total_, "LabelSpace: sample index {} out of range (size {})", i, total_);
  int d = int(std::upper_bound(starts_.begin(), starts_.end(), i) - starts_.begin()) - 1;
  return {d, i - starts_[size_t(d)]};
}

Sample LabelSpace::get(int64_t i) const {
  auto [d, local] = locate(i);
  const Dataset& ds = *members_[size_t(d)].dataset;
  Sample s = ds.get(local);
  if (!ds.has_labels()) {
    s.label.assign(size_t(s.width) * size_t(s.height), unlabeled_fill_);
  } else {
    const std::vector<int32_t>& table = to_global_[size_t(d)];
    const int32_t member_ignore = ds.ignore_index(), n = int32_t(table.size());
    for (int32_t& v : s.label) {
      if (v == member_ignore) {
        v = ignore_;
      } else {
        MDP_CHECK(v >= 0 && v < n, "LabelSpace: {}: label {} of {} is out of range (0..{})", s.label_path, v,
                  members_[size_t(d)].prefix, n - 1);
        v = table[size_t(v)];
      }
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
