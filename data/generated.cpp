// generated.cpp: the scene renderer (backgrounds, shapes, textures, noise) and the writer of the
// generic folder layout for each domain. Rendering works in float RGB and quantizes once at the end;
// every random number comes from a Generator seeded by (seed, domain, split, index).
#include "data/generated.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "data/jpeg.h"
#include "data/png.h"
#include "tensor/error.h"
#include "tensor/random.h"

namespace fs = std::filesystem;

namespace mdp::data {

const char* concept_name(Concept c) {
  switch (c) {
    case Concept::Background: return "background";
    case Concept::Circle: return "circle";
    case Concept::Square: return "square";
    case Concept::Triangle: return "triangle";
    case Concept::Ring: return "ring";
    case Concept::StripedCircle: return "striped_circle";
    case Concept::CheckerSquare: return "checker_square";
    case Concept::Bar: return "bar";
    case Concept::Blob: return "blob";
    case Concept::Cross: return "cross";
    case Concept::Star: return "star";
    case Concept::Ground: return "ground";
  }
  return "?";
}

GeneratedSpec demo_domains(uint64_t seed, int width, int height, int train_images, int val_images) {
  GeneratedSpec s;
  s.seed = seed;
  s.width = width;
  s.height = height;
  s.train_images = train_images;
  s.val_images = val_images;

  DomainSpec a;
  a.name = "shapes_a";
  a.class_names = {"background", "circle", "square", "triangle", "ring", "striped_circle"};
  a.class_concepts = {{Concept::Background}, {Concept::Circle}, {Concept::Square},
                      {Concept::Triangle},   {Concept::Ring},   {Concept::StripedCircle}};
  a.hue_lo = 0, a.hue_hi = 360, a.sat_lo = 0.55, a.sat_hi = 1.0, a.val_lo = 0.45, a.val_hi = 1.0;
  a.background = BackgroundStyle::Gradient;
  a.noise_sigma = 4;
  a.min_objects = 2, a.max_objects = 5;
  a.ignore_border = true;
  a.jpeg = false;
  s.domains.push_back(a);

  DomainSpec b;
  b.name = "shapes_b";
  b.class_names = {"background", "bar", "disk", "checker_box", "blob", "cross"};
  b.class_concepts = {{Concept::Background}, {Concept::Bar},  {Concept::Circle},
                      {Concept::CheckerSquare}, {Concept::Blob}, {Concept::Cross}};
  b.hue_lo = 150, b.hue_hi = 270, b.sat_lo = 0.12, b.sat_hi = 0.5, b.val_lo = 0.55, b.val_hi = 1.0;
  b.background = BackgroundStyle::Grain;
  b.noise_sigma = 8;
  b.min_objects = 2, b.max_objects = 6;
  b.jpeg = true;
  b.jpeg_quality = 90;
  s.domains.push_back(b);

  DomainSpec c;
  c.name = "shapes_c";
  c.class_names = {"background", "shape", "triangle", "ring", "star"};
  c.class_concepts = {{Concept::Background},
                      {Concept::Circle, Concept::Square, Concept::StripedCircle},
                      {Concept::Triangle},
                      {Concept::Ring},
                      {Concept::Star}};
  c.hue_lo = 0, c.hue_hi = 360, c.sat_lo = 0.0, c.sat_hi = 0.15, c.val_lo = 0.12, c.val_hi = 0.92;
  c.cast_strength = 0.15;
  c.background = BackgroundStyle::Blotchy;
  c.noise_sigma = 12;
  c.min_objects = 2, c.max_objects = 5;
  c.jpeg = true;
  c.jpeg_quality = 75;
  s.domains.push_back(c);
  return s;
}

GeneratedSpec world_domains(uint64_t seed, int width, int height, int train_images, int val_images, int test_images) {
  GeneratedSpec s;
  s.seed = seed;
  s.width = width;
  s.height = height;
  s.train_images = train_images;
  s.val_images = val_images;
  s.test_images = test_images;
  using C = Concept;
  // The world: what every pretraining domain shares.
  DomainSpec world;
  world.hue_lo = 0, world.hue_hi = 360, world.sat_lo = 0.35, world.sat_hi = 0.95, world.val_lo = 0.35, world.val_hi = 0.95;
  world.background = BackgroundStyle::Gradient;
  world.noise_sigma = 6;
  world.balance_classes = true;

  DomainSpec a = world;
  a.name = "world_a";
  a.class_names = {"background", "round", "box", "triangle", "ring", "star"};
  a.class_concepts = {{C::Background}, {C::Circle, C::StripedCircle}, {C::Square, C::CheckerSquare}, {C::Triangle}, {C::Ring},
                      {C::Star}};
  a.unlabeled_concepts = {C::Bar, C::Blob, C::Cross, C::Ground};
  a.min_objects = 2, a.max_objects = 5;
  a.ignore_border = true;
  s.domains.push_back(a);

  DomainSpec b = world;
  b.name = "world_b";
  b.class_names = {"background", "ground", "circle", "striped_circle", "square", "checker_square",
                   "triangle",   "ring",   "bar",    "blob",           "cross",  "star"};
  b.class_concepts = {{C::Background}, {C::Ground},   {C::Circle}, {C::StripedCircle}, {C::Square}, {C::CheckerSquare},
                      {C::Triangle},   {C::Ring},     {C::Bar},    {C::Blob},          {C::Cross},  {C::Star}};
  b.min_objects = 3, b.max_objects = 7;
  b.min_size = 0.10, b.max_size = 0.26;
  b.jpeg = true, b.jpeg_quality = 90;
  s.domains.push_back(b);

  DomainSpec c = world;
  c.name = "world_c";
  c.class_names = {"background", "ground", "round", "angular", "triangle", "cross"};
  c.class_concepts = {{C::Background}, {C::Ground}, {C::Circle, C::StripedCircle, C::Ring},
                      {C::Square, C::CheckerSquare, C::Bar}, {C::Triangle}, {C::Cross}};
  c.unlabeled_concepts = {C::Star, C::Blob};
  c.sat_lo = 0.2, c.sat_hi = 0.7, c.cast_strength = 0.1;
  c.background = BackgroundStyle::Blotchy;
  c.noise_sigma = 10;
  c.min_objects = 2, c.max_objects = 5;
  c.jpeg = true, c.jpeg_quality = 80;
  s.domains.push_back(c);

  DomainSpec i = world;
  i.name = "world_i";
  i.class_names = {"background", "circle", "striped_circle", "square", "checker_square", "triangle",
                   "ring",       "bar",    "blob",           "cross",  "star"};
  i.class_concepts = {{C::Background}, {C::Circle}, {C::StripedCircle}, {C::Square}, {C::CheckerSquare}, {C::Triangle},
                      {C::Ring},       {C::Bar},    {C::Blob},          {C::Cross},  {C::Star}};
  i.unlabeled_concepts = {C::Ground};
  i.min_objects = 1, i.max_objects = 1;
  i.min_size = 0.22, i.max_size = 0.38;
  i.train_factor = 8;
  i.centre_spread = 0.4;
  i.jpeg = true, i.jpeg_quality = 90;
  s.domains.push_back(i);
  return s;
}

namespace {

uint64_t mix(uint64_t h, uint64_t v) {
  uint64_t z = h ^ (v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2));
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t hash_string(const std::string& s) {  // FNV-1a
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

struct Rgb {
  double r = 0, g = 0, b = 0;
};
Rgb lerp(const Rgb& a, const Rgb& b, double t) { return {a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t}; }
double distance(const Rgb& a, const Rgb& b) {
  return std::sqrt((a.r - b.r) * (a.r - b.r) + (a.g - b.g) * (a.g - b.g) + (a.b - b.b) * (a.b - b.b));
}

Rgb hsv(double h_deg, double s, double v) {
  double h = std::fmod(std::fmod(h_deg, 360.0) + 360.0, 360.0) / 60.0;
  int i = int(std::floor(h)) % 6;
  double f = h - std::floor(h);
  double p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  double r, g, b;
  switch (i) {
    case 0: r = v, g = t, b = p; break;
    case 1: r = q, g = v, b = p; break;
    case 2: r = p, g = v, b = t; break;
    case 3: r = p, g = q, b = v; break;
    case 4: r = t, g = p, b = v; break;
    default: r = v, g = p, b = q; break;
  }
  return {r * 255, g * 255, b * 255};
}

// Smooth random field in [0, 1): random values on a grid of `cell` pixels, interpolated with smoothstep.
class ValueNoise {
 public:
  ValueNoise(Generator& g, int width, int height, double cell) : cell_(std::max(cell, 1.0)) {
    gw_ = int(width / cell_) + 2;
    gh_ = int(height / cell_) + 2;
    v_.resize(size_t(gw_) * size_t(gh_));
    for (auto& x : v_) x = g.uniform();
  }
  double at(double x, double y) const {
    double fx = x / cell_, fy = y / cell_;
    int ix = std::clamp(int(fx), 0, gw_ - 2), iy = std::clamp(int(fy), 0, gh_ - 2);
    double tx = smooth(fx - ix), ty = smooth(fy - iy);
    auto g = [&](int a, int b) { return v_[size_t(b) * size_t(gw_) + size_t(a)]; };
    double top = g(ix, iy) + (g(ix + 1, iy) - g(ix, iy)) * tx;
    double bot = g(ix, iy + 1) + (g(ix + 1, iy + 1) - g(ix, iy + 1)) * tx;
    return top + (bot - top) * ty;
  }

 private:
  static double smooth(double t) { return t * t * (3 - 2 * t); }
  double cell_;
  int gw_, gh_;
  std::vector<double> v_;
};

struct Scene {
  const DomainSpec& d;
  Generator& g;
  int w, h;
  double unit;             // pixels per "64-pixel image" unit: textures and sizes scale with it
  Rgb cast{1, 1, 1};
  std::vector<Rgb> pix;    // (H, W)
  std::vector<uint8_t> label;

  Rgb colour() {
    double hue = g.uniform(d.hue_lo, d.hue_hi);
    Rgb c = hsv(hue, g.uniform(d.sat_lo, d.sat_hi), g.uniform(d.val_lo, d.val_hi));
    return {std::min(255.0, c.r * cast.r), std::min(255.0, c.g * cast.g), std::min(255.0, c.b * cast.b)};
  }
  // A colour at least min_dist away from `from` (best of 12 tries).
  Rgb colour_away_from(const Rgb& from, double min_dist) {
    Rgb best = colour();
    for (int t = 0; t < 12 && distance(best, from) < min_dist; ++t) {
      Rgb c = colour();
      if (distance(c, from) > distance(best, from)) best = c;
    }
    return best;
  }
};

void paint_background(Scene& s, Rgb& mean) {
  Rgb c1 = s.colour(), c2 = s.colour_away_from(c1, 40);
  const int w = s.w, h = s.h;
  switch (s.d.background) {
    case BackgroundStyle::Gradient: {
      double a = s.g.uniform(0, 2 * M_PI), ca = std::cos(a), sa = std::sin(a);
      ValueNoise mottle(s.g, w, h, 16 * s.unit);
      double span = std::abs(ca) * w + std::abs(sa) * h, base = std::min(0.0, ca * w) + std::min(0.0, sa * h);
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
          double t = ((x + 0.5) * ca + (y + 0.5) * sa - base) / span;
          Rgb c = lerp(c1, c2, std::clamp(t, 0.0, 1.0));
          double m = (mottle.at(x, y) - 0.5) * 36;
          s.pix[size_t(y) * size_t(w) + size_t(x)] = {c.r + m, c.g + m, c.b + m};
        }
      break;
    }
    case BackgroundStyle::Grain: {
      double a = s.g.uniform(0, M_PI), period = s.g.uniform(6, 10) * s.unit;
      ValueNoise grain(s.g, w, h, 2 * s.unit);
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
          double u = (x + 0.5) * std::cos(a) + (y + 0.5) * std::sin(a);
          double stripe = std::sin(2 * M_PI * u / period) * 10;
          double gr = (grain.at(x, y) - 0.5) * 40;
          Rgb c = lerp(c1, c2, 0.25);
          s.pix[size_t(y) * size_t(w) + size_t(x)] = {c.r + stripe + gr, c.g + stripe + gr, c.b + stripe + gr};
        }
      break;
    }
    case BackgroundStyle::Blotchy: {
      ValueNoise blotch(s.g, w, h, 8 * s.unit);
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
          double t = blotch.at(x, y);
          t = std::clamp((t - 0.5) * 2.2 + 0.5, 0.0, 1.0);
          s.pix[size_t(y) * size_t(w) + size_t(x)] = lerp(c1, c2, t);
        }
      break;
    }
  }
  mean = lerp(c1, c2, 0.5);
}

