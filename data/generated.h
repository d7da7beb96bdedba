// generated.h: a synthetic multi-domain segmentation dataset, rendered deterministically from a seed and
// WRITTEN TO DISK in the generic folder layout (folder.h), so it is read back by the same reader as any
// real dataset. Scenes are textured shapes on textured backgrounds; "domains" differ in colour
// statistics, textures, shape vocabulary and taxonomy. It is the embedded default dataset of the demo
// and of the multi-dataset pretraining experiments: learnable by a small CNN on a CPU in minutes, but not
// trivially (noise, occlusion, shapes cut by the border, texture-defined classes, colours that carry no
// class information). Not a benchmark and not photo-realistic.
//
// Concepts: the visual things a scene can hold. A class of a domain is one concept or the union of
// several (a coarse class). Shapes get their colours from the domain's colour distribution at random,
// independently of their concept, so a class is decided by shape and texture, never by colour alone.
//   Circle          a filled disc, flat colour
//   Square          a filled square at a random rotation, flat colour
//   Triangle        a filled triangle (jittered equilateral), flat colour
//   Ring            an annulus, flat colour
//   StripedCircle   a disc filled with stripes (random angle and period): a Circle told apart by texture
//   CheckerSquare   a square filled with a checkerboard: a Square told apart by texture
//   Bar             a long thin rectangle (aspect 3.5..7), flat colour: a Square told apart by elongation
//   Blob            a smooth irregular shape filled with dots
//   Cross           a plus sign, flat colour
//   Star            a five-pointed star, flat colour
//   Ground          "stuff": the lower part of the scene below a wavy horizon, grainy, in its own colour
//                   (drawn under the objects in about 60% of the scenes of a domain that has it)
//
// demo_domains() (what each domain contains; class 0 is always the background):
//   shapes_a  pretraining 1. Saturated colours of any hue on smooth two-colour gradients with soft
//             low-frequency mottling, light pixel noise; PNG images; a 1-pixel ignore (255) border around
//             every object, as VOC draws one. Classes: background, circle, square, triangle, ring,
//             striped_circle.
//   shapes_b  pretraining 2. Pastel cool colours (hue 150..270 degrees, low saturation) on grainy
//             backgrounds with faint stripes, stronger noise; JPEG images (quality 90). Its own names
//             and order for shared concepts: background, bar, disk (= shapes_a circle), checker_box,
//             blob, cross; bar, checker_box, blob and cross exist in no other domain.
//   shapes_c  downstream. Nearly grey colours with a random colour cast, blotchy mid-frequency
//             backgrounds, strong noise, JPEG (quality 75). Taxonomy overlapping shapes_a but coarser:
//             background, shape (= shapes_a circle + square + striped_circle merged), triangle, ring,
//             star (star exists only here).
//
// world_domains() (the benchmark of `mdp experiment paper-ablations`, modelled on the paper's setting):
// one visual world (the same colour statistics, backgrounds, noise and concepts in every pretraining
// domain), several taxonomies, as VOC and ADE20K are one world of photographs labelled differently.
// Every scene may hold every concept; a domain's classes say which of them it names. Objects are drawn
// class-balanced (balance_classes): a class covering two concepts is not twice as frequent, and a domain's
// unlabeled concepts together are as frequent as one class.
//   world_a  VOC analogue: few, coarse object classes, much left to background (bar, blob, cross and the
//            ground are drawn but labelled background); a 1-pixel ignore border; PNG. Classes: background,
//            round (circle + striped_circle), box (square + checker_square), triangle, ring, star.
//   world_b  ADE20K analogue: every concept its own class, stuff included, crowded scenes; JPEG q90.
//            Classes: background, ground, circle, striped_circle, square, checker_square, triangle, ring,
//            bar, blob, cross, star.
//   world_c  the held-out downstream domain (the Cityscapes case): a real but moderate shift (blotchy
//            backgrounds, weaker saturation, a colour cast, more noise, JPEG q80) and a taxonomy of its
//            own: background, ground, round (circle + striped_circle + ring), angular (square +
//            checker_square + bar), triangle, cross; star and blob are background there.
//   world_i  ImageNet analogue: object-centric scenes (one large object) of the same world, 8 times as
//            many training images as the others, objects near the centre, meant for image-level labels (the class of its object;
//            pretrain.method classification reads nothing else of the label map). Classes: background
//            and the ten object concepts.
// Learnability (the experiment's DeepLabV3 on ResNet-18 width 1/2, from scratch, AdamW 1e-3, batch 8,
// 2400 iterations; val mIoU at 400/800/.../2400) is measured and written down in docs/paper-ablations.md.
// Scratch training sits on the background plateau for the first ~800 iterations and then leaves it
// (world_a: 16.3 / 17.8 / 22.2 / 27.1 / 32.8 / 33.9, every class above 10 IoU at 2400).
//
// Measured difficulty (64x64, 400 training images per domain, a 6-layer 32-channel dilated CNN trained
// from scratch with AdamW 3e-3, batches of 16, flips only, 2 CPU cores): shapes_a reaches 0.53 val mIoU
// after 900 steps, shapes_c 0.49 after 1500 (both still rising); striped_circle and background are
// learnt first, circle vs square and triangle/star take longest.
//
// Layout written under <root>/<domain>/: images/<split>_<NNNNN>.png|.jpg, labels/<same id>.png (palette
// PNG), splits/<split>.txt, classes.txt, palette.txt, concepts.txt ("class: concept concept"),
// layout.txt (read_folder_layout) and spec.txt (the parameters it was made with).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "folder.h"

