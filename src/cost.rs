//! What a model costs to run, counted from its configuration: parameters and multiply-adds per
//! layer. A training step is counted as three forward passes (forward, and backward for the
//! inputs and for the weights), the usual estimate.

use crate::data::{IMAGE_SIDE, NUM_CLASSES};
use crate::model::ModelConfig;

/// One layer's size and work for a single image.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerCost {
    pub name: &'static str,
    pub params: usize,
    /// Multiply-adds of the forward pass for one image.
    pub macs: usize,
}

/// Backward costs about twice the forward: gradients for the inputs and for the weights.
pub const TRAIN_FORWARD_MULTIPLE: f64 = 3.0;

/// The layers that have weights, with their parameters and forward multiply-adds per image.
pub fn layer_costs(config: &ModelConfig) -> Vec<LayerCost> {
    let (c1, c2, hidden) = (config.conv1_channels, config.conv2_channels, config.hidden);
    let conv1_side = IMAGE_SIDE - 2; // 26
    let conv2_side = conv1_side / 2 - 2; // 11
    let flat = config.flat_features();
    // BatchNorm on a pooled map: a scale and a shift per channel (the running mean and
    // variance are state, not parameters), one multiply-add per value.
    let norm = |name, channels: usize, side: usize| LayerCost {
        name,
        params: 2 * channels,
        macs: channels * side * side,
    };
    let mut layers = vec![LayerCost {
        name: "conv1",
        params: 9 * c1 + c1,
        macs: conv1_side.pow(2) * c1 * 9,
    }];
    if config.batch_norm {
        layers.push(norm("norm1", c1, conv1_side / 2));
    }
    layers.push(LayerCost {
        name: "conv2",
        params: 9 * c1 * c2 + c2,
        macs: conv2_side.pow(2) * c2 * 9 * c1,
    });
    if config.batch_norm {
        layers.push(norm("norm2", c2, conv2_side / 2));
    }
    layers.extend([
        LayerCost {
            name: "dense1",
            params: flat * hidden + hidden,
            macs: flat * hidden,
        },
        LayerCost {
            name: "dense2",
            params: hidden * NUM_CLASSES + NUM_CLASSES,
            macs: hidden * NUM_CLASSES,
        },
    ]);
    layers
}

/// Parameters of the whole model (121,930 for the seed).
pub fn params(config: &ModelConfig) -> usize {
    layer_costs(config).iter().map(|l| l.params).sum()
}

/// Forward FLOPs for one image (a multiply-add is two FLOPs).
pub fn forward_flops(config: &ModelConfig) -> f64 {
    2.0 * layer_costs(config)
        .iter()
        .map(|l| l.macs as f64)
        .sum::<f64>()
}

/// FLOPs of one training step per image.
pub fn train_flops(config: &ModelConfig) -> f64 {
    TRAIN_FORWARD_MULTIPLE * forward_flops(config)
}