// The ground ("stuff"): below a wavy horizon at 45..75% of the height, a grainy texture in a colour of
// its own; labelled `cls`.
void paint_ground(Scene& s, uint8_t cls) {
  Rgb c = s.colour();
  double level = s.g.uniform(0.45, 0.75) * s.h, amp = s.g.uniform(1.5, 4) * s.unit;
  double period = s.g.uniform(20, 40) * s.unit, phase = s.g.uniform(0, 2 * M_PI);
  ValueNoise grain(s.g, s.w, s.h, 2 * s.unit);
  for (int y = 0; y < s.h; ++y)
    for (int x = 0; x < s.w; ++x) {
      if (y + 0.5 < level + amp * std::sin(2 * M_PI * (x + 0.5) / period + phase)) continue;
      double gr = (grain.at(x, y) - 0.5) * 50;
      size_t i = size_t(y) * size_t(s.w) + size_t(x);
      s.pix[i] = {c.r + gr, c.g + gr, c.b + gr};
      s.label[i] = cls;
    }
}

// A shape in its own frame: centre (cx, cy), rotation, inside test on local coordinates (u, v).
struct Shape {
  Concept kind = Concept::Circle;
  double cx = 0, cy = 0, r = 1, angle = 0;
  double inner = 0;                 // ring: inner radius
  double half_w = 0, half_h = 0;    // square, bar
  double arm = 0;                   // cross: arm half-width
  std::vector<double> poly;         // triangle, star: x0 y0 x1 y1 ... (local)
  double blob_a[3] = {0, 0, 0}, blob_p[3] = {0, 0, 0};
  // Texture: stripes, checker, dots; c1 base colour, c2 pattern colour.
  Rgb c1, c2;
  double period = 4, tex_angle = 0;

