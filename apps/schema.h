// schema.h: the config schemas of `mdp train` and `mdp pretrain`: every key, its type, its default and
// its help line (apps/config.h reads a YAML file and `--set` values against one). Only data: what each
// key does is in the command that reads it (apps/train.cpp, apps/pretrain.cpp).
#pragma once
#include <vector>

#include "apps/config.h"

namespace mdp::apps {

// The keys both commands share: data.*, model.*, eval.*.
std::vector<Key> data_keys();
std::vector<Key> model_keys();
std::vector<Key> eval_keys();

std::vector<Key> train_schema();     // mdp train: data, model, train.*, eval
std::vector<Key> pretrain_schema();  // mdp pretrain: data (several datasets), model, pretrain.*, mdp.*, train.*

}  // namespace mdp::apps
