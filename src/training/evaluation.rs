//! Evaluation: loss, accuracy and every prediction of a classifier on a dataset, or an
//! autoencoder's reconstruction error, in batches that bound memory, on any device (WebGPU
//! reads back asynchronously).

use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};

use crate::data::{Dataset, Normalization};
use crate::nets::autoencoder::mean_squared_error;
use crate::nets::Network;
use crate::training::{batch_tensors, device_error, TrainError};

/// Test-set results of the current weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Images evaluated.
    pub images: usize,
    /// The network's loss over the set: a classifier's mean cross-entropy, an autoencoder's
    /// mean squared error per pixel (its reconstruction error, pixels in [0, 1]).
    pub loss: f32,
    /// A classifier's fraction correct, 0–1; `None` for an autoencoder.
    pub accuracy: Option<f32>,
    /// A classifier's predicted class of every image, in dataset order (empty for an
    /// autoencoder).
    pub predictions: Vec<u8>,
    /// The probability the model gave each prediction.
    pub confidences: Vec<f32>,
}

/// Loss, accuracy and predictions of `model` on `set`, in batches that bound memory.
pub async fn evaluate(
    model: &Network,
    set: &Dataset,
    normalization: Normalization,
    device: &Device,
) -> Result<Evaluation, TrainError> {
    const EVAL_BATCH: usize = 1000;
    if set.is_empty() {
        return Err(TrainError::EmptyData);
    }
    let device = device.clone().without_autodiff();
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    let mut predictions = Vec::with_capacity(set.len());
    let mut confidences = Vec::with_capacity(set.len());
    let mut loss_sum = 0.0f64;
    let indices: Vec<usize> = (0..set.len()).collect();
    for chunk in indices.chunks(EVAL_BATCH) {
        set.fill_batch(chunk, normalization, &mut pixels, &mut labels);
        let (images, targets) = batch_tensors(&pixels, &labels, &device);
        let Some(logits) = model.logits(images.clone()) else {
            // An autoencoder: how far each reconstruction is from its image.
            let reconstructions = model.reconstruct(images.clone()); // [chunk, 1, 28, 28]
            let error = mean_squared_error(reconstructions, images).into_scalar_async::<f32>();
            loss_sum += error.await.map_err(device_error)? as f64 * chunk.len() as f64;
            continue;
        }; // [chunk, 10]
        let loss = CrossEntropyLossConfig::new()
            .init(&device)
            .forward(logits.clone(), targets)
            .into_scalar_async::<f32>()
            .await
            .map_err(device_error)?;
        loss_sum += loss as f64 * chunk.len() as f64;
        let read = |t: Tensor<2>| t.into_data_async();
        let confidence = read(softmax(logits.clone(), 1).max_dim(1)).await; // [chunk, 1]
        let classes = read(logits.argmax(1).float()).await; // [chunk, 1]
        confidences.extend(confidence.map_err(device_error)?.iter::<f32>());
        predictions.extend(
            classes
                .map_err(device_error)?
                .iter::<f32>()
                .map(|c| c as u8),
        );
    }
    let correct = predictions
        .iter()
        .zip(set.labels())
        .filter(|(p, l)| p == l)
        .count();
    Ok(Evaluation {
        images: set.len(),
        loss: (loss_sum / set.len() as f64) as f32,
        accuracy: model
            .kind()
            .classifies()
            .then(|| correct as f32 / set.len() as f32),
        predictions,
        confidences,
    })
}
