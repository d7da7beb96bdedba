// plot.h: small SVG charts written by the commands: line plots of training curves (loss, mIoU over
// iterations) in panels, a heat map of a similarity matrix with labels, and a bar chart with error bars.
// Plain SVG text, no dependency; opens in any browser.
#pragma once
#include <string>
#include <vector>

namespace mdp::apps {

struct Series {
  std::string name;
  std::vector<double> x, y;
};

struct Panel {
  std::string title, x_label, y_label;
  std::vector<Series> series;
};

// Panels side by side; written atomically. Empty panels are drawn with a "no data" note.
void write_line_plot(const std::string& path, const std::vector<Panel>& panels);

// A (n x n) matrix as coloured cells (values in [-1, 1]) with row/column labels and group separators.
void write_heatmap(const std::string& path, const std::string& title, const std::vector<std::vector<double>>& m,
                   const std::vector<std::string>& labels, const std::vector<int>& group_starts);

// Bars with symmetric error bars and an optional reference marker per bar (NaN = none).
void write_bar_chart(const std::string& path, const std::string& title, const std::vector<std::string>& names,
                     const std::vector<double>& values, const std::vector<double>& errors,
                     const std::vector<double>& reference, const std::string& reference_label);

// Round axis ticks covering [lo, hi]: steps of 1, 2 or 5 times a power of ten, about `target` of them,
// the first at or below lo and the last at or above hi; {lo} alone when hi == lo.
std::vector<double> nice_ticks(double lo, double hi, int target);
// A tick value with as many decimals as the ticks' step needs ("0.25", "1200").
std::string tick_label(double v, const std::vector<double>& ticks);

// Text for SVG/HTML content and attributes: < > & " ' escaped.
std::string xml_escape(const std::string& s);

void write_text_atomically(const std::string& path, const std::string& text);  // temp file, fsync, rename

}  // namespace mdp::apps