namespace mdp::data {

enum class Concept { Background, Circle, Square, Triangle, Ring, StripedCircle, CheckerSquare, Bar, Blob, Cross, Star, Ground };
const char* concept_name(Concept c);  // "circle", "striped_circle", ...

enum class BackgroundStyle {
  Gradient,  // two-colour linear gradient plus soft low-frequency mottling
  Grain,     // flat colour, faint stripes and coarse grain
  Blotchy,   // mid-frequency value noise between two colours
};

struct DomainSpec {
  std::string name;                             // directory and dataset name, e.g. "shapes_a"
  std::vector<std::string> class_names;         // class 0 must be the background
  std::vector<std::vector<Concept>> class_concepts;  // per class, the concepts it covers (class 0: Background)
  std::vector<Concept> unlabeled_concepts;      // drawn as well, but labelled background (class 0)
  int train_factor = 1;                         // this domain has train_factor * train_images training images
  double centre_spread = 1.0;                   // object centres fall in the middle centre_spread of each axis
  // Colours in HSV: hue range in degrees (may wrap past 360), saturation and value ranges in 0..1.
  double hue_lo = 0, hue_hi = 360, sat_lo = 0.5, sat_hi = 1.0, val_lo = 0.5, val_hi = 1.0;
  double cast_strength = 0;                     // a random per-image colour cast (0..1)
  BackgroundStyle background = BackgroundStyle::Gradient;
  double noise_sigma = 4;                       // per-pixel Gaussian noise (8-bit units)
  int min_objects = 2, max_objects = 5;
  // Object sampling. false: uniform over every concept (a class covering two concepts is drawn twice as
  // often). true: uniform over the classes, then over the class's concepts, with the unlabeled concepts as
  // one more group, so every class is equally frequent (the world_* domains; measured in docs/paper-ablations.md).
  bool balance_classes = false;
  double min_size = 0.12, max_size = 0.30;      // object radius as a fraction of min(width, height)
  bool ignore_border = false;                   // mark pixels next to a class change as ignore (255)
  bool jpeg = false;                            // images as JPEG (else PNG)
  int jpeg_quality = 90;
};

struct GeneratedSpec {
  uint64_t seed = 0;
  int width = 64, height = 64;                  // of every image; textures and shapes scale with it
  int train_images = 200, val_images = 50;      // per domain
  int test_images = 0;                          // a "test" split as well when > 0 (held out from tuning)
  std::vector<DomainSpec> domains;
};

// The three domains described above, with the given seed, size and counts.
GeneratedSpec demo_domains(uint64_t seed = 0, int width = 64, int height = 64, int train_images = 200,
                           int val_images = 50);

// The four domains of the paper-ablations benchmark described above.
GeneratedSpec world_domains(uint64_t seed = 0, int width = 64, int height = 64, int train_images = 240, int val_images = 60,
                            int test_images = 100);

// One rendered scene of a domain: an RGB image and its class ids (H * W, ignore 255). Pure function of
// (seed, domain name, split, index).
struct RenderedScene {
  Image image;
  std::vector<uint8_t> label;
};
RenderedScene render_scene(const GeneratedSpec& spec, const DomainSpec& domain, const std::string& split, int index);

// Renders and writes every domain of the spec under root (created when missing; existing files are
// overwritten). Requires a non-empty spec with valid domains (class 0 background, 2..255 classes, each
// non-background concept in one class at most). Same spec -> byte-identical files.
void write_generated(const GeneratedSpec& spec, const std::string& root);

// write_generated unless every domain under root already has a spec.txt equal to the one this spec
// writes (then the files are taken as made by this spec and left alone). Returns true when it wrote.
bool ensure_generated(const GeneratedSpec& spec, const std::string& root);

// How to read domain `domain` of a dataset written under root, split "train" or "val".
FolderOptions generated_domain_options(const std::string& root, const std::string& domain, const std::string& split);

}  // namespace mdp::data
