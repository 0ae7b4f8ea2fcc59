//! What the weights look like: the convolutions' filters as small images, and each layer's
//! distribution of weights as a histogram (redrawn each epoch, it shows them spread as the
//! network learns, or collapse when regularization is too strong).

use burn::tensor::Tensor;
use serde::Serialize;

use super::read_floats;
use crate::model::Model;

/// The two convolutions' kernels, row-major: conv1 `[32, 1, 3, 3]`, conv2 `[64, 32, 3, 3]`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Filters {
    pub conv1: Vec<f32>,
    pub conv1_shape: [usize; 4],
    pub conv2: Vec<f32>,
    pub conv2_shape: [usize; 4],
}

pub async fn filters(model: &Model) -> Result<Filters, String> {
    let (conv1, conv2) = model.conv_filters();
    let (conv1_shape, conv2_shape) = (conv1.dims(), conv2.dims());
    Ok(Filters {
        conv1: read_floats(conv1).await?,
        conv1_shape,
        conv2: read_floats(conv2).await?,
        conv2_shape,
    })
}

/// How one layer's kernel weights are spread: `counts[i]` weights fall in the `i`-th of equal
/// bins from `min` to `max`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Histogram {
    pub layer: &'static str,
    pub min: f32,
    pub max: f32,
    pub counts: Vec<u32>,
}

/// A histogram of each layer's kernel weights (biases apart), in `bins` bins.
pub async fn histograms(model: &Model, bins: usize) -> Result<Vec<Histogram>, String> {
    let layers: [(&'static str, Tensor<1>); 4] = [
        ("conv1", model.conv1.weight.val().flatten(0, 3)),
        ("conv2", model.conv2.weight.val().flatten(0, 3)),
        ("dense1", model.dense1.weight.val().flatten(0, 1)),
        ("dense2", model.dense2.weight.val().flatten(0, 1)),
    ];
    let mut out = Vec::with_capacity(layers.len());
    for (layer, weights) in layers {
        out.push(histogram(layer, &read_floats(weights).await?, bins.max(1)));
    }
    Ok(out)
}

pub fn histogram(layer: &'static str, values: &[f32], bins: usize) -> Histogram {
    let min = values.iter().copied().fold(f32::INFINITY, f32::min);
    let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut counts = vec![0u32; bins];
    let width = (max - min) / bins as f32;
    for &v in values {
        let bin = if width > 0.0 {
            ((v - min) / width) as usize
        } else {
            0
        };
        counts[bin.min(bins - 1)] += 1;
    }
    Histogram {
        layer,
        min,
        max,
        counts,
    }
}
