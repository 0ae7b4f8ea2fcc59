//! Every layer's output for one digit, read back as plain numbers: the picture of the network
//! from input to answer that the page draws as you draw.

use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};
use serde::Serialize;

use super::read_floats;
use crate::data::{Normalization, IMAGE_PIXELS, NUM_CLASSES};
use crate::model::inference::input_tensor;
use crate::model::Model;

/// One image's trip through the network. Maps are channel-major: map `c` of a layer with side
/// `s` is `values[c·s·s .. (c+1)·s·s]`, row by row.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Activations {
    /// After conv1, pooling and ReLU: `channels1` maps of `side1 × side1` (32 of 13×13).
    pub block1: Vec<f32>,
    pub channels1: usize,
    pub side1: usize,
    /// After conv2, pooling and ReLU: `channels2` maps of `side2 × side2` (64 of 5×5).
    pub block2: Vec<f32>,
    pub channels2: usize,
    pub side2: usize,
    /// The dense layer's units after ReLU (64): the embedding of this image.
    pub hidden: Vec<f32>,
    /// Class scores before softmax.
    pub logits: Vec<f32>,
    pub probabilities: Vec<f32>,
}

impl Activations {
    /// The most probable digit: the model's answer.
    pub fn answer(&self) -> usize {
        (0..self.probabilities.len())
            .max_by(|&a, &b| self.probabilities[a].total_cmp(&self.probabilities[b]))
            .unwrap_or(0)
    }
}

/// Every layer's output for one MNIST-like image (one forward pass), with dropout off: `model`
/// should be an inference model ([`Model::valid`]).
pub async fn activations(
    model: &Model,
    image: &[u8; IMAGE_PIXELS],
    normalization: Normalization,
    device: &Device,
) -> Result<Activations, String> {
    let trace = model.trace(input_tensor(image, normalization, device));
    let [_, channels1, side1, _] = trace.block1.dims();
    let [_, channels2, side2, _] = trace.block2.dims();
    let probabilities = softmax(trace.logits.clone(), 1);
    // One read-back for all of them: on WebGPU each one waits for the queue.
    let parts = [
        trace.block1.flatten::<1>(0, 3),
        trace.block2.flatten::<1>(0, 3),
        trace.hidden.flatten::<1>(0, 1),
        trace.logits.flatten::<1>(0, 1),
        probabilities.flatten::<1>(0, 1),
    ];
    let lengths: Vec<usize> = parts.iter().map(|p| p.dims()[0]).collect();
    let all = read_floats(Tensor::cat(parts.to_vec(), 0)).await?;
    let mut rest = all.as_slice();
    let mut take = |n: usize| {
        let (head, tail) = rest.split_at(n);
        rest = tail;
        head.to_vec()
    };
    let [b1, b2, h, l, p] = [0, 1, 2, 3, 4].map(|i| take(lengths[i]));
    debug_assert_eq!(l.len(), NUM_CLASSES);
    Ok(Activations {
        block1: b1,
        channels1,
        side1,
        block2: b2,
        channels2,
        side2,
        hidden: h,
        logits: l,
        probabilities: p,
    })
}
