//! The convolutional autoencoder: the CNN's two convolution blocks squeeze a digit into a few
//! numbers (the code), and two transposed convolutions draw it back from them.
//!
//! With a 2-number code every digit is a point on a plane, and any point of the plane can be
//! decoded into a picture: the page's map. The denoising variant learns from inputs with noise
//! added and is scored on the clean digit, so it learns what a digit looks like rather than to
//! copy pixels.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::{log_sigmoid, relu, sigmoid};
use burn::tensor::{Device, Tensor, TensorData};

use crate::cost::LayerCost;
use crate::data::random::SplitMix64;
use crate::data::{IMAGE_PIXELS, IMAGE_SIDE};
use crate::kernels::conv2d_pool2_relu;
use crate::training::settings;

/// The CNN's encoder widths, and the decoder's first map: 64 maps of 7×7, doubled twice to 28.
const CONV1: usize = 32;
const CONV2: usize = 64;
const SEED_SIDE: usize = IMAGE_SIDE / 4;
/// 28 → conv 26 → pool 13 → conv 11 → pool 5.
const ENCODED_SIDE: usize = 5;

/// The autoencoder's sizes and its denoising.
#[derive(Config, Debug, PartialEq)]
pub struct AutoencoderConfig {
    /// Numbers the code has: 32 reconstructs well, 2 can be drawn as a map.
    #[config(default = "settings::BOTTLENECK.default_count()")]
    pub bottleneck: usize,
    /// Denoising: the standard deviation of the Gaussian noise added to each training input
    /// (pixels in [0, 1]); 0 trains a plain autoencoder.
    #[config(default = "settings::NOISE.default")]
    pub noise: f64,
}

impl AutoencoderConfig {
    pub fn validate(&self) -> Result<(), String> {
        settings::check_all(&[
            (settings::BOTTLENECK, self.bottleneck as f64),
            (settings::NOISE, self.noise),
        ])
    }

    /// "code 32, denoising σ 0.3".
    pub fn describe(&self) -> String {
        match self.noise > 0.0 {
            true => format!("code {}, denoising σ {}", self.bottleneck, self.noise),
            false => format!("code {}", self.bottleneck),
        }
    }

    pub fn init(&self, device: &Device) -> Autoencoder {
        let deconv = |from, to| {
            ConvTranspose2dConfig::new([from, to], [4, 4])
                .with_stride([2, 2])
                .with_padding([1, 1])
                .init(device)
        };
        Autoencoder {
            conv1: Conv2dConfig::new([1, CONV1], [3, 3]).init(device),
            conv2: Conv2dConfig::new([CONV1, CONV2], [3, 3]).init(device),
            encode: LinearConfig::new(CONV2 * ENCODED_SIDE * ENCODED_SIDE, self.bottleneck)
                .init(device),
            expand: LinearConfig::new(self.bottleneck, CONV2 * SEED_SIDE * SEED_SIDE).init(device),
            deconv1: deconv(CONV2, CONV1),
            deconv2: deconv(CONV1, 1),
        }
    }

    /// Parameters and multiply-adds per image, layer by layer. A transposed convolution does
    /// as many multiply-adds as the convolution it is the gradient of: input values × kernel.
    pub fn layer_costs(&self) -> Vec<LayerCost> {
        let code = self.bottleneck;
        let flat = CONV2 * ENCODED_SIDE * ENCODED_SIDE;
        let seed = CONV2 * SEED_SIDE * SEED_SIDE;
        let inner = |name, params, macs| LayerCost {
            name,
            params,
            macs,
            backward_macs: 2 * macs,
        };
        let conv1_macs = 26 * 26 * CONV1 * 9;
        vec![
            LayerCost {
                name: "conv1",
                params: 9 * CONV1 + CONV1,
                macs: conv1_macs,
                backward_macs: conv1_macs, // the image needs no gradient
            },
            inner(
                "conv2",
                9 * CONV1 * CONV2 + CONV2,
                11 * 11 * CONV2 * 9 * CONV1,
            ),
            inner("encode", flat * code + code, flat * code),
            inner("expand", code * seed + seed, code * seed),
            inner("deconv1", 16 * CONV2 * CONV1 + CONV1, seed * 16 * CONV1),
            inner("deconv2", 16 * CONV1 + 1, CONV1 * 14 * 14 * 16),
        ]
    }

    /// Output shape of each layer for one image, for `kindling info`.
    pub fn layer_shapes(&self) -> Vec<(&'static str, Vec<usize>)> {
        vec![
            ("input", vec![1, IMAGE_SIDE, IMAGE_SIDE]),
            ("conv1 3×3 + maxpool + relu", vec![CONV1, 13, 13]),
            (
                "conv2 3×3 + maxpool + relu",
                vec![CONV2, ENCODED_SIDE, ENCODED_SIDE],
            ),
            ("dense (the code)", vec![self.bottleneck]),
            ("dense + relu", vec![CONV2, SEED_SIDE, SEED_SIDE]),
            ("deconv1 4×4 stride 2 + relu", vec![CONV1, 14, 14]),
            (
                "deconv2 4×4 stride 2 + sigmoid",
                vec![1, IMAGE_SIDE, IMAGE_SIDE],
            ),
        ]
    }

    /// The noisy copy of a batch (pixels in [0, 1]) a denoising autoencoder learns from, drawn
    /// from `rng`, kept in [0, 1]. The clean batch stays the target.
    pub fn add_noise(&self, pixels: &[f32], rng: &mut SplitMix64) -> Vec<f32> {
        let sigma = self.noise;
        (pixels.iter())
            .map(|&p| (p as f64 + sigma * rng.normal()).clamp(0.0, 1.0) as f32)
            .collect()
    }
}

