//! Kindling: train the classic MNIST CNN natively and in the browser, with its cost in view.
//!
//! The same model and training code run on every device burn offers: `flex` on the CPU (native
//! and wasm) and WebGPU in the browser.
//!
//! - [`data`]: MNIST IDX files, validated, and the order of batches.
//! - [`augment`]: shift, flip, affine transforms and mixup, per batch.
//! - [`random`]: the seeded generator shuffles and augmentations share.
//! - [`model`]: the seed CNN and its configuration.
//! - [`optimizer`]: the optimizers and learning-rate schedules; [`optimizer_state`]: their state
//!   as bytes, read back from any device.
//! - [`recipe`]: the recipe's options as the command line and the page give them.
//! - [`config`]: what defines a run, and why one stops; [`training`]: one step at a time; [`evaluation`]: loss, accuracy and predictions on a set.
//! - [`inference`] and [`preprocess`]: from a picture of a digit to ten probabilities.
//! - [`metrics`]: confusion matrix, per-class accuracy and the most confident mistakes.
//! - [`settings`]: every number a run can be given: meaning, default, range, the sentence that refuses it.
//! - [`runs`]: one-line records of finished runs, to compare them; [`card`]: one run in full.
//! - [`weights`]: the weights file; [`checkpoint`]: a run saved whole, to go on exactly.
//! - [`cost`]: parameters and FLOPs, from the configuration.
//! - [`energy`]: energy and CO₂e estimates, with the assumptions written beside them.
//! - [`ledger`]: what a run spent, when it reached 98% and 99%, early stopping.
//! - [`distill`]: a small student learning from a trained teacher.
//! - [`quantize`]: int8 weights, four times smaller; [`precision`]: mixed-precision steps.
//! - `bench`: speed measurements for `kindling bench` (native only).

pub mod augment;
#[cfg(feature = "native")]
pub mod bench;
pub mod card;
pub mod checkpoint;
pub mod config;
pub mod cost;
pub mod data;
pub mod distill;
pub mod energy;
pub mod evaluation;
pub mod inference;
pub mod kernels;
pub mod ledger;
pub mod metrics;
pub mod model;
pub mod optimizer;
pub mod optimizer_state;
pub mod precision;
pub mod preprocess;
pub mod quantize;
pub mod random;
pub mod recipe;
pub mod runs;
pub mod settings;
pub mod training;
#[cfg(feature = "web")]
pub mod web;
pub mod weights;
