// report.h: `mdp report WORK_DIR... [--output report.html]`: one self-contained HTML page over runs and
// experiments, what a user of MMSegmentation would look at in TensorBoard and its logs:
// - a run (a folder with log.jsonl): its config, every logged number over the iterations (loss, learning
//   rate, mIoU, aAcc, mAcc, throughput, memory; for pretraining the method's losses and the prototype
//   cosines within and across datasets), per-class IoU at each evaluation, the final per-class table
//   (eval.json), the prototype similarity map (prototypes.svg) and predictions beside their images
//   (predictions/, predict_input/);
// - an experiment (a folder with results.json): its claims with their intervals and verdicts, the arms'
//   means, and the runs of its first seed, each step's runs overlaid, one series per arm;
// - any other folder: the runs below it (up to three levels), runs of the same step overlaid.
// Charts of several runs share their axes and have a legend; a smoothing slider works as TensorBoard's.
// The page embeds its script (apps/report.js), styles, data and images: it opens without a network.
// Deliberately not here: live updating (rerun it), histograms and images over time.
#pragma once
#include <string>
#include <vector>

namespace mdp::apps {

struct ReportOptions {
  std::vector<std::string> work_dirs;
  std::string output = "report.html";
  std::string title = "mdp report";
};

// Writes the page atomically; throws naming a folder that holds no run and no experiment.
void write_report(const ReportOptions& options);

int report_main(int argc, char** argv);

}  // namespace mdp::apps
