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

std::string esc(const std::string& s) {
  std::string r;
  for (char c : s) {
    if (c == '<') r += "&lt;";
    else if (c == '>') r += "&gt;";
    else if (c == '&') r += "&amp;";
    else r += c;
  }
  return r;
}

std::string panel_svg(const Panel& p, double ox, double oy, double w, double h) {
  std::string s = fmt::format("<g><rect x='{}' y='{}' width='{}' height='{}' fill='white' stroke='#ccc'/>\n", ox, oy, w, h);
  s += fmt::format("<text x='{}' y='{}' font-size='14' text-anchor='middle'>{}</text>\n", ox + w / 2, oy + 18, esc(p.title));
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
  if (xmax == xmin) xmax = xmin + 1;
  if (ymax == ymin) { ymax += 0.5; ymin -= 0.5; }
  double pad = (ymax - ymin) * 0.05;
  ymin -= pad;
  ymax += pad;
  auto X = [&](double v) { return l + (v - xmin) / (xmax - xmin) * (r - l); };
  auto Y = [&](double v) { return b - (v - ymin) / (ymax - ymin) * (b - t); };
  s += fmt::format("<line x1='{}' y1='{}' x2='{}' y2='{}' stroke='black'/><line x1='{}' y1='{}' x2='{}' y2='{}' stroke='black'/>\n",
                   l, b, r, b, l, b, l, t);
  for (int i = 0; i <= 4; ++i) {
    double yv = ymin + (ymax - ymin) * i / 4, xv = xmin + (xmax - xmin) * i / 4;
    s += fmt::format("<text x='{}' y='{}' font-size='10' text-anchor='end'>{:.3g}</text>\n", l - 4, Y(yv) + 3, yv);
    s += fmt::format("<text x='{}' y='{}' font-size='10' text-anchor='middle'>{:.4g}</text>\n", X(xv), b + 14, xv);
    s += fmt::format("<line x1='{}' y1='{}' x2='{}' y2='{}' stroke='#eee'/>\n", l, Y(yv), r, Y(yv));
  }
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
    if (se.x.size() < 40)
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

void write_heatmap(const std::string& path, const std::string& title, const std::vector<std::vector<double>>& m,
                   const std::vector<std::string>& labels, const std::vector<int>& groups) {
  size_t n = m.size();
  double cell = n > 60 ? 6 : n > 30 ? 10 : 18, margin = 150;
  double size = margin + cell * double(n) + 20;
  std::string s = fmt::format("<svg xmlns='http://www.w3.org/2000/svg' width='{}' height='{}' font-family='sans-serif'>\n"
                              "<text x='{}' y='20' font-size='14'>{}</text>\n", size, size + 30, margin, esc(title));
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) {
      double v = std::clamp(m[i][j], -1.0, 1.0);
      int rr = v > 0 ? 255 : int(255 * (1 + v)), gg = int(255 * (1 - std::fabs(v))), bb = v < 0 ? 255 : int(255 * (1 - v));
      s += fmt::format("<rect x='{:.1f}' y='{:.1f}' width='{}' height='{}' fill='rgb({},{},{})'><title>{} / {}: {:.3f}</title></rect>\n",
                       margin + cell * double(j), margin + cell * double(i), cell, cell, rr, gg, bb,
                       esc(i < labels.size() ? labels[i] : ""), esc(j < labels.size() ? labels[j] : ""), m[i][j]);
    }
    if (cell >= 6 && i < labels.size()) {
      double fs = std::min(cell, 11.0);
      s += fmt::format("<text x='{}' y='{:.1f}' font-size='{}' text-anchor='end'>{}</text>\n", margin - 3,
                       margin + cell * (double(i) + 0.8), fs, esc(labels[i]));
      s += fmt::format("<text x='{:.1f}' y='{}' font-size='{}' transform='rotate(-90 {:.1f} {})'>{}</text>\n",
                       margin + cell * (double(i) + 0.8), margin - 3, fs, margin + cell * (double(i) + 0.8), margin - 3,
                       esc(labels[i]));
    }
  }
  for (int g : groups) {
    double p = margin + cell * g;
    s += fmt::format("<line x1='{}' y1='{}' x2='{}' y2='{}' stroke='black'/><line x1='{}' y1='{}' x2='{}' y2='{}' stroke='black'/>\n",
                     margin, p, margin + cell * double(n), p, p, margin, p, margin + cell * double(n));
  }
  write_text_atomically(path, s + "</svg>\n");
}

void write_bar_chart(const std::string& path, const std::string& title, const std::vector<std::string>& names,
                     const std::vector<double>& values, const std::vector<double>& errors,
                     const std::vector<double>& reference, const std::string& reference_label) {
  double bw = 46, left = 60, h = 320, top = 40, bottom = 150;
  double w = left + bw * double(names.size()) + 40;
  double vmax = 1e-9;
  for (size_t i = 0; i < values.size(); ++i) {
    vmax = std::max(vmax, values[i] + (i < errors.size() ? errors[i] : 0));
    if (i < reference.size() && std::isfinite(reference[i])) vmax = std::max(vmax, reference[i]);
  }
  vmax *= 1.1;
  auto Y = [&](double v) { return top + (h - top - bottom) * (1 - v / vmax); };
  std::string s = fmt::format("<svg xmlns='http://www.w3.org/2000/svg' width='{}' height='{}' font-family='sans-serif'>\n"
                              "<text x='{}' y='20' font-size='14'>{}</text>\n", w, h, left, esc(title));
  s += fmt::format("<line x1='{}' y1='{}' x2='{}' y2='{}' stroke='black'/>\n", left, Y(0), w - 20, Y(0));
  for (int i = 0; i <= 4; ++i)
    s += fmt::format("<text x='{}' y='{}' font-size='10' text-anchor='end'>{:.3g}</text>\n", left - 4, Y(vmax * i / 4) + 3, vmax * i / 4);
  for (size_t i = 0; i < names.size(); ++i) {
    double x = left + bw * double(i) + 8;
    s += fmt::format("<rect x='{}' y='{:.1f}' width='{}' height='{:.1f}' fill='{}'/>\n", x, Y(values[i]), bw - 16,
                     Y(0) - Y(values[i]), kColors[0]);
    if (i < errors.size() && errors[i] > 0)
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
