//! Asking the model about one picture: MNIST-like 28×28 input in, ten probabilities out.

use burn::tensor::{Device, Tensor, TensorData};

use crate::data::{Normalization, IMAGE_PIXELS, IMAGE_SIDE, NUM_CLASSES};
use crate::nets::Network;

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
/// A classifier's only: an autoencoder is refused with a sentence.
pub async fn predict(
    model: &Network,
    image: &[u8; IMAGE_PIXELS],
    normalization: Normalization,
    device: &Device,
) -> Result<Prediction, String> {
    let logits = model
        .logits(input_tensor(image, normalization, device))
        .ok_or_else(|| format!("{} does not classify digits", model.kind().describe()))?;
    let probabilities = burn::tensor::activation::softmax(logits, 1); // [1, 10]
    let data = probabilities
        .into_data_async()
        .await
        .map_err(|e| format!("{e:?}"))?;
    let values: Vec<f32> = data.try_to_vec().map_err(|e| format!("{e:?}"))?;
    Ok(Prediction::from_probabilities(&values))
}

/// The most pixels a picture may have: a phone camera's 12 megapixels fit, and the decoded
/// picture as RGBA stays within [`MAX_PICTURE_BYTES`]. A damaged or hostile file can declare any
/// size in a few bytes; the decoder would allocate the declared size before finding the data
/// missing.
#[cfg(feature = "native")]
pub const MAX_PICTURE_PIXELS: u64 = 16 * 1024 * 1024;
/// The most memory the decoder may take for one picture (its output and its own buffers).
#[cfg(feature = "native")]
const MAX_PICTURE_BYTES: u64 = 4 * MAX_PICTURE_PIXELS;

/// Reads a PNG or JPEG photo or scan of a digit and prepares it like MNIST.
#[cfg(feature = "native")]
pub fn read_picture(path: &std::path::Path) -> Result<[u8; IMAGE_PIXELS], String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read the file: {e}"))?;
    prepare_picture(&bytes)
}

/// A PNG or JPEG file's bytes (the format is told by its content) prepared like MNIST. A picture
/// larger than [`MAX_PICTURE_PIXELS`] is refused before it is decoded.
#[cfg(feature = "native")]
pub fn prepare_picture(bytes: &[u8]) -> Result<[u8; IMAGE_PIXELS], String> {
    let describe = |e: image::ImageError| match e {
        image::ImageError::IoError(e) => format!("cannot read the file: {e}"),
        image::ImageError::Unsupported(_) | image::ImageError::Decoding(_) => {
            "not a PNG or JPEG image".to_string()
        }
        image::ImageError::Limits(_) => format!(
            "the picture needs more than the {} MB a picture may take to decode",
            MAX_PICTURE_BYTES >> 20
        ),
        other => format!("cannot decode the image: {other}"),
    };
    let reader = || {
        image::ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| format!("cannot read the file: {e}"))
    };
    let (width, height) = reader()?.into_dimensions().map_err(describe)?;
    if u64::from(width) * u64::from(height) > MAX_PICTURE_PIXELS {
        return Err(format!(
            "the picture is {width}×{height} pixels, more than the {} megapixels it may have: \
             scale it down",
            MAX_PICTURE_PIXELS >> 20
        ));
    }
    let mut reader = reader()?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_PICTURE_BYTES);
    reader.limits(limits);
    let rgba = reader.decode().map_err(describe)?.into_rgba8();
    let (width, height) = (rgba.width() as usize, rgba.height() as usize);
    let gray = crate::model::preprocess::rgba_to_gray(rgba.as_raw(), width, height)
        .map_err(|e| e.to_string())?;
    crate::model::preprocess::to_mnist(&gray, width, height).map_err(|e| e.to_string())
}
