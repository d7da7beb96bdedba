// plot.cpp: SVG writers.
#include "apps/plot.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "tensor/error.h"

namespace mdp::apps {
namespace {
const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

std::string esc(const std::string& s) { return xml_escape(s); }

}  // namespace

std::string xml_escape(const std::string& s) {
  std::string r;
  for (char c : s) {
    if (c == '<') r += "&lt;";
    else if (c == '>') r += "&gt;";
    else if (c == '&') r += "&amp;";
    else if (c == '"') r += "&quot;";
    else if (c == '\'') r += "&#39;";  // the SVGs quote attributes with '
    else r += c;
  }
  return r;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  MDP_CHECK(std::isfinite(lo) && std::isfinite(hi) && hi >= lo && target >= 2, "plot: ticks for [{}, {}]", lo, hi);
  // Equal up to rounding (0.1 and 0.10000000000000002): one tick, as for equal values; a step below the
  // values' resolution would never advance the loop (found by the report's browser test).
  if (hi - lo <= 1e-9 * std::max(std::fabs(lo), std::fabs(hi))) return {lo};
  double raw = (hi - lo) / target, mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag * (raw / mag < 1.5 ? 1 : raw / mag < 3 ? 2 : raw / mag < 7 ? 5 : 10);
  std::vector<double> t;
  for (double i = std::floor(lo / step + 1e-9); i * step < hi + step * (1 - 1e-9) && t.size() < 50; ++i)
    t.push_back(std::fabs(i * step) < step * 1e-9 ? 0.0 : i * step);
  return t;
}

std::string tick_label(double v, const std::vector<double>& ticks) {
  double step = ticks.size() > 1 ? ticks[1] - ticks[0] : std::fabs(v);
  int decimals = 0;  // the fewest that show the step exactly (0.25: two, 0.5: one, 200: none)
  while (decimals < 6 && step > 0) {
    double scaled = step * std::pow(10.0, decimals);
    if (std::fabs(scaled - std::round(scaled)) < 1e-6 * std::max(1.0, scaled)) break;
    ++decimals;
  }
  if (std::fabs(v) >= 1e6 || (std::fabs(v) < 1e-4 && v != 0)) return fmt::format("{:.2g}", v);
  return fmt::format("{:.{}f}", v, decimals);
}

namespace {

// Width in pixels of `text` at `font_size` (sans-serif, a generous average of 0.6 em per character).
double text_width(const std::string& text, double font_size) { return 0.6 * font_size * double(text.size()); }

std::string panel_svg(const Panel& p, double ox, double oy, double w, double h) {
  std::string s = fmt::format("<g><rect x='{}' y='{}' width='{}' height='{}' fill='white' stroke='#ccc'/>\n", ox, oy, w, h);
  double title_size = std::min(14.0, (w - 10) / std::max(1.0, text_width(p.title, 1.0)));
  s += fmt::format("<text x='{}' y='{}' font-size='{:.1f}' text-anchor='middle'>{}</text>\n", ox + w / 2, oy + 18, title_size,
                   esc(p.title));
  double l = ox + 55, r = ox + w - 15, t = oy + 30, b = oy + h - 40;
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  for (const Series& se : p.series)
    for (size_t i = 0; i < se.x.size(); ++i) {
      if (!std::isfinite(se.y[i])) continue;
      xmin = std::min(xmin, se.x[i]);
      xmax = std::max(xmax, se.x[i]);
      ymin = std::min(ymin, se.y[i]);
      ymax = std::max(ymax, se.y[i]);
    }
  if (!std::isfinite(xmin)) return s + fmt::format("<text x='{}' y='{}' text-anchor='middle' fill='#888'>no data</text></g>\n",
                                                   ox + w / 2, oy + h / 2);
  // Axes span round tick values; a single x value (one evaluation) sits in the middle of its axis.
  std::vector<double> xt = nice_ticks(xmin, xmax, 4), yt = nice_ticks(ymin, ymax, 4);
  double x0 = xt.front(), x1 = xt.back(), y0 = yt.front(), y1 = yt.back();
  if (xt.size() == 1) x0 = xmin - 1, x1 = xmin + 1;
  if (yt.size() == 1) y0 = ymin - 1, y1 = ymin + 1;
  auto X = [&](double v) { return l + (v - x0) / (x1 - x0) * (r - l); };
  auto Y = [&](double v) { return b - (v - y0) / (y1 - y0) * (b - t); };
  s += fmt::format("<line x1='{}' y1='{}' x2='{}' y2='{}' stroke='black'/><line x1='{}' y1='{}' x2='{}' y2='{}' stroke='black'/>\n",
                   l, b, r, b, l, b, l, t);
  for (double yv : yt) {
    s += fmt::format("<text x='{}' y='{:.1f}' font-size='10' text-anchor='end'>{}</text>\n", l - 4, Y(yv) + 3, tick_label(yv, yt));
    s += fmt::format("<line x1='{}' y1='{:.1f}' x2='{}' y2='{:.1f}' stroke='#eee'/>\n", l, Y(yv), r, Y(yv));
  }
  for (double xv : xt)
    s += fmt::format("<text x='{:.1f}' y='{}' font-size='10' text-anchor='middle'>{}</text>\n", X(xv), b + 14, tick_label(xv, xt));
  s += fmt::format("<text x='{}' y='{}' font-size='11' text-anchor='middle'>{}</text>\n", (l + r) / 2, b + 30, esc(p.x_label));
  s += fmt::format("<text x='{}' y='{}' font-size='11' text-anchor='middle' transform='rotate(-90 {} {})'>{}</text>\n", ox + 12,
                   (t + b) / 2, ox + 12, (t + b) / 2, esc(p.y_label));
  for (size_t k = 0; k < p.series.size(); ++k) {
    const Series& se = p.series[k];
    const char* col = kColors[k % 8];
    std::string pts;
    for (size_t i = 0; i < se.x.size(); ++i)
      if (std::isfinite(se.y[i])) pts += fmt::format("{:.1f},{:.1f} ", X(se.x[i]), Y(se.y[i]));
    s += fmt::format("<polyline fill='none' stroke='{}' stroke-width='1.5' points='{}'/>\n", col, pts);
    if (se.x.size() < 40)  // few points (one evaluation included) are drawn as points
      for (size_t i = 0; i < se.x.size(); ++i)
        if (std::isfinite(se.y[i])) s += fmt::format("<circle cx='{:.1f}' cy='{:.1f}' r='2.5' fill='{}'/>\n", X(se.x[i]), Y(se.y[i]), col);
    s += fmt::format("<text x='{}' y='{}' font-size='11' fill='{}'>{}</text>\n", r - 120, t + 14 + 14 * double(k), col, esc(se.name));
  }
  return s + "</g>\n";
}
}  // namespace

void write_text_atomically(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  MDP_CHECK(fd >= 0, "cannot write '{}': {}", path, std::strerror(errno));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      ::close(fd);
      ::unlink(tmp.c_str());
      throw Error(fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
    }
    done += size_t(n);
  }
  ::fsync(fd);
  ::close(fd);
  MDP_CHECK(::rename(tmp.c_str(), path.c_str()) == 0, "cannot write '{}': {}", path, std::strerror(errno));
}

