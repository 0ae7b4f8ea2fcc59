//! Kindling: train MNIST networks (the classic CNN, an RNN, an autoencoder) natively and in the
//! browser, with their cost in view.
//!
//! The same model and training code run on every device burn offers: `flex` on the CPU (native
//! and wasm) and WebGPU in the browser.
//!
//! The tree follows the run's story:
//!
//! - [`data`]: MNIST IDX files, validated; the order of batches; augmentation; the seeded
//!   generator shuffles and augmentations share.
//! - [`model`]: the seed CNN and its configuration; mixed precision; from a picture of a digit
//!   to ten probabilities.
//! - [`nets`]: every network a run can train, each a task: the CNN, the recurrent classifier,
//!   the autoencoder; what differs between them (model, loss, metric, FLOPs) and nothing else.
//! - [`kernels`]: which code runs each heavy operation: Kindling's WebGPU or CPU kernels, or
//!   burn's ops.
//! - [`training`]: what defines a run (its settings, checked; the recipe; optimizers and
//!   schedules; distillation), one step at a time, opening and continuing a run, evaluation and
//!   its views.
//! - [`inspect`]: inside the network: each layer's output for a digit, saliency and occlusion,
//!   the embedding map, training health (gradient norms, update ratios) and gradient clipping.
//! - [`cost`]: parameters and FLOPs, energy and CO₂e estimates, the ledger of what a run spent,
//!   run records and cards.
//! - [`store`]: the files: weights (f32, f16, int8) and checkpoints, with the optimizer's state.
//! - `web` (wasm): the browser's bindings; `bench` (native): `kindling bench`.

#[cfg(feature = "native")]
pub mod bench;
pub mod cost;
pub mod data;
pub mod inspect;
pub mod kernels;
pub mod model;
pub mod nets;
pub mod store;
pub mod training;
#[cfg(feature = "web")]
pub mod web;
