// engine.h: the backward pass. Walks the graph from a tensor in reverse topological order without
// recursion, sums the gradients of a node used several times, accumulates into leaves' .grad and frees
// the graph as it goes (a second backward through it is an error).
#pragma once
#include "node.h"

namespace mdp {

// root must be a scalar unless grad (root's shape) is given.
void backward(const Tensor& root, const Tensor& grad = Tensor());

}  // namespace mdp