void write_line_plot(const std::string& path, const std::vector<Panel>& panels) {
  double w = 440, h = 300;
  std::string s = fmt::format("<svg xmlns='http://www.w3.org/2000/svg' width='{}' height='{}' font-family='sans-serif'>\n",
                              w * double(panels.size()), h);
  for (size_t i = 0; i < panels.size(); ++i) s += panel_svg(panels[i], w * double(i), 0, w, h);
  write_text_atomically(path, s + "</svg>\n");
}

namespace {
// The heat map's colours: blue (-1) through white (0) to red (+1).
std::string diverging(double v) {
  v = std::clamp(v, -1.0, 1.0);
  int rr = v > 0 ? 255 : int(255 * (1 + v)), gg = int(255 * (1 - std::fabs(v))), bb = v < 0 ? 255 : int(255 * (1 - v));
  return fmt::format("rgb({},{},{})", rr, gg, bb);
}
}  // namespace

void write_heatmap(const std::string& path, const std::string& title, const std::vector<std::vector<double>>& m,
                   const std::vector<std::string>& labels, const std::vector<int>& groups) {
  size_t n = m.size();
  double cell = n > 60 ? 6 : n > 30 ? 10 : 18, margin = 150, top = 40;
  double grid = cell * double(n), scale_x = margin + grid + 20;  // the colour scale right of the grid
  double width = std::max(scale_x + 70, 20 + text_width(title, 14)), height = top + margin + grid + 20;
  std::string s = fmt::format("<svg xmlns='http://www.w3.org/2000/svg' width='{:.0f}' height='{:.0f}' font-family='sans-serif'>\n"
                              "<text x='10' y='22' font-size='14'>{}</text>\n", width, height, esc(title));
  const double y0 = top + margin;  // the grid's top
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j)
      s += fmt::format("<rect x='{:.1f}' y='{:.1f}' width='{}' height='{}' fill='{}'><title>{} / {}: {:.3f}</title></rect>\n",
                       margin + cell * double(j), y0 + cell * double(i), cell, cell, diverging(m[i][j]),
                       esc(i < labels.size() ? labels[i] : ""), esc(j < labels.size() ? labels[j] : ""), m[i][j]);
    if (cell >= 6 && i < labels.size()) {
      double fs = std::min(cell, 11.0);
      s += fmt::format("<text x='{}' y='{:.1f}' font-size='{}' text-anchor='end'>{}</text>\n", margin - 3,
                       y0 + cell * (double(i) + 0.8), fs, esc(labels[i]));
      s += fmt::format("<text x='{:.1f}' y='{}' font-size='{}' transform='rotate(-90 {:.1f} {})'>{}</text>\n",
                       margin + cell * (double(i) + 0.8), y0 - 3, fs, margin + cell * (double(i) + 0.8), y0 - 3, esc(labels[i]));
    }
  }
  for (int g : groups) {
    double p = cell * g;
    s += fmt::format("<line x1='{}' y1='{}' x2='{}' y2='{}' stroke='black'/><line x1='{}' y1='{}' x2='{}' y2='{}' stroke='black'/>\n",
                     margin, y0 + p, margin + grid, y0 + p, margin + p, y0, margin + p, y0 + grid);
  }
  // The colour scale: cosine +1 at the top, -1 at the bottom, ticks every 0.5.
  const double bar_h = std::max(100.0, grid), steps = 40;
  for (int k = 0; k < steps; ++k) {
    double v = 1 - 2 * (k + 0.5) / steps;
    s += fmt::format("<rect x='{:.1f}' y='{:.1f}' width='14' height='{:.2f}' fill='{}'/>\n", scale_x, y0 + bar_h * k / steps,
                     bar_h / steps + 0.3, diverging(v));
  }
  s += fmt::format("<rect x='{:.1f}' y='{:.1f}' width='14' height='{:.1f}' fill='none' stroke='#444'/>\n", scale_x, y0, bar_h);
  for (double v : {1.0, 0.5, 0.0, -0.5, -1.0})
    s += fmt::format("<text x='{:.1f}' y='{:.1f}' font-size='10'>{:+.1f}</text>\n", scale_x + 18, y0 + bar_h * (1 - v) / 2 + 3, v);
  write_text_atomically(path, s + "</svg>\n");
}