  double extent() const { return r * 1.4 + 1; }

  bool inside(double u, double v) const {
    switch (kind) {
      case Concept::Circle:
      case Concept::StripedCircle: return u * u + v * v < r * r;
      case Concept::Ring: {
        double q = u * u + v * v;
        return q < r * r && q > inner * inner;
      }
      case Concept::Square:
      case Concept::CheckerSquare:
      case Concept::Bar: return std::abs(u) < half_w && std::abs(v) < half_h;
      case Concept::Cross:
        return (std::abs(u) < r && std::abs(v) < arm) || (std::abs(v) < r && std::abs(u) < arm);
      case Concept::Triangle:
      case Concept::Star: {
        bool in = false;
        size_t n = poly.size() / 2;
        for (size_t i = 0, j = n - 1; i < n; j = i++) {
          double xi = poly[2 * i], yi = poly[2 * i + 1], xj = poly[2 * j], yj = poly[2 * j + 1];
          if ((yi > v) != (yj > v) && u < (xj - xi) * (v - yi) / (yj - yi) + xi) in = !in;
        }
        return in;
      }
      case Concept::Blob: {
        double phi = std::atan2(v, u);
        double rho = r * (1 + blob_a[0] * std::sin(2 * phi + blob_p[0]) + blob_a[1] * std::sin(3 * phi + blob_p[1]) +
                          blob_a[2] * std::sin(5 * phi + blob_p[2]));
        return u * u + v * v < rho * rho;
      }
      case Concept::Background:
      case Concept::Ground: return false;
    }
    return false;
  }

