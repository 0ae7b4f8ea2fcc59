//! The seed CNN: two 3×3 convolutions with max pooling, then two dense layers.
//!
//! Every variant is a `ModelConfig`, never a copy of this file: the defaults are the seed's
//! Keras model exactly (valid padding, ReLU, dropout 0.5 before the classifier).

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::activation::{relu, softmax};
use burn::tensor::module::unfold4d;
use burn::tensor::ops::UnfoldOptions;
use burn::tensor::{Device, Tensor};

use crate::data::{IMAGE_SIDE, NUM_CLASSES};

/// Layer sizes of the CNN. The defaults are the seed model (121,930 parameters).
#[derive(Config, Debug, PartialEq)]
pub struct ModelConfig {
    /// Filters of the first 3×3 convolution.
    #[config(default = 32)]
    pub conv1_channels: usize,
    /// Filters of the second 3×3 convolution.
    #[config(default = 64)]
    pub conv2_channels: usize,
    /// Width of the hidden dense layer.
    #[config(default = 64)]
    pub hidden: usize,
    /// Dropout probability before the classifier (0 turns it off).
    #[config(default = 0.5)]
    pub dropout: f64,
}

/// Side of each feature map after a valid 3×3 convolution and a 2×2 pooling, layer by layer.
/// 28 → conv 26 → pool 13 → conv 11 → pool 5.
const CONV1_SIDE: usize = IMAGE_SIDE - 2;
const POOL1_SIDE: usize = CONV1_SIDE / 2;
const CONV2_SIDE: usize = POOL1_SIDE - 2;
const POOL2_SIDE: usize = CONV2_SIDE / 2;

impl ModelConfig {
    /// Length of the flattened feature vector fed to the dense layers (1,600 for the seed).
    pub fn flat_features(&self) -> usize {
        self.conv2_channels * POOL2_SIDE * POOL2_SIDE
    }

    /// Checks the sizes before anything is allocated, so a bad config is an error, not a panic.
    pub fn validate(&self) -> Result<(), String> {
        for (name, value) in [
            ("conv1_channels", self.conv1_channels),
            ("conv2_channels", self.conv2_channels),
            ("hidden", self.hidden),
        ] {
            if value == 0 || value > 4096 {
                return Err(format!("{name} must be between 1 and 4096, got {value}"));
            }
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(format!("dropout must be in [0, 1), got {}", self.dropout));
        }
        Ok(())
    }

    /// Builds the model with freshly initialised weights on `device`.
    pub fn init(&self, device: &Device) -> Model {
        Model {
            conv1: Conv2dConfig::new([1, self.conv1_channels], [3, 3]).init(device),
            conv2: Conv2dConfig::new([self.conv1_channels, self.conv2_channels], [3, 3])
                .init(device),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            dense1: LinearConfig::new(self.flat_features(), self.hidden).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            dense2: LinearConfig::new(self.hidden, NUM_CLASSES).init(device),
        }
    }

    /// Output shape of each layer for one image, for `kindling info`.
    pub fn layer_shapes(&self) -> Vec<(&'static str, Vec<usize>)> {
        let (c1, c2) = (self.conv1_channels, self.conv2_channels);
        vec![
            ("input", vec![1, IMAGE_SIDE, IMAGE_SIDE]),
            ("conv1 3×3 + relu", vec![c1, CONV1_SIDE, CONV1_SIDE]),
            ("maxpool 2×2", vec![c1, POOL1_SIDE, POOL1_SIDE]),
            ("conv2 3×3 + relu", vec![c2, CONV2_SIDE, CONV2_SIDE]),
            ("maxpool 2×2", vec![c2, POOL2_SIDE, POOL2_SIDE]),
            ("flatten", vec![self.flat_features()]),
            ("dense1 + relu", vec![self.hidden]),
            ("dropout", vec![self.hidden]),
            ("dense2 (logits)", vec![NUM_CLASSES]),
        ]
    }
}

/// The seed CNN. Build it with [`ModelConfig::init`].
#[derive(Module, Debug)]
pub struct Model {
    conv1: Conv2d,
    conv2: Conv2d,
    pool: MaxPool2d,
    dense1: Linear,
    dropout: Dropout,
    dense2: Linear,
}

impl Model {
    /// Class scores before softmax; the loss works on these for numerical stability.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let [batch, _, _, _] = images.dims(); // [batch, 1, 28, 28]
                                              // Pooling before ReLU gives the same result (max commutes with a monotone function) and
                                              // runs the element-wise ReLU, forward and backward, on a quarter of the values.
        let x = conv_one_channel_as_matmul(&self.conv1, images); // [batch, 32, 26, 26]
        let x = relu(self.pool.forward(x)); // [batch, 32, 13, 13]
        let x = self.conv2.forward(x); // [batch, 64, 11, 11]
        let x = relu(self.pool.forward(x)); // [batch, 64, 5, 5]
        let x = x.reshape([batch as i32, -1]); // [batch, 1600]
        let x = relu(self.dense1.forward(x)); // [batch, 64]
        let x = self.dropout.forward(x);
        self.dense2.forward(x) // [batch, 10]
    }

    /// Class probabilities, the seed's final softmax.
    pub fn probabilities(&self, images: Tensor<4>) -> Tensor<2> {
        softmax(self.forward(images), 1) // [batch, 10]
    }
}

/// A valid, stride-1 convolution of single-channel images as one matrix product over 3×3
/// patches (im2col). Same weights and result as `conv.forward`, but burn's CPU backend spends
/// most of a training step on the direct convolution's weight gradient when there is one input
/// channel; as a matmul this layer's forward and backward run several times faster. The
/// patches come from the images, which need no gradient, so unfolding them costs no backward.
pub fn conv_one_channel_as_matmul(conv: &Conv2d, images: Tensor<4>) -> Tensor<4> {
    let [batch, _, height, width] = images.dims(); // [batch, 1, 28, 28]
    let [channels, _, k1, k2] = conv.weight.dims(); // [32, 1, 3, 3]
    let options = UnfoldOptions::new([1, 1], [0, 0], [1, 1]);
    let patches = unfold4d(images, [k1, k2], options); // [batch, 9, 676]
    let weight = conv.weight.val().reshape([1, channels, k1 * k2]); // [1, 32, 9]
    let mut x = weight.matmul(patches); // [batch, 32, 676]
    if let Some(bias) = &conv.bias {
        x = x + bias.val().reshape([1, channels, 1]);
    }
    x.reshape([batch, channels, height - k1 + 1, width - k2 + 1]) // [batch, 32, 26, 26]
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, Tolerance};

    #[test]
    fn conv_as_matmul_equals_burns_convolution() {
        let device = Device::flex();
        let model = ModelConfig::new().init(&device);
        let images = Tensor::<4>::random([3, 1, 28, 28], Distribution::Default, &device);
        let expected = model.conv1.forward(images.clone()).into_data();
        let actual = conv_one_channel_as_matmul(&model.conv1, images).into_data();
        actual.assert_approx_eq::<f32>(&expected, Tolerance::absolute(1e-5));
    }
}
