//! Evaluation: loss, accuracy and every prediction of a model on a dataset, in batches that
//! bound memory, on any device (WebGPU reads back asynchronously).

use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};

use crate::data::{Dataset, Normalization};
use crate::model::Model;
use crate::training::{batch_tensors, device_error, TrainError};

/// Test-set results of the current weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Mean cross-entropy over the set.
    pub loss: f32,
    /// Fraction correct, 0–1.
    pub accuracy: f32,
    /// Predicted class of every image, in dataset order.
    pub predictions: Vec<u8>,
    /// The probability the model gave each prediction.
    pub confidences: Vec<f32>,
}

/// Loss, accuracy and predictions of `model` on `set`, in batches that bound memory.
pub async fn evaluate(
    model: &Model,
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
        let logits = model.forward(images); // [chunk, 10]
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
        loss: (loss_sum / set.len() as f64) as f32,
        accuracy: correct as f32 / set.len() as f32,
        predictions,
        confidences,
    })
}
