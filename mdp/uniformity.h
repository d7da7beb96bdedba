// uniformity.h: the uniformity loss of Wang & Isola ("Understanding Contrastive Representation Learning
// through Alignment and Uniformity on the Hypersphere", ICML 2020) on unit pixel embeddings, as a term a
// pretraining can add (PretrainStepOptions::uniformity; not the paper's MDP):
//
//   L_unif = log mean_{i != j} exp(-t ||z_i - z_j||^2) = log mean_{i != j} exp(2 t (z_i . z_j - 1))
//
// It is lowest when the embeddings spread over the sphere and 0 when they all coincide, so it pushes
// against the direction every pixel shares, which MDP's softmax over prototypes cannot see
// (docs/paper-ablations.md). Built from autograd ops (the gradient is autograd's). Deliberately not here:
// which pixels take part (pretrain_step samples them).
#pragma once
#include "../autograd/functions.h"

namespace mdp {

// z: (M, D) unit rows, M >= 2 -> 0-d loss, differentiable w.r.t. z.
Tensor uniformity_loss(const Tensor& z, double t = 2.0);

// Up to m distinct row indices of n, drawn uniformly without replacement with gen, in ascending order
// (all of them when n <= m): (min(n, m)) int64.
Tensor sample_rows(int64_t n, int64_t m, Generator& gen);

}  // namespace mdp