  Rgb texture(double u, double v) const {
    switch (kind) {
      case Concept::StripedCircle: {
        double t = u * std::cos(tex_angle) + v * std::sin(tex_angle);
        double f = t / period - std::floor(t / period);
        return f < 0.5 ? c1 : c2;
      }
      case Concept::CheckerSquare: {
        long a = long(std::floor(u / period)), b = long(std::floor(v / period));
        return ((a + b) & 1) ? c2 : c1;
      }
      case Concept::Blob: {
        double du = u - period * std::floor(u / period) - period / 2, dv = v - period * std::floor(v / period) - period / 2;
        return du * du + dv * dv < (period * 0.32) * (period * 0.32) ? c2 : c1;
      }
      default: return c1;
    }
  }
};

Shape make_shape(Scene& s, Concept kind, const Rgb& bg_mean) {
  Shape sh;
  sh.kind = kind;
  const double size = std::min(s.w, s.h);
  sh.r = s.g.uniform(s.d.min_size, s.d.max_size) * size;
  const double f = s.d.centre_spread;
  sh.cx = s.g.uniform(s.w * (1 - f) / 2, s.w * (1 + f) / 2);
  sh.cy = s.g.uniform(s.h * (1 - f) / 2, s.h * (1 + f) / 2);
  sh.angle = s.g.uniform(0, 2 * M_PI);
  sh.c1 = s.colour_away_from(bg_mean, 60);
  sh.c2 = s.colour_away_from(sh.c1, 70);
  sh.period = std::max(2.5, s.g.uniform(4, 7) * s.unit);
  sh.tex_angle = s.g.uniform(0, M_PI);
  switch (kind) {
    case Concept::Ring: sh.inner = sh.r * s.g.uniform(0.45, 0.65); break;
    case Concept::Square:
    case Concept::CheckerSquare:
      sh.half_w = sh.half_h = sh.r * 0.85;
      sh.period = std::max(2.5, s.g.uniform(3, 5) * s.unit);
      break;
    case Concept::Bar: {
      double aspect = s.g.uniform(3.5, 7);
      sh.half_w = sh.r * 1.3;
      sh.half_h = std::max(1.5, sh.half_w / aspect);
      break;
    }
    case Concept::Cross: sh.arm = sh.r * s.g.uniform(0.25, 0.35); break;
    case Concept::Triangle:
      for (int k = 0; k < 3; ++k) {
        double a = k * 2 * M_PI / 3 + s.g.uniform(-0.25, 0.25);
        double rr = sh.r * s.g.uniform(0.95, 1.2);
        sh.poly.push_back(rr * std::cos(a));
        sh.poly.push_back(rr * std::sin(a));
      }
      break;
    case Concept::Star:
      for (int k = 0; k < 10; ++k) {
        double a = k * M_PI / 5, rr = k % 2 == 0 ? sh.r * 1.1 : sh.r * 0.45;
        sh.poly.push_back(rr * std::cos(a));
        sh.poly.push_back(rr * std::sin(a));
      }
      break;
    case Concept::Blob:
      for (int k = 0; k < 3; ++k) {
        sh.blob_a[k] = s.g.uniform(0.05, 0.18);
        sh.blob_p[k] = s.g.uniform(0, 2 * M_PI);
      }
      sh.period = std::max(3.0, s.g.uniform(5, 7) * s.unit);
      break;
    default: break;
  }
  return sh;
}

