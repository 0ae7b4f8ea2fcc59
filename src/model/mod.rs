//! The seed CNN: two 3×3 convolutions with max pooling, then two dense layers.
//!
//! Every variant is a `ModelConfig`, never a copy of this file: the defaults are the seed's
//! Keras model exactly (valid padding, ReLU, dropout 0.5 before the classifier).
//!
//! The BatchNorm variant normalises each convolution block's output, after its pooling and
//! ReLU. That keeps every convolution fused with its pooling (`kernels`): max pooling
//! commutes with an increasing map, and BatchNorm's learned scale may be negative, so a
//! BatchNorm between them would forbid the fusion. Normalising after the activation is the
//! placement Ioffe and Szegedy's successors often found as good or better.

pub mod inference;
pub mod precision;
pub mod preprocess;

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::activation::{relu, softmax};
use burn::tensor::{Device, Tensor};

use crate::data::{IMAGE_SIDE, NUM_CLASSES};
use crate::kernels::{batch_norm, conv2d_pool2_relu, dense};
use crate::training::settings;

/// Layer sizes of the CNN. The defaults are the seed model (121,930 parameters).
#[derive(Config, Debug, PartialEq)]
pub struct ModelConfig {
    /// Filters of the first 3×3 convolution.
    #[config(default = "settings::CONV1.default_count()")]
    pub conv1_channels: usize,
    /// Filters of the second 3×3 convolution.
    #[config(default = "settings::CONV2.default_count()")]
    pub conv2_channels: usize,
    /// Width of the hidden dense layer.
    #[config(default = "settings::HIDDEN.default_count()")]
    pub hidden: usize,
    /// Dropout probability before the classifier (0 turns it off).
    #[config(default = "settings::DROPOUT.default")]
    pub dropout: f64,
    /// BatchNorm after each convolution block (the model variant; weights record it).
    #[config(default = false)]
    pub batch_norm: bool,
}

/// Side of each feature map after a valid 3×3 convolution and a 2×2 pooling, layer by layer.
/// 28 → conv 26 → pool 13 → conv 11 → pool 5.
const CONV1_SIDE: usize = IMAGE_SIDE - 2;
const POOL1_SIDE: usize = CONV1_SIDE / 2;
const CONV2_SIDE: usize = POOL1_SIDE - 2;
const POOL2_SIDE: usize = CONV2_SIDE / 2;

impl ModelConfig {
    /// The small model distillation trains by default: conv 8/16, dense 16, no dropout:
    /// 7,834 parameters and 13× fewer FLOPs than the seed's.
    pub fn student() -> Self {
        ModelConfig::new()
            .with_conv1_channels(8)
            .with_conv2_channels(16)
            .with_hidden(16)
            .with_dropout(0.0)
    }

    /// Length of the flattened feature vector fed to the dense layers (1,600 for the seed).
    pub fn flat_features(&self) -> usize {
        self.conv2_channels * POOL2_SIDE * POOL2_SIDE
    }

    /// Checks the sizes before anything is allocated, so a bad config is an error, not a panic.
    pub fn validate(&self) -> Result<(), String> {
        settings::check_all(&[
            (settings::CONV1, self.conv1_channels as f64),
            (settings::CONV2, self.conv2_channels as f64),
            (settings::HIDDEN, self.hidden as f64),
            (settings::DROPOUT, self.dropout),
        ])
    }

    /// True when both have the same weights, so one's weights file fits the other: the same
    /// layers and sizes (dropout has no weights).
    pub fn same_weights(&self, other: &ModelConfig) -> bool {
        let layers = |c: &ModelConfig| (c.conv1_channels, c.conv2_channels, c.hidden, c.batch_norm);
        layers(self) == layers(other)
    }

    /// The variant in a few words, for messages: "conv 32/64, dense 64, BatchNorm".
    pub fn describe(&self) -> String {
        let norm = if self.batch_norm { ", BatchNorm" } else { "" };
        format!(
            "conv {}/{}, dense {}{norm}",
            self.conv1_channels, self.conv2_channels, self.hidden
        )
    }

    /// Builds the model with freshly initialised weights on `device`.
    pub fn init(&self, device: &Device) -> Model {
        let norm = |channels| {
            self.batch_norm
                .then(|| BatchNormConfig::new(channels).init(device))
        };
        crate::nets::numbered(Model {
            conv1: Conv2dConfig::new([1, self.conv1_channels], [3, 3]).init(device),
            norm1: norm(self.conv1_channels),
            conv2: Conv2dConfig::new([self.conv1_channels, self.conv2_channels], [3, 3])
                .init(device),
            norm2: norm(self.conv2_channels),
            dense1: LinearConfig::new(self.flat_features(), self.hidden).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            dense2: LinearConfig::new(self.hidden, NUM_CLASSES).init(device),
        })
    }

