//! Asking the model about one picture: MNIST-like 28×28 input in, ten probabilities out.

use burn::tensor::{Device, Tensor, TensorData};

use crate::data::{Normalization, IMAGE_PIXELS, IMAGE_SIDE, NUM_CLASSES};
use crate::model::Model;

/// The model's answer for one image.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// The most probable digit.
    pub class: u8,
    /// Softmax over the ten digits; sums to 1.
    pub probabilities: [f32; NUM_CLASSES],
}

impl Prediction {
    fn from_probabilities(values: &[f32]) -> Self {
        let mut probabilities = [0.0; NUM_CLASSES];
        probabilities.copy_from_slice(&values[..NUM_CLASSES]);
        let class = (0..NUM_CLASSES)
            .max_by(|&a, &b| probabilities[a].total_cmp(&probabilities[b]))
            .unwrap_or(0) as u8;
        Self {
            class,
            probabilities,
        }
    }
}

/// One MNIST-like image (ink bright on black) as a `[1, 1, 28, 28]` input.
pub fn input_tensor(
    image: &[u8; IMAGE_PIXELS],
    normalization: Normalization,
    device: &Device,
) -> Tensor<4> {
    let pixels: Vec<f32> = image.iter().map(|&p| normalization.apply(p)).collect();
    Tensor::from_data(
        TensorData::new(pixels, [1, 1, IMAGE_SIDE, IMAGE_SIDE]),
        device,
    )
}

/// Class probabilities for one image, read back asynchronously (the browser cannot block).
pub async fn predict(
    model: &Model,
    image: &[u8; IMAGE_PIXELS],
    normalization: Normalization,
    device: &Device,
) -> Result<Prediction, String> {
    let probabilities = model.probabilities(input_tensor(image, normalization, device)); // [1, 10]
    let data = probabilities
        .into_data_async()
        .await
        .map_err(|e| format!("{e:?}"))?;
    let values: Vec<f32> = data.try_to_vec().map_err(|e| format!("{e:?}"))?;
    Ok(Prediction::from_probabilities(&values))
}

/// Reads a PNG or JPEG photo or scan of a digit and prepares it like MNIST.
#[cfg(feature = "native")]
pub fn read_picture(path: &std::path::Path) -> Result<[u8; IMAGE_PIXELS], String> {
    let picture = image::open(path).map_err(|e| match e {
        image::ImageError::IoError(e) => format!("cannot read the file: {e}"),
        image::ImageError::Unsupported(_) | image::ImageError::Decoding(_) => {
            "not a PNG or JPEG image".to_string()
        }
        other => format!("cannot decode the image: {other}"),
    })?;
    let rgba = picture.to_rgba8();
    let (width, height) = (rgba.width() as usize, rgba.height() as usize);
    let gray =
        crate::preprocess::rgba_to_gray(rgba.as_raw(), width, height).map_err(|e| e.to_string())?;
    crate::preprocess::to_mnist(&gray, width, height).map_err(|e| e.to_string())
}