void draw(Scene& s, const Shape& sh, uint8_t cls) {
  const double e = sh.extent(), ca = std::cos(sh.angle), sa = std::sin(sh.angle);
  const int x0 = std::max(0, int(sh.cx - e)), x1 = std::min(s.w - 1, int(sh.cx + e));
  const int y0 = std::max(0, int(sh.cy - e)), y1 = std::min(s.h - 1, int(sh.cy + e));
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) {
      double dx = x + 0.5 - sh.cx, dy = y + 0.5 - sh.cy;
      double u = dx * ca + dy * sa, v = -dx * sa + dy * ca;  // rotate by -angle
      if (!sh.inside(u, v)) continue;
      size_t i = size_t(y) * size_t(s.w) + size_t(x);
      s.pix[i] = sh.texture(u, v);
      s.label[i] = cls;
    }
}

void check_domain(const DomainSpec& d) {
  MDP_CHECK(!d.name.empty() && d.name.find('/') == std::string::npos, "generated: bad domain name '{}'", d.name);
  MDP_CHECK(d.class_names.size() >= 2 && d.class_names.size() <= 255, "generated: domain {} has {} classes, expected 2..255",
            d.name, d.class_names.size());
  MDP_CHECK(d.class_concepts.size() == d.class_names.size(), "generated: domain {} has {} class names but {} concept lists",
            d.name, d.class_names.size(), d.class_concepts.size());
  MDP_CHECK(d.class_concepts[0] == std::vector<Concept>{Concept::Background},
            "generated: domain {}: class 0 must be the background alone", d.name);
  std::set<Concept> seen;
  for (size_t c = 1; c < d.class_concepts.size(); ++c) {
    MDP_CHECK(!d.class_concepts[c].empty(), "generated: domain {}: class {} has no concept", d.name, d.class_names[c]);
    for (Concept k : d.class_concepts[c])
      MDP_CHECK(k != Concept::Background && seen.insert(k).second,
                "generated: domain {}: concept {} is in two classes (or background in a class)", d.name, concept_name(k));
  }
  for (Concept k : d.unlabeled_concepts)
    MDP_CHECK(k != Concept::Background && seen.insert(k).second,
              "generated: domain {}: unlabeled concept {} is also in a class (or listed twice)", d.name, concept_name(k));
  MDP_CHECK(d.centre_spread > 0 && d.centre_spread <= 1, "generated: domain {}: centre_spread {} must be in (0, 1]", d.name,
            d.centre_spread);
  MDP_CHECK(d.train_factor >= 1, "generated: domain {}: train_factor {} must be at least 1", d.name, d.train_factor);
  MDP_CHECK(d.min_objects >= 0 && d.max_objects >= d.min_objects, "generated: domain {}: objects {}..{}", d.name,
            d.min_objects, d.max_objects);
  MDP_CHECK(d.min_size > 0 && d.max_size >= d.min_size, "generated: domain {}: sizes {}..{}", d.name, d.min_size,
            d.max_size);
}