    /// Output shape of each layer for one image, for `kindling info`.
    pub fn layer_shapes(&self) -> Vec<(&'static str, Vec<usize>)> {
        let (c1, c2) = (self.conv1_channels, self.conv2_channels);
        let norm = |channels, side| {
            self.batch_norm
                .then(|| ("batchnorm", vec![channels, side, side]))
        };
        [
            Some(("input", vec![1, IMAGE_SIDE, IMAGE_SIDE])),
            Some(("conv1 3×3 + relu", vec![c1, CONV1_SIDE, CONV1_SIDE])),
            Some(("maxpool 2×2", vec![c1, POOL1_SIDE, POOL1_SIDE])),
            norm(c1, POOL1_SIDE),
            Some(("conv2 3×3 + relu", vec![c2, CONV2_SIDE, CONV2_SIDE])),
            Some(("maxpool 2×2", vec![c2, POOL2_SIDE, POOL2_SIDE])),
            norm(c2, POOL2_SIDE),
        ]
        .into_iter()
        .flatten()
        .chain([
            ("flatten", vec![self.flat_features()]),
            ("dense1 + relu", vec![self.hidden]),
            ("dropout", vec![self.hidden]),
            ("dense2 (logits)", vec![NUM_CLASSES]),
        ])
        .collect()
    }
}

/// The seed CNN. Build it with [`ModelConfig::init`].
#[derive(Module, Debug)]
/// Its layers are public so that tests can rebuild the forward pass from burn's own ops.
pub struct Model {
    pub conv1: Conv2d,
    pub norm1: Option<BatchNorm>,
    pub conv2: Conv2d,
    pub norm2: Option<BatchNorm>,
    pub dense1: Linear,
    pub dropout: Dropout,
    pub dense2: Linear,
}

impl Model {
    /// Class scores before softmax; the loss works on these for numerical stability.
    ///
    /// Each pooling runs before its ReLU: the same result (max commutes with a monotone
    /// function), with the ReLU's work done on a quarter of the values. The convolutions run
    /// as hand-written kernels on the CPU and on WebGPU (with the dense layers there); elsewhere
    /// as burn's ops: `kernels` chooses. BatchNorm uses the batch's statistics on an
    /// autodiff device and the running ones elsewhere.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.trace(images).logits
    }

    /// The forward pass with every layer's output kept: what the page draws as the network's
    /// picture of a digit, and the very tensors [`Model::forward`] returns the last of.
    pub fn trace(&self, images: Tensor<4>) -> Trace {
        // images [batch, 1, 28, 28]
        let [batch, _, _, _] = images.dims();
        // conv [batch, 32, 26, 26] → pool [batch, 32, 13, 13]
        let block1 = normalize(&self.norm1, conv2d_pool2_relu(&self.conv1, images));
        // conv [batch, 64, 11, 11] → pool [batch, 64, 5, 5]
        let block2 = normalize(&self.norm2, conv2d_pool2_relu(&self.conv2, block1.clone()));
        let flat = block2.clone().reshape([batch as i32, -1]); // [batch, 1600]
        let hidden = relu(dense(&self.dense1, flat)); // [batch, 64]
        let logits = dense(&self.dense2, self.dropout.forward(hidden.clone())); // [batch, 10]
        Trace {
            block1,
            block2,
            hidden,
            logits,
        }
    }

    /// The two convolutions' kernels, the filters the page draws: conv1 `[32, 1, 3, 3]`,
    /// conv2 `[64, 32, 3, 3]`.
    pub fn conv_filters(&self) -> (Tensor<4>, Tensor<4>) {
        (self.conv1.weight.val(), self.conv2.weight.val())
    }

    /// The weights of the four layers' kernels (not their biases), flattened: what
    /// regularization penalises, as Keras's kernel regularizers do.
    pub fn kernels(&self) -> Tensor<1> {
        Tensor::cat(
            vec![
                self.conv1.weight.val().flatten(0, 3),
                self.conv2.weight.val().flatten(0, 3),
                self.dense1.weight.val().flatten(0, 1),
                self.dense2.weight.val().flatten(0, 1),
            ],
            0,
        ) // [121,760] for the seed model
    }

    /// `l1·Σ|w| + l2·Σw²` over the kernels: the term regularization adds to the loss. `None`
    /// when both are 0.
    pub fn weight_penalty(&self, l1: f64, l2: f64) -> Option<Tensor<1>> {
        weight_penalty(|| self.kernels(), l1, l2)
    }

    /// Class probabilities, the seed's final softmax.
    pub fn probabilities(&self, images: Tensor<4>) -> Tensor<2> {
        softmax(self.forward(images), 1) // [batch, 10]
    }
}

/// Every layer's output for a batch, from [`Model::trace`].
#[derive(Debug, Clone)]
pub struct Trace {
    /// After conv1, pooling and ReLU (and BatchNorm in that variant): `[batch, 32, 13, 13]`.
    pub block1: Tensor<4>,
    /// After conv2, pooling and ReLU (and BatchNorm): `[batch, 64, 5, 5]`.
    pub block2: Tensor<4>,
    /// The dense layer's units after ReLU, the embedding: `[batch, 64]`.
    pub hidden: Tensor<2>,
    /// Class scores before softmax: `[batch, 10]`.
    pub logits: Tensor<2>,
}

/// `l1·Σ|w| + l2·Σw²` over `kernels` (flattened), for any network; `None` when both are 0,
/// without gathering the kernels.
pub fn weight_penalty(kernels: impl FnOnce() -> Tensor<1>, l1: f64, l2: f64) -> Option<Tensor<1>> {
    if l1 == 0.0 && l2 == 0.0 {
        return None;
    }
    let kernels = kernels();
    Some(kernels.clone().abs().sum().mul_scalar(l1) + kernels.square().sum().mul_scalar(l2))
}

/// BatchNorm when the variant has it, else the input unchanged.
fn normalize(norm: &Option<BatchNorm>, x: Tensor<4>) -> Tensor<4> {
    match norm {
        Some(norm) => batch_norm(norm, x),
        None => x,
    }
}
