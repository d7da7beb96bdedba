// common.cpp: datasets, pipelines, models, work dirs, signals, inference and evaluation.
#include "apps/common.h"
#include <fmt/ranges.h>

#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "apps/cli.h"
#include "apps/plot.h"
#include "data/check.h"
#include "data/dataset_wrappers.h"
#include "data/generated.h"
#include "data/loader.h"
#include "mdp/json.h"
#include "nn/checkpoint.h"
#include "tensor/error.h"
#include "tensor/ops.h"
#include "tensor/safetensors.h"
#include "tensor/threads.h"

namespace mdp::apps {
namespace fs = std::filesystem;

namespace {
// data.dataset = folder: the data.<field> keys that are set, over <root>/layout.txt (data/check.cpp reads
// it when present). Without that file, a root that may be read-only is described by the keys alone.
void apply_folder_keys(const Config& c, const std::string& root, data::DataCheckOptions& o) {
  auto text = [&](const char* key, std::string& field, bool& set) {
    if (!c.s(key).empty()) field = c.s(key), set = true;
  };
  text("data.image_dir", o.folder.image_dir, o.set_image_dir);
  text("data.label_dir", o.folder.label_dir, o.set_label_dir);
  text("data.image_suffix", o.folder.image_suffix, o.set_image_suffix);
  text("data.label_suffix", o.folder.label_suffix, o.set_label_suffix);
  text("data.split_file", o.folder.split_file, o.set_split_file);
  text("data.classes_file", o.folder.classes_file, o.set_classes_file);
  const int64_t n = c.i("data.num_classes");
  MDP_CHECK(n >= 0, "config: data.num_classes must be 0 (layout.txt's) or more, got {}", n);
  if (n > 0) o.folder.num_classes = int(n), o.set_num_classes = true;
  const std::string rz = c.s("data.reduce_zero_label");
  MDP_CHECK(rz == "auto" || rz == "true" || rz == "false", "config: data.reduce_zero_label must be auto, true or false, got '{}'", rz);
  if (rz != "auto") o.folder.reduce_zero_label = rz == "true", o.set_reduce_zero_label = true;
  MDP_CHECK(fs::exists(fs::path(root) / "layout.txt") || o.set_classes_file || o.set_num_classes,
            "data: folder dataset {} has no layout.txt: describe it with data.num_classes or data.classes_file (and "
            "data.image_dir, data.label_dir, data.image_suffix, data.label_suffix, data.split_file as needed)", root);
}
}  // namespace

std::shared_ptr<data::Dataset> open_dataset(const Config& c, const std::string& kind, const std::string& root,
                                            const std::string& split, const std::string& domain) {
  if (kind == "generated") {
    const uint64_t seed = uint64_t(c.i("data.seed"));
    const std::vector<int64_t> size = c.il("data.generated_size"), images = c.il("data.generated_images");
    MDP_CHECK(size.size() == 2 && (images.size() == 2 || images.size() == 3),
              "data: generated_size needs two values (width, height) and generated_images two or three (train, val, test)");
    // The domain's family: the demo's shapes_* or the paper-ablations benchmark's world_* (data/generated.h).
    int test = images.size() == 3 ? int(images[2]) : 0;
    data::GeneratedSpec spec;
    std::string known;
    for (const data::GeneratedSpec& family :
         {data::demo_domains(seed, int(size[0]), int(size[1]), int(images[0]), int(images[1])),
          data::world_domains(seed, int(size[0]), int(size[1]), int(images[0]), int(images[1]), test)})
      for (auto& d : family.domains) {
        known += (known.empty() ? "" : ", ") + d.name;
        if (d.name == domain) spec = family;
      }
    MDP_CHECK(!spec.domains.empty(), "data: unknown generated domain '{}' (known: {})", domain, known);
    MDP_CHECK(split != "test" || spec.test_images > 0,
              "data: generated domain {} has a test split only when data.generated_images has a third value", domain);
    fs::create_directories(root);
    data::ensure_generated(spec, root);  // (re)writes it unless spec.txt says it is this spec
    return data::open_folder(data::generated_domain_options(root, domain, split));
  }
  data::DataCheckOptions o;
  o.dataset = kind;
  o.root = root;
  o.split = split;
  MDP_CHECK(!root.empty(), "data: data.root is empty (the {} dataset's directory)", kind);
  MDP_CHECK(fs::exists(root), "data: dataset root '{}' does not exist", root);
  if (kind == "folder") apply_folder_keys(c, root, o);
  return data::open_dataset(o);
}


std::shared_ptr<data::Dataset> open_split(const Config& c, const std::string& split, bool training) {
  auto ds = open_dataset(c, c.s("data.dataset"), c.s("data.root"), split, c.s("data.domain"));
  int64_t times = c.i("data.repeat");
  MDP_CHECK(times >= 1, "config: data.repeat must be at least 1, got {}", times);
  if (!training || times == 1) return ds;
  return std::make_shared<data::RepeatDataset>(ds, times);
}

data::PipelineOptions train_pipeline_of(const Config& c) {
  auto scale = c.il("data.scale"), crop = c.il("data.crop");
  auto ratio = c.fl("data.ratio_range");
  MDP_CHECK(scale.size() == 2 && crop.size() == 2 && ratio.size() == 2, "config: data.scale, data.crop and data.ratio_range "
            "need two values each");
  data::PipelineOptions p;
  p.random_resize = data::RandomResizeArgs{int(scale[0]), int(scale[1]), ratio[0], ratio[1], true};
  p.crop = data::RandomCropArgs{int(crop[1]), int(crop[0]), c.f("data.cat_max_ratio")};
  p.flip_prob = c.f("data.flip");
  if (c.b("data.photometric")) p.photometric = data::PhotoMetricArgs{};
  p.pad_to = std::pair<int, int>{int(crop[1]), int(crop[0])};
  return p;
}

data::PipelineOptions test_pipeline_of(const Config& c) {
  auto scale = c.il("data.scale");
  return data::test_pipeline(int(scale[0]), int(scale[1]));
}

nn::ResNetConfig backbone_config(const Config& c) {
  return nn::ResNetConfig{.depth = int(c.i("model.depth")), .replace_stride_with_dilation = {false, true, true},
                          .deep_stem = c.b("model.deep_stem"), .width = c.f("model.width"), .include_top = false};
}

nn::DeepLabV3Config seg_model_config(const Config& c, int num_classes) {
  std::string name = c.s("model.name");
  MDP_CHECK(name == "deeplabv3-mmseg" || name == "deeplabv3-torchvision" || name == "linear-probe",
            "config: model.name '{}' is not deeplabv3-mmseg, deeplabv3-torchvision or linear-probe", name);
  nn::SegLayout layout = name == "deeplabv3-mmseg"         ? nn::SegLayout::MMSeg
                         : name == "deeplabv3-torchvision" ? nn::SegLayout::Torchvision
                                                           : nn::SegLayout::Linear;
  return nn::DeepLabV3Config{.layout = layout, .backbone = backbone_config(c), .num_classes = num_classes,
                             .aux_head = c.b("model.aux_head"), .channels = c.i("model.channels")};
}

std::map<std::string, std::string> model_metadata(const Config& c, int num_classes) {
  std::map<std::string, std::string> m;
  for (const auto& [key, value] : c.values())
    if (key.rfind("model.", 0) == 0 && key != "model.pretrained" && key != "model.norm" && key != "model.dropout")
      m[key] = value;  // (the last two change training only)
  m["model.num_classes"] = std::to_string(num_classes);
  return m;
}

bool model_from_metadata(const std::map<std::string, std::string>& metadata, Config& model, int& num_classes) {
  auto k = metadata.find("model.num_classes");
  if (k == metadata.end()) return false;
  for (const auto& [key, value] : metadata)
    if (key.rfind("model.", 0) == 0 && key != "model.num_classes") model.set(key + "=" + value);
  num_classes = int(std::stol(k->second));
  MDP_CHECK(num_classes > 0, "checkpoint metadata: model.num_classes {} is not positive", num_classes);
  return true;
}

void load_pretrained_backbone(nn::Module& model, const std::string& path) {
  MDP_CHECK(fs::exists(path), "model.pretrained: '{}' does not exist", path);
  safetensors::File header = safetensors::read(path);
  bool prefixed = false;
  for (auto& [n, e] : header.tensors) prefixed |= n.rfind("backbone.", 0) == 0;
  nn::LoadOptions o{false, "", {}, {"backbone."}};
  if (!prefixed) o.prefix_map = {{"", "backbone."}};
  nn::LoadReport r = nn::load_weights(model, path, o);
  MDP_CHECK(!r.loaded.empty(), "model.pretrained: nothing in '{}' fits the backbone:\n{}", path, r.str());
  MDP_CHECK(r.shape_mismatch.empty() && r.missing.empty(), "model.pretrained: '{}' does not fit the backbone:\n{}", path, r.str());
  std::printf("loaded %zu backbone tensors from %s (%zu others in the file ignored)\n", r.loaded.size(), path.c_str(),
              r.unexpected.size());
}

namespace {

// A work dir that already holds a run (its log or checkpoints): starting another there would mix the two.
void refuse_earlier_run(const char* command, const std::string& work, bool move_aside) {
  std::vector<std::string> found;
  for (const char* f : {"log.jsonl", "latest.state.safetensors"})  // a config.yaml alone: a run that never started
    if (fs::exists(fs::path(work) / f)) found.push_back(f);
  if (found.empty()) return;
  if (!move_aside)
    throw Error(fmt::format("mdp {}: the work dir '{}' already holds a run ({}); continue it with --resume, choose another "
                            "--work-dir, or keep it as {}.prev-N and start afresh with --move-aside",
                            command, work, fmt::join(found, ", "), work));
  std::string dest;
  for (int n = 1;; ++n) {
    dest = fmt::format("{}.prev-{}", fs::path(work).lexically_normal().string(), n);
    if (!fs::exists(dest)) break;
  }
  fs::rename(work, dest);
  std::printf("mdp %s: moved the earlier run in %s aside to %s\n", command, work.c_str(), dest.c_str());
}

// Keys whose change on --resume would make the continued run a different experiment: the model, the data
// and its pipeline, the batch, the optimizer and its schedule, the seed. What may change: speed (threads,
// workers, device), logging and checkpoint intervals, where the data lives (roots), and train.iters (a run
// may be extended, as in MMSegmentation).
bool changes_meaning(const std::string& key) {
  static const char* free_keys[] = {"train.threads", "train.device", "train.log_interval", "train.eval_interval",
                                    "train.checkpoint_interval", "train.iters", "data.workers", "data.root", "data.roots",
                                    "train.tensorboard"};
  for (const char* k : free_keys)
    if (key == k) return false;
  return key.rfind("model.", 0) == 0 || key.rfind("data.", 0) == 0 || key.rfind("train.", 0) == 0 ||
         key.rfind("mdp.", 0) == 0 || key.rfind("pretrain.", 0) == 0;
}

void refuse_changed_meaning(const char* command, const std::map<std::string, std::string>& saved,
                            const std::map<std::string, std::string>& now) {
  std::vector<std::string> changed;
  for (const auto& [key, value] : now) {
    auto it = saved.find(key);
    if (it != saved.end() && it->second != value && changes_meaning(key))
      changed.push_back(fmt::format("{}: {} -> {}", key, it->second, value));
  }
  if (!changed.empty())
    throw Error(fmt::format("mdp {} --resume: the run would change meaning ({}); resume without these changes, start a new "
                            "run in another --work-dir, or pass --force",
                            command, fmt::join(changed, "; ")));
}

}  // namespace

bool setup_run(const char* command, const char* summary, const char* default_work_dir, int argc, char** argv, Config& c,
               RunSetup& run) {
  cli::Parser p(command, summary,
                {{"--config", "FILE", fmt::format("YAML config (keys: mdp {} --help-keys)", command), ""},
                 {"--set", "KEY=VALUE", "override a config key", "", true},
                 {"--work-dir", "DIR", "where checkpoints, logs and plots go", default_work_dir},
                 {"--resume", "", "continue from the work dir's latest checkpoint", ""},
                 {"--stop-after", "N", "stop with a checkpoint after N iterations of this run (--resume continues)", "0"},
                 {"--move-aside", "", "the work dir holds an earlier run: rename it to DIR.prev-N and start afresh", ""},
                 {"--force", "", "with --resume: accept changes to keys that alter the run's meaning", ""},
                 {"--print-config", "", "print the resolved config (file, checkpoint and --set merged) and exit", ""},
                 {"--help-keys", "", "list every config key", ""}});
  if (!p.parse(argc, argv, 2)) return false;
  if (p.has("--help-keys")) {
    std::fputs(c.keys_help().c_str(), stdout);
    return false;
  }
  run.work = p.str("--work-dir");
  run.resume = p.has("--resume");
  run.stop_after = p.integer("--stop-after");
  const bool print_only = p.has("--print-config");  // nothing is checked or written but the config itself
  if (p.has("--move-aside") && run.resume)
    throw cli::UsageError(fmt::format("mdp {}: --move-aside starts afresh and --resume continues: give one", command));
  // Rank 0 alone looks for an earlier run (and moves it aside): the others meet its verdict at the first
  // agreement point (start_on_ranks).
  if (!run.resume && !print_only && nn::world().rank() == 0) refuse_earlier_run(command, run.work, p.has("--move-aside"));
  std::map<std::string, std::string> saved;
  if (run.resume) {
    std::string state = (fs::path(run.work) / "latest.state.safetensors").string();
    MDP_CHECK(fs::exists(state), "mdp {} --resume: no checkpoint in '{}' (expected {})", command, run.work, state);
    run.resumed = nn::load_run_state(state);
    MDP_CHECK(run.resumed.command == command, "mdp {} --resume: the checkpoint in '{}' was written by mdp {}; resume it with that "
              "command", command, run.work, run.resumed.command);
    c.load_string(run.resumed.config, "of the checkpoint");
    saved = c.values();
  }
  if (p.has("--config")) c.load_file(p.str("--config"));
  for (auto& s : p.all("--set")) c.set(s);
  if (print_only) {
    std::fputs(c.yaml().c_str(), stdout);
    return false;
  }
  if (run.resume && !p.has("--force")) refuse_changed_meaning(command, saved, c.values());
  return true;
}

AfterIteration after_iteration(const RunSetup& run, int64_t start, int64_t it, int64_t iters, int64_t every, int signal) {
  AfterIteration a;
  if (signal != 0) a.exit_code = 128 + signal;
  else if (run.stop_after > 0 && it - start >= run.stop_after && it < iters) a.exit_code = 0;
  a.checkpoint = (every > 0 && it % every == 0) || it == iters || a.exit_code >= 0;
  return a;
}

void report_early_end(const char* command, const AfterIteration& a, int64_t it, int64_t start) {
  if (a.exit_code > 0)
    std::printf("mdp %s: stopped by signal %d at iteration %ld; checkpoint written, continue with --resume\n", command,
                a.exit_code - 128, long(it));
  else
    std::printf("mdp %s: stopped after %ld iterations as asked (--stop-after); continue with --resume\n", command,
                long(it - start));
}

namespace {
// The "iter" of one log.jsonl line (-1 for a line without one).
int64_t iter_of(const Json& line, const std::string& what) {
  double it = json_number_field(line, "iter", what);
  return std::isnan(it) ? -1 : int64_t(it);
}
}  // namespace

void trim_log(const std::string& path, int64_t last_iter) {
  if (!fs::exists(path)) return;
  std::ifstream in(path, std::ios::binary);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::string kept;
  int64_t n = 0;
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) break;  // a last line without its newline: the rest of an interrupted write
    const std::string line = text.substr(at, end - at);
    at = end + 1;
    ++n;
    if (line.empty()) continue;
    Json j;
    try {
      j = parse_json(line, fmt::format("{} line {}", path, n));
    } catch (const Error&) {  // not JSON (older logs wrote `"mIoU": nan`): kept, its iteration unknown
      kept += line + "\n";
      continue;
    }
    if (iter_of(j, path) <= last_iter) kept += line + "\n";
  }
  write_text_atomically(path, kept);
}