std::string image_id(const std::string& split, int i) { return fmt::format("{}_{:05d}", split, i); }

// spec.txt: everything the files depend on (bump the version when the renderer changes).
std::string spec_text(const GeneratedSpec& spec, const DomainSpec& d) {
  std::string classes;
  for (size_t c = 0; c < d.class_names.size(); ++c) {
    classes += fmt::format("{}{}:", c ? ", " : "", d.class_names[c]);
    for (size_t k = 0; k < d.class_concepts[c].size(); ++k)
      classes += fmt::format("{}{}", k ? "+" : "", concept_name(d.class_concepts[c][k]));
  }
  std::string extra;  // what version 1 did not have, only where it is used (older files stay valid)
  if (!d.unlabeled_concepts.empty()) {
    extra += "unlabeled =";
    for (Concept k : d.unlabeled_concepts) extra += std::string(" ") + concept_name(k);
    extra += "\n";
  }
  if (d.train_factor != 1) extra += fmt::format("train_factor = {}\n", d.train_factor);
  if (d.centre_spread != 1.0) extra += fmt::format("centre_spread = {}\n", d.centre_spread);
  if (spec.test_images > 0) extra += fmt::format("test_images = {}\n", spec.test_images);
  if (d.balance_classes) extra += "balance_classes = true\n";
  return fmt::format(
      "generator = mdp data/generated.cpp version 1\nseed = {}\nwidth = {}\nheight = {}\ntrain_images = {}\n"
      "val_images = {}\ndomain = {}\nclasses = {}\nbackground = {}\nnoise_sigma = {}\nobjects = {}..{}\n"
      "size = {}..{}\nhue = {}..{}\nsaturation = {}..{}\nvalue = {}..{}\ncast = {}\nignore_border = {}\n"
      "format = {}\n",
      spec.seed, spec.width, spec.height, spec.train_images, spec.val_images, d.name, classes, int(d.background),
      d.noise_sigma, d.min_objects, d.max_objects, d.min_size, d.max_size, d.hue_lo, d.hue_hi, d.sat_lo, d.sat_hi,
      d.val_lo, d.val_hi, d.cast_strength, d.ignore_border, d.jpeg ? fmt::format("jpeg q{}", d.jpeg_quality) : "png") +
         extra;
}

