//! Why the model answers what it does: which pixels move a class's score.
//!
//! - The **gradient** of the class score (the logit, before softmax) with respect to the input
//!   pixels: one forward and one backward pass. Positive where more ink would raise the score.
//! - **SmoothGrad** (Smilkov et al., 2017): the mean gradient over noisy copies of the input,
//!   which keeps what the gradient says consistently and drops its pixel-level noise.
//! - **Occlusion**: the class's probability drop when a patch is greyed out (set to the
//!   training set's mean pixel). Slower, but it measures the model's answer directly, so it
//!   checks that the gradient maps are not noise: [`Explanation::agreement`] correlates the two.

use burn::module::Module;
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};
use serde::Serialize;

use super::{read_floats, ViewCost};
use crate::data::random::SplitMix64;
use crate::data::{Normalization, IMAGE_PIXELS, IMAGE_SIDE, NUM_CLASSES};
use crate::model::Model;

/// How a saliency map is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SaliencyMethod {
    /// The plain gradient of the class score: 1 forward + 1 backward pass.
    Gradient,
    /// The mean gradient over [`SMOOTHGRAD_SAMPLES`] copies with Gaussian noise of
    /// [`SMOOTHGRAD_NOISE`] times the pixel range.
    SmoothGrad,
}

pub const SMOOTHGRAD_SAMPLES: usize = 16;
pub const SMOOTHGRAD_NOISE: f32 = 0.15;
/// Occlusion's grey square and the step between squares: 8×8 positions cover the 28×28 input.
pub const OCCLUSION_PATCH: usize = 7;
pub const OCCLUSION_STRIDE: usize = 3;
/// MNIST's mean training pixel (0.1307 of white, as a byte): occlusion's grey.
const MEAN_PIXEL: u8 = 33;
const OCCLUSION_POSITIONS: usize = (IMAGE_SIDE - OCCLUSION_PATCH) / OCCLUSION_STRIDE + 1;

impl SaliencyMethod {
    pub fn cost(self) -> ViewCost {
        let n = match self {
            Self::Gradient => 1,
            Self::SmoothGrad => SMOOTHGRAD_SAMPLES,
        };
        ViewCost {
            forward_passes: n,
            backward_passes: n,
        }
    }

    /// What the map is, in a sentence for the page and the command line.
    pub fn describe(self) -> String {
        match self {
            Self::Gradient => "gradient of the class score with respect to the input".into(),
            Self::SmoothGrad => format!(
                "SmoothGrad: the gradient of the class score averaged over {SMOOTHGRAD_SAMPLES} \
                 copies with noise of {:.0}% of the pixel range",
                SMOOTHGRAD_NOISE * 100.0
            ),
        }
    }
}

/// The cost of an occlusion map: one forward pass per square position, and the original.
pub fn occlusion_cost() -> ViewCost {
    ViewCost {
        forward_passes: OCCLUSION_POSITIONS * OCCLUSION_POSITIONS + 1,
        backward_passes: 0,
    }
}

/// The saliency map of `class` for one image: 28×28 values, row by row, in units of class
/// score per (normalized) pixel value. Dropout is off and BatchNorm uses its running statistics.
pub async fn saliency(
    model: &Model,
    image: &[u8; IMAGE_PIXELS],
    class: usize,
    normalization: Normalization,
    method: SaliencyMethod,
    device: &Device,
) -> Result<Vec<f32>, String> {
    check_class(class)?;
    let clean: Vec<f32> = image.iter().map(|&p| normalization.apply(p)).collect();
    let inputs: Vec<f32> = match method {
        SaliencyMethod::Gradient => clean,
        SaliencyMethod::SmoothGrad => {
            let sigma = SMOOTHGRAD_NOISE * (normalization.apply(255) - normalization.apply(0));
            // A fixed stream: the same drawing always gets the same map.
            let mut rng = SplitMix64(0x5A11_E4C3);
            (clean.repeat(SMOOTHGRAD_SAMPLES).into_iter())
                .map(|x| x + sigma * rng.normal() as f32)
                .collect()
        }
    };
    let copies = inputs.len() / IMAGE_PIXELS;
    let autodiff = device.clone().without_autodiff().autodiff();
    let model = model.valid().no_grad().to_device(&autodiff);
    let shape = [copies, 1, IMAGE_SIDE, IMAGE_SIDE];
    let x = Tensor::<4>::from_data(TensorData::new(inputs, shape), &autodiff).require_grad();
    let scores = model
        .forward(x.clone())
        .slice([0..copies, class..class + 1]); // [copies, 1]
    let grads = scores.sum().backward();
    let gradient = x
        .grad(&grads)
        .ok_or("the input got no gradient")?
        .sum_dim(0)
        .div_scalar(copies as f64)
        .reshape([IMAGE_PIXELS]); // [784]
    read_floats(gradient).await
}