namespace {
// Calls fn(line, "<path> line <n>") for each JSON line of a log.jsonl; lines that are not JSON (older
// logs wrote `"mIoU": nan`; a write cut by a kill) are skipped.
template <typename Fn>
void for_each_log_line(const std::string& path, Fn fn) {
  std::ifstream in(path);
  int64_t n = 0;
  for (std::string text; std::getline(in, text);) {
    ++n;
    if (text.empty()) continue;
    const std::string what = fmt::format("{} line {}", path, n);
    Json line;
    try {
      line = parse_json(text, what);
    } catch (const Error&) {
      continue;
    }
    fn(line, what);
  }
}
}  // namespace

LogSeries read_log_series(const std::string& path, const std::string& key) {
  LogSeries s;
  for_each_log_line(path, [&](const Json& line, const std::string& what) {
    int64_t it = iter_of(line, what);
    double v = json_number_field(line, key, what);
    if (it < 0 || std::isnan(v)) return;  // not logged (or undefined) at that iteration
    s.iters.push_back(double(it));
    s.values.push_back(v);
  });
  return s;
}

std::map<std::string, LogSeries> read_log(const std::string& path) {
  std::map<std::string, LogSeries> all;
  for_each_log_line(path, [&](const Json& line, const std::string&) {
    if (!line.is_object() || !line.contains("iter") || !line["iter"].is_number()) return;
    const double it = line["iter"].get<double>();
    for (const auto& [k, v] : line.items()) {
      if (k == "iter" || !v.is_number()) continue;
      all[k].iters.push_back(it);
      all[k].values.push_back(v.get<double>());
    }
  });
  return all;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {
bool setup_done = false;
}

void agree_or_exit(const char* command, const std::string& error) {
  nn::ProcessGroup& g = nn::world();
  if (g.size() == 1) return;
  Tensor mine = ops::full({1}, error.empty() ? 0.0 : 1.0, DType::Int64);
  std::vector<double> failed = ops::to_vector(g.all_gather(mine));  // one flag per rank
  int first = -1;
  for (int r = 0; r < g.size() && first < 0; ++r)
    if (failed[size_t(r)] != 0) first = r;
  if (first < 0) return;
  if (g.rank() == first) std::fprintf(stderr, "mdp %s: error: %s\n", command, error.c_str());
  std::fflush(stderr);
  nn::shutdown_distributed();
  std::exit(1);
}

void finish_setup(const char* command) {
  agree_or_exit(command, "");
  setup_done = true;
}

bool setup_finished() { return setup_done; }

int stop_signal_of_all(nn::ProcessGroup& world) {
  if (world.size() == 1) return stop_signal();
  std::vector<double> all = ops::to_vector(world.all_gather(ops::full({1}, double(stop_signal()), DType::Int64)));
  int s = 0;
  for (double v : all) s = std::max(s, int(v));
  return s;
}

nn::ProcessGroup& join_world() {
  nn::ProcessGroup& g = nn::init_distributed();
  if (g.rank() != 0) std::freopen("/dev/null", "w", stdout);
  return g;
}

Device start_on_ranks(const char* command, const Config& c, const std::string& work, nn::ProcessGroup& world) {
  MDP_CHECK(c.s("model.norm") == "bn" || c.s("model.norm") == "syncbn", "config: model.norm '{}' is not bn or syncbn",
            c.s("model.norm"));
  agree_or_exit(command, "");  // every rank has looked at the work dir before rank 0 writes to it
  std::string error;  // what stops this rank, agreed on before any NCCL collective
  if (world.rank() == 0) {
    try {
      prepare_work_dir(work);
      write_text_atomically((fs::path(work) / "config.yaml").string(), c.yaml());
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  set_num_threads(int(c.i("train.threads")));
  const std::string device = c.s("train.device");
  Device dev = device == "cuda" && world.size() > 1 ? Device::cuda(nn::local_rank()) : Device::parse(device);
  if (error.empty() && world.size() > 1) error = nn::why_no_collectives_on(dev);
  if (!error.empty() && world.size() == 1) throw Error(error);  // one process: the error as it is
  agree_or_exit(command, error);
  world.use_device(dev);  // CUDA: NCCL for the gradients and SyncBN
  return dev;
}

void prepare_work_dir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  MDP_CHECK(!ec && fs::is_directory(dir), "work dir '{}' cannot be created: {}", dir, ec ? ec.message() : "not a directory");
  MDP_CHECK(::access(dir.c_str(), W_OK) == 0, "work dir '{}' is not writable", dir);
}

void append_line(const std::string& path, const std::string& line) {
  std::ofstream out(path, std::ios::app);
  MDP_CHECK(out.good(), "cannot append to '{}'", path);
  out << line << "\n";
}

RunLog::RunLog(const std::string& work, bool resume, int64_t start, bool tensorboard)
    : path_((fs::path(work) / "log.jsonl").string()) {
  if (resume) trim_log(path_, start);
  if (tensorboard) {
    tensorboard_ = std::make_unique<nn::TensorBoardWriter>(work);
    if (resume) tensorboard_->restart_at(start + 1);
  }
}

void RunLog::write(const Json& line) {
  append_line(path_, json_text(line));
  if (!tensorboard_ || !line.contains("iter")) return;
  const int64_t step = line["iter"].get<int64_t>();
  for (const auto& [k, v] : line.items())
    if (k != "iter" && v.is_number() && std::isfinite(v.get<double>()))  // log.jsonl writes NaN as null
      tensorboard_->add_scalar(k, v.get<double>(), step);
}

namespace {
volatile std::sig_atomic_t g_stop = 0;
void on_signal(int s) { g_stop = s; }
}  // namespace

void install_stop_signals() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}
int stop_signal() { return int(g_stop); }

}  // namespace mdp::apps
