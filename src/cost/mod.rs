//! What a model costs to run, counted from its configuration: parameters and multiply-adds per
//! layer, forward and backward. These are the model's nominal counts, what any framework would
//! have to do; the CPU kernels skip some of the backward work (the pooling's losers), so they
//! achieve more "GFLOP/s" than they execute.

pub mod card;
pub mod energy;
pub mod ledger;
pub mod runs;

use crate::data::{IMAGE_SIDE, NUM_CLASSES};
use crate::model::ModelConfig;
use crate::nets::Architecture;

/// One layer's size and work for a single image.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerCost {
    pub name: &'static str,
    pub params: usize,
    /// Multiply-adds of the forward pass for one image.
    pub macs: usize,
    /// Multiply-adds of the backward pass for one image: the gradient for the weights, and
    /// the gradient for the inputs unless the input is the image (nothing needs it).
    pub backward_macs: usize,
}

/// What has layers to count: the CNN's sizes, or any network's ([`Architecture`]).
pub trait Layers {
    /// The layers that do arithmetic, with their parameters and multiply-adds per image.
    fn layer_costs(&self) -> Vec<LayerCost>;
}

impl Layers for ModelConfig {
    fn layer_costs(&self) -> Vec<LayerCost> {
        layer_costs(self)
    }
}

impl Layers for Architecture {
    fn layer_costs(&self) -> Vec<LayerCost> {
        Architecture::layer_costs(self)
    }
}

/// The CNN's layers that do arithmetic, with their parameters and multiply-adds per image.
/// Pooling, ReLU and dropout only compare or copy, and are not counted.
pub fn layer_costs(config: &ModelConfig) -> Vec<LayerCost> {
    let (c1, c2, hidden) = (config.conv1_channels, config.conv2_channels, config.hidden);
    let conv1_side = IMAGE_SIDE - 2; // 26
    let conv2_side = conv1_side / 2 - 2; // 11
    let flat = config.flat_features();
    // A layer inside the network: backward computes both gradients, each as big as forward.
    let inner = |name, params, macs| LayerCost {
        name,
        params,
        macs,
        backward_macs: 2 * macs,
    };
    // BatchNorm on a pooled map: a scale and a shift per channel (the running mean and
    // variance are state, not parameters), one multiply-add per value.
    let norm =
        |name, channels: usize, side: usize| inner(name, 2 * channels, channels * side * side);
    let conv1_macs = conv1_side.pow(2) * c1 * 9;
    let mut layers = vec![LayerCost {
        name: "conv1",
        params: 9 * c1 + c1,
        macs: conv1_macs,
        backward_macs: conv1_macs, // the weights' gradient only: the image needs none
    }];
    if config.batch_norm {
        layers.push(norm("norm1", c1, conv1_side / 2));
    }
    layers.push(inner(
        "conv2",
        9 * c1 * c2 + c2,
        conv2_side.pow(2) * c2 * 9 * c1,
    ));
    if config.batch_norm {
        layers.push(norm("norm2", c2, conv2_side / 2));
    }
    layers.push(inner("dense1", flat * hidden + hidden, flat * hidden));
    layers.push(inner(
        "dense2",
        hidden * NUM_CLASSES + NUM_CLASSES,
        hidden * NUM_CLASSES,
    ));
    layers
}

/// Parameters of the whole model (121,930 for the seed).
pub fn params(model: &impl Layers) -> usize {
    model.layer_costs().iter().map(|l| l.params).sum()
}

/// Forward FLOPs for one image (a multiply-add is two FLOPs): 5.06 M for the seed.
pub fn forward_flops(model: &impl Layers) -> f64 {
    2.0 * model
        .layer_costs()
        .iter()
        .map(|l| l.macs as f64)
        .sum::<f64>()
}

/// FLOPs of one training step per image, forward and backward: 14.8 M for the seed.
pub fn train_flops(model: &impl Layers) -> f64 {
    2.0 * model
        .layer_costs()
        .iter()
        .map(|l| (l.macs + l.backward_macs) as f64)
        .sum::<f64>()
}