/// How much `class`'s probability drops when each part of the image is greyed out: for each
/// pixel, the mean drop over the squares that cover it (28×28 values, row by row).
pub async fn occlusion(
    model: &Model,
    image: &[u8; IMAGE_PIXELS],
    class: usize,
    normalization: Normalization,
    device: &Device,
) -> Result<Vec<f32>, String> {
    check_class(class)?;
    let clean: Vec<f32> = image.iter().map(|&p| normalization.apply(p)).collect();
    let grey = normalization.apply(MEAN_PIXEL);
    let squares: Vec<(usize, usize)> = (0..OCCLUSION_POSITIONS)
        .flat_map(|r| {
            (0..OCCLUSION_POSITIONS).map(move |c| (r * OCCLUSION_STRIDE, c * OCCLUSION_STRIDE))
        })
        .collect();
    let mut inputs = clean.clone(); // the original first
    for &(top, left) in &squares {
        let mut copy = clean.clone();
        for row in top..top + OCCLUSION_PATCH {
            copy[row * IMAGE_SIDE + left..row * IMAGE_SIDE + left + OCCLUSION_PATCH].fill(grey);
        }
        inputs.extend(copy);
    }
    let count = squares.len() + 1;
    let device = device.clone().without_autodiff();
    let model = model.valid();
    let x = Tensor::<4>::from_data(
        TensorData::new(inputs, [count, 1, IMAGE_SIDE, IMAGE_SIDE]),
        &device,
    );
    let probabilities = softmax(model.forward(x), 1).slice([0..count, class..class + 1]);
    let p = read_floats(probabilities).await?;
    let (mut drop, mut covers) = (vec![0.0f32; IMAGE_PIXELS], vec![0u32; IMAGE_PIXELS]);
    for (&(top, left), &occluded) in squares.iter().zip(&p[1..]) {
        for row in top..top + OCCLUSION_PATCH {
            for col in left..left + OCCLUSION_PATCH {
                drop[row * IMAGE_SIDE + col] += p[0] - occluded;
                covers[row * IMAGE_SIDE + col] += 1;
            }
        }
    }
    Ok(drop
        .iter()
        .zip(&covers)
        .map(|(d, &n)| d / n.max(1) as f32)
        .collect())
}

/// A saliency map and its occlusion check for one class, as `kindling explain` writes it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Explanation {
    pub class: usize,
    pub method: SaliencyMethod,
    /// The method in words.
    pub description: String,
    pub saliency: Vec<f32>,
    pub occlusion: Vec<f32>,
    /// Pearson correlation of |saliency| with the occlusion drop, over the 784 pixels: near 0
    /// would say the gradient map is noise; the trained seed model's are clearly positive.
    pub agreement: f32,
    pub saliency_cost: ViewCost,
    pub occlusion_cost: ViewCost,
}

/// SmoothGrad and occlusion maps of `class` for one image.
pub async fn explain(
    model: &Model,
    image: &[u8; IMAGE_PIXELS],
    class: usize,
    normalization: Normalization,
    device: &Device,
) -> Result<Explanation, String> {
    let method = SaliencyMethod::SmoothGrad;
    let saliency = saliency(model, image, class, normalization, method, device).await?;
    let occlusion = occlusion(model, image, class, normalization, device).await?;
    let magnitude: Vec<f32> = saliency.iter().map(|v| v.abs()).collect();
    Ok(Explanation {
        class,
        method,
        description: method.describe(),
        agreement: correlation(&magnitude, &occlusion),
        saliency,
        occlusion,
        saliency_cost: method.cost(),
        occlusion_cost: occlusion_cost(),
    })
}

fn check_class(class: usize) -> Result<(), String> {
    match class < NUM_CLASSES {
        true => Ok(()),
        false => Err(format!("a class must be a digit from 0 to 9, got {class}")),
    }
}

/// Pearson's correlation coefficient; 0 when either side is constant.
pub fn correlation(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len()) as f64;
    let mean = |x: &[f32]| x.iter().map(|&v| v as f64).sum::<f64>() / n;
    let (ma, mb) = (mean(a), mean(b));
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (x as f64 - ma, y as f64 - mb);
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    match aa > 0.0 && bb > 0.0 {
        true => (ab / (aa * bb).sqrt()) as f32,
        false => 0.0,
    }
}
