//! Checks of the views inside the network that run natively (`tests/inspect.rs`) and in the
//! browser (`tests/web.rs`), on any device: async, reading tensors back as WebGPU must.

use burn::module::Module;
use burn::tensor::activation::relu;
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{Device, Tensor, TensorData};
use kindling::data::{Normalization, IMAGE_PIXELS, IMAGE_SIDE};
use kindling::inspect::{self, SaliencyMethod};
use kindling::model::inference::input_tensor;
use kindling::model::{Model, ModelConfig};

/// A small model (conv 4/6, dense 8) with fixed weights, ready for inference on `device`.
pub fn small_model(batch_norm: bool, device: &Device) -> Model {
    let flex = Device::flex();
    flex.seed(7);
    let config = ModelConfig::new()
        .with_conv1_channels(4)
        .with_conv2_channels(6)
        .with_hidden(8)
        .with_batch_norm(batch_norm);
    config.init(&flex).valid().to_device(device)
}

/// A stroke-like test picture: a thick diagonal with a little texture.
pub fn picture() -> [u8; IMAGE_PIXELS] {
    std::array::from_fn(|i| {
        let (r, c) = (i / IMAGE_SIDE, i % IMAGE_SIDE);
        let ink = (r as i32 - c as i32).abs() < 3 && (4..24).contains(&r);
        if ink {
            200 + (i % 50) as u8
        } else {
            (i * 7 % 23) as u8
        }
    })
}

pub async fn read<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data_async().await.unwrap().iter::<f32>().collect()
}

pub fn close(a: &[f32], b: &[f32], tolerance: f32, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tolerance * (1.0 + y.abs()),
            "{what}[{i}]: {x} vs {y}"
        );
    }
}

/// Each layer's output from `inspect::activations` against the forward pass rebuilt from
/// burn's own modules and ops (not Kindling's kernels) with the same weights.
pub async fn check_activations(batch_norm: bool, device: &Device) {
    let model = small_model(batch_norm, device);
    let image = picture();
    let norm = Normalization::UnitRange;
    let seen = inspect::activations(&model, &image, norm, device)
        .await
        .unwrap();

    let x = input_tensor(&image, norm, device);
    let block = |conv: &burn::nn::conv::Conv2d, norm: &Option<burn::nn::BatchNorm>, x| {
        let y = relu(max_pool2d(conv.forward(x), MaxPoolOptions::new([2, 2])));
        match norm {
            Some(n) => n.forward(y),
            None => y,
        }
    };
    let b1 = block(&model.conv1, &model.norm1, x); // [1, 4, 13, 13]
    let b2 = block(&model.conv2, &model.norm2, b1.clone()); // [1, 6, 5, 5]
    let hidden = relu(model.dense1.forward(b2.clone().reshape([1, -1]))); // [1, 8]
    let logits = model.dense2.forward(hidden.clone()); // [1, 10]
    let shapes = (seen.channels1, seen.side1, seen.channels2, seen.side2);
    assert_eq!(shapes, (4, 13, 6, 5));
    close(&seen.block1, &read(b1).await, 1e-4, "block1");
    close(&seen.block2, &read(b2).await, 1e-4, "block2");
    close(&seen.hidden, &read(hidden).await, 1e-4, "hidden");
    close(&seen.logits, &read(logits).await, 1e-4, "logits");
    let total: f32 = seen.probabilities.iter().sum();
    assert!((total - 1.0).abs() < 1e-5, "probabilities sum to {total}");
}

/// The class score of each normalized input, in f64 for the differences.
async fn scores(model: &Model, inputs: &[Vec<f32>], class: usize, device: &Device) -> Vec<f64> {
    let n = inputs.len();
    let flat: Vec<f32> = inputs.concat();
    let x = Tensor::<4>::from_data(
        TensorData::new(flat, [n, 1, IMAGE_SIDE, IMAGE_SIDE]),
        device,
    );
    let logits = read(model.forward(x)).await; // [n, 10]
    (0..n).map(|i| logits[i * 10 + class] as f64).collect()
}

/// The gradient saliency map against central differences of the class score, on the pixels it
/// depends on most and a few others. ReLU and max pooling have kinks, which a step may cross:
/// two misses of 24 are allowed.
pub async fn check_saliency(batch_norm: bool, device: &Device) {
    let model = small_model(batch_norm, device);
    let image = picture();
    let norm = Normalization::UnitRange;
    let class = 3;
    let method = SaliencyMethod::Gradient;
    let gradient = inspect::saliency(&model, &image, class, norm, method, device)
        .await
        .unwrap();
    let input: Vec<f32> = image.iter().map(|&p| norm.apply(p)).collect();
    let mut order: Vec<usize> = (0..IMAGE_PIXELS).collect();
    order.sort_by(|&a, &b| gradient[b].abs().total_cmp(&gradient[a].abs()));
    let pixels: Vec<usize> = order[..20]
        .iter()
        .copied()
        .chain([0, 100, 400, 783])
        .collect();
    let h = 1e-2f32;
    let mut shifted = Vec::new();
    for &p in &pixels {
        for sign in [1.0, -1.0] {
            let mut x = input.clone();
            x[p] += sign * h;
            shifted.push(x);
        }
    }
    let scores = scores(&model, &shifted, class, device).await;
    let mut misses = Vec::new();
    for (k, &p) in pixels.iter().enumerate() {
        let numeric = (scores[2 * k] - scores[2 * k + 1]) / (2.0 * h as f64);
        let analytic = gradient[p] as f64;
        if (numeric - analytic).abs() > 2e-3 + 0.02 * analytic.abs() {
            misses.push((p, analytic, numeric));
        }
    }
    assert!(misses.len() <= 2, "batch_norm {batch_norm}: {misses:?}");
    assert!(gradient[order[0]].abs() > 1e-4, "the map is not all zero");
}