void write_text(const fs::path& path, const std::string& text) {
  write_file_atomic(path.string(), reinterpret_cast<const uint8_t*>(text.data()), text.size(), "generated");
}

}  // namespace

RenderedScene render_scene(const GeneratedSpec& spec, const DomainSpec& d, const std::string& split, int index) {
  MDP_CHECK(spec.width >= 8 && spec.height >= 8, "generated: image size {}x{} must be at least 8x8", spec.width,
            spec.height);
  Generator g(mix(mix(mix(spec.seed, hash_string(d.name)), hash_string(split)), uint64_t(index)));
  Scene s{d, g, spec.width, spec.height, std::min(spec.width, spec.height) / 64.0, Rgb{1, 1, 1}, {}, {}};
  s.pix.resize(size_t(s.w) * size_t(s.h));
  s.label.assign(size_t(s.w) * size_t(s.h), 0);
  if (d.cast_strength > 0)
    s.cast = {1 + g.uniform(-1, 1) * d.cast_strength, 1 + g.uniform(-1, 1) * d.cast_strength,
              1 + g.uniform(-1, 1) * d.cast_strength};

  Rgb bg_mean;
  paint_background(s, bg_mean);

  // The object concepts in groups: one per class, then the unlabeled ones (class 0). Ground is a region,
  // painted before the objects, not an object.
  using Drawable = std::pair<Concept, uint8_t>;
  std::vector<std::vector<Drawable>> groups;
  int ground = -1;  // the ground's class, when the domain draws it
  for (size_t c = 1; c < d.class_concepts.size(); ++c) {
    groups.emplace_back();
    for (Concept k : d.class_concepts[c]) {
      if (k == Concept::Ground) ground = int(c);
      else groups.back().emplace_back(k, uint8_t(c));
    }
  }
  groups.emplace_back();
  for (Concept k : d.unlabeled_concepts) {
    if (k == Concept::Ground) ground = 0;
    else groups.back().emplace_back(k, uint8_t(0));
  }
  std::erase_if(groups, [](const std::vector<Drawable>& group) { return group.empty(); });
  std::vector<Drawable> drawable;  // every object concept, for uniform sampling over concepts
  for (const auto& group : groups) drawable.insert(drawable.end(), group.begin(), group.end());
  if (ground >= 0 && g.uniform(0, 1) < 0.6) paint_ground(s, uint8_t(ground));
  const int n = int(g.randint(d.min_objects, d.max_objects + 1));
  for (int o = 0; o < n; ++o) {
    Drawable pick;
    if (d.balance_classes) {
      const auto& group = groups[size_t(g.randint(0, int64_t(groups.size())))];
      pick = group[size_t(g.randint(0, int64_t(group.size())))];
    } else {
      pick = drawable[size_t(g.randint(0, int64_t(drawable.size())))];
    }
    draw(s, make_shape(s, pick.first, bg_mean), pick.second);
  }

  RenderedScene out;
  out.label = s.label;
  if (d.ignore_border) {
    for (int y = 0; y < s.h; ++y)
      for (int x = 0; x < s.w; ++x) {
        size_t i = size_t(y) * size_t(s.w) + size_t(x);
        uint8_t v = s.label[i];
        if (v == 0) continue;
        bool edge = (x > 0 && s.label[i - 1] != v) || (x + 1 < s.w && s.label[i + 1] != v) ||
                    (y > 0 && s.label[i - size_t(s.w)] != v) || (y + 1 < s.h && s.label[i + size_t(s.w)] != v);
        if (edge) out.label[i] = kIgnore;
      }
  }
  out.image = Image(s.w, s.h, 3);
  for (size_t i = 0; i < s.pix.size(); ++i) {
    const Rgb& p = s.pix[i];
    double c[3] = {p.r, p.g, p.b};
    for (int k = 0; k < 3; ++k) {
      double v = c[k] + g.normal() * d.noise_sigma;
      out.image.pixels[3 * i + size_t(k)] = uint8_t(std::clamp(std::lround(v), 0L, 255L));
    }
  }
  return out;
}