void write_bar_chart(const std::string& path, const std::string& title, const std::vector<std::string>& names,
                     const std::vector<double>& values, const std::vector<double>& errors,
                     const std::vector<double>& reference, const std::string& reference_label) {
  double bw = 46, left = 60, top = 40, bottom = 150;
  for (const std::string& n : names)  // labels at 60 degrees: their height is sin(60) of their width
    bottom = std::max(bottom, 24 + 0.87 * text_width(n, 10));
  const double h = std::ceil(top + 130 + bottom);  // a 130-pixel plot area above the labels
  double w = left + bw * double(names.size()) + 40;
  double vmax = 1e-9;
  for (size_t i = 0; i < values.size(); ++i) {
    vmax = std::max(vmax, values[i] + (i < errors.size() ? errors[i] : 0));
    if (i < reference.size() && std::isfinite(reference[i])) vmax = std::max(vmax, reference[i]);
  }
  const std::vector<double> ticks = nice_ticks(0, vmax, 4);
  vmax = ticks.back();
  w = std::max(w, 20 + text_width(title, 14));
  auto Y = [&](double v) { return top + (h - top - bottom) * (1 - v / vmax); };
  std::string s = fmt::format("<svg xmlns='http://www.w3.org/2000/svg' width='{:.0f}' height='{:.0f}' font-family='sans-serif'>\n"
                              "<text x='10' y='20' font-size='14'>{}</text>\n", w, h, esc(title));
  s += fmt::format("<line x1='{}' y1='{}' x2='{}' y2='{}' stroke='black'/>\n", left, Y(0), left + bw * double(names.size()) + 20, Y(0));
  for (double v : ticks) {
    s += fmt::format("<text x='{}' y='{:.1f}' font-size='10' text-anchor='end'>{}</text>\n", left - 4, Y(v) + 3, tick_label(v, ticks));
    s += fmt::format("<line x1='{}' y1='{:.1f}' x2='{}' y2='{:.1f}' stroke='#eee'/>\n", left, Y(v), left + bw * double(names.size()) + 20, Y(v));
  }
  for (size_t i = 0; i < names.size(); ++i) {
    double x = left + bw * double(i) + 8;
    if (!std::isfinite(values[i]))  // an arm without a result
      s += fmt::format("<text x='{}' y='{:.1f}' font-size='10' fill='#888'>n/a</text>\n", x + 2, Y(0) - 4);
    else
      s += fmt::format("<rect x='{}' y='{:.1f}' width='{}' height='{:.1f}' fill='{}'/>\n", x, Y(values[i]), bw - 16,
                       Y(0) - Y(values[i]), kColors[0]);
    if (i < errors.size() && errors[i] > 0 && std::isfinite(values[i]))
      s += fmt::format("<line x1='{}' y1='{:.1f}' x2='{}' y2='{:.1f}' stroke='black'/>\n", x + (bw - 16) / 2, Y(values[i] - errors[i]),
                       x + (bw - 16) / 2, Y(values[i] + errors[i]));
    if (i < reference.size() && std::isfinite(reference[i]))
      s += fmt::format("<line x1='{}' y1='{:.1f}' x2='{}' y2='{:.1f}' stroke='{}' stroke-width='3'/>\n", x - 3, Y(reference[i]),
                       x + bw - 13, Y(reference[i]), kColors[1]);
    s += fmt::format("<text x='{}' y='{}' font-size='10' transform='rotate(60 {} {})'>{}</text>\n", x + 4, Y(0) + 12, x + 4,
                     Y(0) + 12, esc(names[i]));
  }
  if (!reference_label.empty())
    s += fmt::format("<text x='{}' y='34' font-size='11' fill='{}'>{}</text>\n", left, kColors[1], esc(reference_label));
  write_text_atomically(path, s + "</svg>\n");
}

}  // namespace mdp::apps