/// The autoencoder. Build it with [`AutoencoderConfig::init`].
#[derive(Module, Debug)]
pub struct Autoencoder {
    pub conv1: Conv2d,
    pub conv2: Conv2d,
    pub encode: Linear,
    pub expand: Linear,
    pub deconv1: ConvTranspose2d,
    pub deconv2: ConvTranspose2d,
}

impl Autoencoder {
    /// The reconstruction of each image, pixels in (0, 1): `[batch, 1, 28, 28]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<4> {
        self.decode(self.encode(images))
    }

    /// The code of each image: `[batch, bottleneck]`.
    pub fn encode(&self, images: Tensor<4>) -> Tensor<2> {
        let [batch, _, _, _] = images.dims();
        let block1 = conv2d_pool2_relu(&self.conv1, images); // [batch, 32, 13, 13]
        let block2 = conv2d_pool2_relu(&self.conv2, block1); // [batch, 64, 5, 5]
        self.encode.forward(block2.reshape([batch as i32, -1])) // [batch, bottleneck]
    }

    /// The picture a code stands for: `[batch, 1, 28, 28]`.
    pub fn decode(&self, codes: Tensor<2>) -> Tensor<4> {
        sigmoid(self.decode_logits(codes))
    }

    /// [`Autoencoder::decode`] before its sigmoid: each pixel's log-odds of ink.
    pub fn decode_logits(&self, codes: Tensor<2>) -> Tensor<4> {
        let [batch, _] = codes.dims();
        let seed = relu(self.expand.forward(codes)) // [batch, 3136]
            .reshape([batch, CONV2, SEED_SIDE, SEED_SIDE]); // [batch, 64, 7, 7]
        let grown = relu(self.deconv1.forward(seed)); // [batch, 32, 14, 14]
        self.deconv2.forward(grown) // [batch, 1, 28, 28]
    }

    /// The training loss of reconstructing `targets` from `inputs` (the same images, or noisy
    /// copies): binary cross-entropy per pixel, on the log-odds. Mean squared error through a
    /// sigmoid stalls: most pixels are black, the output saturates there and the sigmoid's
    /// slope, by which every gradient is multiplied, vanishes; a 2,000-image run sat at an
    /// all-black picture. Cross-entropy's gradient is the plain difference, `sigmoid(z) − t`.
    /// The test metric stays the mean squared error.
    pub fn loss(&self, inputs: Tensor<4>, targets: Tensor<4>) -> Tensor<1> {
        let logits = self.decode_logits(self.encode(inputs)); // [batch, 1, 28, 28]
        let ink = targets.clone() * log_sigmoid(logits.clone());
        let blank = targets.neg().add_scalar(1.0) * log_sigmoid(logits.neg());
        (ink + blank).mean().neg()
    }
}

/// Mean squared error per pixel between reconstructions and targets: the loss, and the test
/// set's reconstruction error.
pub fn mean_squared_error(reconstructions: Tensor<4>, targets: Tensor<4>) -> Tensor<1> {
    (reconstructions - targets).square().mean()
}

/// Images (28×28 bytes each, concatenated) as a `[n, 1, 28, 28]` input in [0, 1].
fn input(images: &[u8], device: &Device) -> Tensor<4> {
    let count = images.len() / IMAGE_PIXELS;
    let pixels: Vec<f32> = images.iter().map(|&p| f32::from(p) / 255.0).collect();
    Tensor::from_data(
        TensorData::new(pixels, [count, 1, IMAGE_SIDE, IMAGE_SIDE]),
        device,
    )
}

/// A pixel in [0, 1] as a byte.
fn pixel_byte(p: f32) -> u8 {
    (p * 255.0).round().clamp(0.0, 255.0) as u8
}

async fn read<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>, String> {
    let data = tensor
        .into_data_async()
        .await
        .map_err(|e| format!("{e:?}"))?;
    data.convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| format!("{e:?}"))
}

impl Autoencoder {
    /// The reconstructions of `images` (28×28 bytes each, concatenated) as bytes, read back
    /// (asynchronously, as WebGPU needs): what the page draws beside the originals.
    pub async fn reconstruct_bytes(
        &self,
        images: &[u8],
        device: &Device,
    ) -> Result<Vec<u8>, String> {
        let pixels = read(self.forward(input(images, device))).await?;
        Ok(pixels.iter().map(|&p| pixel_byte(p)).collect())
    }

    /// The code of each image (`bottleneck` numbers each, concatenated).
    pub async fn codes(&self, images: &[u8], device: &Device) -> Result<Vec<f32>, String> {
        read(self.encode(input(images, device))).await
    }

    /// The picture each code (`bottleneck` numbers each, concatenated) stands for, as bytes.
    pub async fn decode_bytes(&self, codes: &[f32], device: &Device) -> Result<Vec<u8>, String> {
        let size = self.encode.weight.val().dims()[1];
        if codes.is_empty() || !codes.len().is_multiple_of(size) {
            return Err(format!("a code has {size} numbers, got {}", codes.len()));
        }
        let codes = Tensor::from_data(
            TensorData::new(codes.to_vec(), [codes.len() / size, size]),
            device,
        );
        let pixels = read(self.decode(codes)).await?;
        Ok(pixels.iter().map(|&p| pixel_byte(p)).collect())
    }
}
