// conv2d.cpp (reference): direct convolution (cross-correlation, as PyTorch) with stride, padding,
// dilation and groups, and its three gradients, by plain nested loops.
#include "tensor/reference/reference_backend.h"
#include "tensor/strided.h"

namespace mdp {
namespace {
struct Geometry {
  int64_t N, C, H, W, O, Cg, KH, KW, Ho, Wo, G, Og;
  Geometry(const Shape& x, const Shape& w, const Shape& y, int64_t groups)
      : N(x[0]), C(x[1]), H(x[2]), W(x[3]), O(w[0]), Cg(w[1]), KH(w[2]), KW(w[3]), Ho(y[2]), Wo(y[3]),
        G(groups), Og(w[0] / groups) {}
};

// Calls f(x_index, w_index, y_index) for every multiply-add of the convolution.
template <class F>
void for_each_tap(const Geometry& g, const ops::Conv2dArgs& a, F&& f) {
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t o = 0; o < g.O; ++o) {
      int64_t grp = o / g.Og;
      for (int64_t oh = 0; oh < g.Ho; ++oh)
        for (int64_t ow = 0; ow < g.Wo; ++ow) {
          int64_t yi = ((n * g.O + o) * g.Ho + oh) * g.Wo + ow;
          for (int64_t c = 0; c < g.Cg; ++c)
            for (int64_t kh = 0; kh < g.KH; ++kh) {
              int64_t ih = oh * a.stride[0] - a.padding[0] + kh * a.dilation[0];
              if (ih < 0 || ih >= g.H) continue;
              for (int64_t kw = 0; kw < g.KW; ++kw) {
                int64_t iw = ow * a.stride[1] - a.padding[1] + kw * a.dilation[1];
                if (iw < 0 || iw >= g.W) continue;
                int64_t xi = ((n * g.C + grp * g.Cg + c) * g.H + ih) * g.W + iw;
                int64_t wi = ((o * g.Cg + c) * g.KH + kh) * g.KW + kw;
                f(size_t(xi), size_t(wi), size_t(yi));
              }
            }
        }
    }
}
}  // namespace

void ReferenceBackend::conv2d(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b,
                              const ops::Conv2dArgs& a) {
  Geometry g(x.shape(), w.shape(), y.shape(), a.groups);
  auto vx = read_strided(x), vw = read_strided(w);
  std::vector<double> vy(size_t(y.numel()), 0.0);
  for_each_tap(g, a, [&](size_t xi, size_t wi, size_t yi) { vy[yi] += vx[xi] * vw[wi]; });
  if (b.defined()) {
    auto vb = read_strided(b);
    for (size_t i = 0; i < vy.size(); ++i) vy[i] += vb[(i / size_t(g.Ho * g.Wo)) % size_t(g.O)];
  }
  write_strided(y, vy);
}

void ReferenceBackend::conv2d_backward(const ops::Conv2dGrads& out, const Tensor& dy, const Tensor& x,
                                       const Tensor& w, const ops::Conv2dArgs& a) {
  Geometry g(x.shape(), w.shape(), dy.shape(), a.groups);
  auto vx = read_strided(x), vw = read_strided(w), vdy = read_strided(dy);
  std::vector<double> dx(vx.size(), 0.0), dw(vw.size(), 0.0);
  for_each_tap(g, a, [&](size_t xi, size_t wi, size_t yi) {
    dx[xi] += vw[wi] * vdy[yi];
    dw[wi] += vx[xi] * vdy[yi];
  });
  if (out.dx.defined()) write_strided(out.dx, dx);
  if (out.dw.defined()) write_strided(out.dw, dw);
  if (out.db.defined()) {
    std::vector<double> db(size_t(g.O), 0.0);
    for (size_t i = 0; i < vdy.size(); ++i) db[(i / size_t(g.Ho * g.Wo)) % size_t(g.O)] += vdy[i];
    write_strided(out.db, db);
  }
}

}  // namespace mdp
