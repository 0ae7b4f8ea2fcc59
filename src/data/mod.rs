//! MNIST in the IDX format: reading and validating the raw files, turning pixels into model input,
//! and the order in which an epoch visits the images.
//!
//! Everything read from a file is checked before it is trusted, so a truncated download or a
//! wrong file gives an error that names the file instead of a panic or silently bad training.
//! The epoch order uses a hand-written generator so native and wasm builds shuffle identically.

pub mod augment;
mod dataset;
mod idx;
pub mod random;

pub use dataset::Dataset;
pub use idx::{parse_images, parse_labels, DataError};

use crate::data::random::SplitMix64;

/// Side of a square MNIST image, in pixels.
pub const IMAGE_SIDE: usize = 28;
/// Pixels in one image.
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;
/// Digits 0 to 9.
pub const NUM_CLASSES: usize = 10;

/// Which split of MNIST-like data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

impl Split {
    /// The raw (uncompressed) file names of this split: `(images, labels)`.
    pub fn file_names(self) -> (&'static str, &'static str) {
        match self {
            Split::Train => ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
            Split::Test => ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
        }
    }
}

/// Pixel scaling applied when images become model input.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Normalization {
    /// `x / 255`, into `[0, 1]`.
    #[default]
    UnitRange,
    /// `(x / 255 - mean) / std`.
    MeanStd { mean: f32, std: f32 },
}

impl Normalization {
    /// Mean and standard deviation of the MNIST training pixels.
    pub const MNIST: Normalization = Normalization::MeanStd {
        mean: 0.1307,
        std: 0.3081,
    };

    /// The model input for one pixel.
    pub fn apply(self, pixel: u8) -> f32 {
        let unit = f32::from(pixel) / 255.0;
        match self {
            Normalization::UnitRange => unit,
            Normalization::MeanStd { mean, std } => (unit - mean) / std,
        }
    }

    /// `apply` for every byte value, so the hot loop is a lookup instead of a division.
    pub fn table(self) -> [f32; 256] {
        let mut table = [0.0; 256];
        for (pixel, out) in (0..=u8::MAX).zip(table.iter_mut()) {
            *out = self.apply(pixel);
        }
        table
    }
}

/// The order in which one epoch visits the items: a seeded Fisher–Yates shuffle, deterministic
/// for `(seed, epoch)`, different across epochs, and identical on native and wasm.
pub fn epoch_order(len: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let epoch_mix = SplitMix64(epoch as u64).next_u64();
    let mut order: Vec<usize> = (0..len).collect();
    SplitMix64(seed ^ epoch_mix).shuffle(&mut order);
    order
}

/// Splits an order into batch-sized chunks; the last partial batch is kept. A batch size of 0
/// is treated as 1 rather than panicking.
pub fn batches(order: &[usize], batch_size: usize) -> impl Iterator<Item = &[usize]> {
    order.chunks(batch_size.max(1))
}

/// How many batches `batches` yields for `len` items (0 batch size treated as 1).
pub fn num_batches(len: usize, batch_size: usize) -> usize {
    len.div_ceil(batch_size.max(1))
}