void write_generated(const GeneratedSpec& spec, const std::string& root) {
  MDP_CHECK(!spec.domains.empty(), "generated: the spec has no domain");
  MDP_CHECK(spec.train_images >= 0 && spec.val_images >= 0 && spec.test_images >= 0,
            "generated: negative image counts {} / {} / {}", spec.train_images, spec.val_images, spec.test_images);
  std::set<std::string> names;
  for (const auto& d : spec.domains) {
    check_domain(d);
    MDP_CHECK(names.insert(d.name).second, "generated: two domains are named {}", d.name);
  }
  const Palette palette = voc_colormap(256);
  for (const auto& d : spec.domains) {
    fs::path dir = fs::path(root) / d.name;
    std::error_code ec;
    for (const char* sub : {"images", "labels", "splits"}) {
      fs::create_directories(dir / sub, ec);
      MDP_CHECK(!ec, "generated: cannot create {} ({})", (dir / sub).string(), ec.message());
    }
    fs::remove(dir / "spec.txt", ec);  // written last: a directory without it is incomplete
    const std::string image_suffix = d.jpeg ? ".jpg" : ".png";
    std::vector<std::pair<std::string, int>> splits = {{"train", spec.train_images * d.train_factor}, {"val", spec.val_images}};
    if (spec.test_images > 0) splits.emplace_back("test", spec.test_images);
    for (const auto& [split, count] : splits) {
      std::string list;
      for (int i = 0; i < count; ++i) {
        RenderedScene scene = render_scene(spec, d, split, i);
        std::string id = image_id(split, i);
        std::string image_path = (dir / "images" / (id + image_suffix)).string();
        if (d.jpeg) write_jpeg(image_path, scene.image, d.jpeg_quality);
        else write_png(image_path, scene.image);
        Image label(spec.width, spec.height, 1);
        label.pixels = std::move(scene.label);
        write_indexed_png((dir / "labels" / (id + ".png")).string(), label, palette);
        list += id + "\n";
      }
      write_text(dir / "splits" / (split + ".txt"), list);
    }
    std::string classes, pal, concepts;
    for (size_t c = 0; c < d.class_names.size(); ++c) {
      classes += d.class_names[c] + "\n";
      pal += fmt::format("{} {} {}\n", palette[c][0], palette[c][1], palette[c][2]);
      concepts += d.class_names[c] + ":";
      for (Concept k : d.class_concepts[c]) concepts += std::string(" ") + concept_name(k);
      concepts += "\n";
    }
    write_text(dir / "classes.txt", classes);
    write_text(dir / "palette.txt", pal);
    write_text(dir / "concepts.txt", concepts);
    write_text(dir / "spec.txt", spec_text(spec, d));
    FolderOptions layout;
    layout.name = d.name;
    layout.root = dir.string();
    layout.image_dir = "images";
    layout.label_dir = "labels";
    layout.image_suffix = image_suffix;
    layout.label_suffix = ".png";
    layout.split_file = "splits/{split}.txt";
    layout.classes_file = "classes.txt";
    layout.palette_file = "palette.txt";
    write_folder_layout(layout);
  }
}

bool ensure_generated(const GeneratedSpec& spec, const std::string& root) {
  bool complete = !spec.domains.empty();
  for (const auto& d : spec.domains) {
    fs::path path = fs::path(root) / d.name / "spec.txt";
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      complete = false;
      break;
    }
    std::vector<uint8_t> bytes = read_file_bytes(path.string(), "generated");
    complete = complete && std::string(bytes.begin(), bytes.end()) == spec_text(spec, d);
  }
  if (complete) return false;
  write_generated(spec, root);
  return true;
}

FolderOptions generated_domain_options(const std::string& root, const std::string& domain, const std::string& split) {
  return read_folder_layout((fs::path(root) / domain).string(), split);
}

}  // namespace mdp::data
