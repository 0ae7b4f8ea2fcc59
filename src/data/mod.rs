//! MNIST in the IDX format: reading and validating the raw files, turning pixels into model input,
//! and the order in which an epoch visits the images.
//!
//! Everything read from a file is checked before it is trusted, so a truncated download or a
//! wrong file gives an error that names the file instead of a panic or silently bad training.
//! The epoch order uses a hand-written generator so native and wasm builds shuffle identically.

pub mod augment;
pub mod random;

use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use crate::data::random::SplitMix64;

/// Side of a square MNIST image, in pixels.
pub const IMAGE_SIDE: usize = 28;
/// Pixels in one image.
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;
/// Digits 0 to 9.
pub const NUM_CLASSES: usize = 10;

/// The only IDX item type supported: unsigned bytes.
const UNSIGNED_BYTE: u8 = 0x08;
/// Name used in errors for data that did not come from a file.
const MEMORY: &str = "memory";

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

/// Every way a data file can be wrong. Each variant names the file and what is wrong with it.
#[derive(Debug, Clone, PartialEq)]
pub enum DataError {
    /// The file could not be read.
    Io { file: String, message: String },
    /// The file is shorter than its header.
    TooShort { file: String, len: usize },
    /// The first two bytes of an IDX magic number must be zero.
    BadMagic {
        file: String,
        found: u32,
        expected: u32,
    },
    /// Only unsigned bytes (0x08) are supported.
    BadItemType { file: String, found: u8 },
    /// Images have 3 dimensions, labels 1.
    BadDimensions {
        file: String,
        found: u8,
        expected: u8,
    },
    /// An image has zero rows or columns.
    ZeroSize { file: String },
    /// The length the header declares differs from the real one (too long or too short).
    LengthMismatch {
        file: String,
        declared: usize,
        actual: usize,
    },
    /// The images and labels files hold different numbers of items.
    CountMismatch {
        images: String,
        labels: String,
        image_count: usize,
        label_count: usize,
    },
    /// A label is not a digit.
    BadLabel {
        file: String,
        index: usize,
        label: u8,
    },
    /// The model needs 28x28 images.
    WrongImageSize {
        file: String,
        rows: usize,
        cols: usize,
    },
    /// The file holds no items.
    Empty { file: String },
}

impl DataError {
    /// An `Io` error for `file`, with a hint to fetch the data when the file is missing.
    fn io(file: &str, err: &std::io::Error) -> Self {
        let message = if err.kind() == std::io::ErrorKind::NotFound {
            format!("{err} (run ./build.sh data to fetch MNIST)")
        } else {
            err.to_string()
        };
        DataError::Io {
            file: file.to_string(),
            message,
        }
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataError::Io { file, message } => write!(f, "{file}: could not be read: {message}"),
            DataError::TooShort { file, len } => {
                write!(f, "{file}: {len} bytes is shorter than an IDX header")
            }
            DataError::BadMagic { file, found, expected } => write!(
                f,
                "{file}: magic number 0x{found:08x} is not an IDX magic number (expected 0x{expected:08x})"
            ),
            DataError::BadItemType { file, found } => write!(
                f,
                "{file}: item type 0x{found:02x} is not supported, only unsigned bytes (0x08)"
            ),
            DataError::BadDimensions { file, found, expected } => {
                write!(f, "{file}: has {found} dimensions where {expected} were expected")
            }
            DataError::ZeroSize { file } => write!(f, "{file}: an image has zero rows or columns"),
            DataError::LengthMismatch { file, declared, actual } => write!(
                f,
                "{file}: the header declares {declared} bytes but there are {actual}"
            ),
            DataError::CountMismatch { images, labels, image_count, label_count } => write!(
                f,
                "{images}: holds {image_count} images but {labels} holds {label_count} labels"
            ),
            DataError::BadLabel { file, index, label } => {
                write!(f, "{file}: label {label} at index {index} is not a digit 0-9")
            }
            DataError::WrongImageSize { file, rows, cols } => write!(
                f,
                "{file}: images are {rows}x{cols} but the model needs {IMAGE_SIDE}x{IMAGE_SIDE}"
            ),
            DataError::Empty { file } => write!(f, "{file}: holds no items"),
        }
    }
}

impl std::error::Error for DataError {}

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

/// Reads a big-endian u32 at `at`; the caller has checked the length.
fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let word: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_be_bytes(word))
}

/// Checks the header of an IDX file of unsigned bytes with `D` dimensions against the file's
/// length, and returns the sizes and the payload.
fn parse_idx<'a, const D: usize>(
    file: &str,
    bytes: &'a [u8],
) -> Result<([usize; D], &'a [u8]), DataError> {
    let file = || file.to_string();
    let header_len = 4 + 4 * D;
    let too_short = || DataError::TooShort {
        file: file(),
        len: bytes.len(),
    };
    if bytes.len() < header_len {
        return Err(too_short());
    }
    let magic = read_u32(bytes, 0).ok_or_else(too_short)?;
    let [zero0, zero1, item_type, dims] = magic.to_be_bytes();
    let expected_dims = D as u8;
    if zero0 != 0 || zero1 != 0 {
        let expected = u32::from_be_bytes([0, 0, UNSIGNED_BYTE, expected_dims]);
        return Err(DataError::BadMagic {
            file: file(),
            found: magic,
            expected,
        });
    }
    if item_type != UNSIGNED_BYTE {
        return Err(DataError::BadItemType {
            file: file(),
            found: item_type,
        });
    }
    if dims != expected_dims {
        return Err(DataError::BadDimensions {
            file: file(),
            found: dims,
            expected: expected_dims,
        });
    }
    let mut sizes = [0usize; D];
    for (d, size) in sizes.iter_mut().enumerate() {
        let raw = read_u32(bytes, 4 + 4 * d).ok_or_else(too_short)?;
        *size = usize::try_from(raw).unwrap_or(usize::MAX);
    }
    // sizes[0] is the item count; the others are the shape of one item.
    if sizes[1..].contains(&0) {
        return Err(DataError::ZeroSize { file: file() });
    }
    // Saturating: a header declaring more than memory can address is simply a mismatch.
    let declared = sizes
        .iter()
        .try_fold(1usize, |acc, &s| acc.checked_mul(s))
        .and_then(|payload| payload.checked_add(header_len))
        .unwrap_or(usize::MAX);
    if declared != bytes.len() {
        return Err(DataError::LengthMismatch {
            file: file(),
            declared,
            actual: bytes.len(),
        });
    }
    if sizes[0] == 0 {
        return Err(DataError::Empty { file: file() });
    }
    Ok((sizes, &bytes[header_len..]))
}

/// Parses an IDX3 images file: returns `(count, rows, cols, pixels)`, pixels row-major.
pub fn parse_images<'a>(
    file: &str,
    bytes: &'a [u8],
) -> Result<(usize, usize, usize, &'a [u8]), DataError> {
    let ([count, rows, cols], pixels) = parse_idx::<3>(file, bytes)?;
    Ok((count, rows, cols, pixels))
}

/// Parses an IDX1 labels file and checks every label is a digit.
pub fn parse_labels<'a>(file: &str, bytes: &'a [u8]) -> Result<&'a [u8], DataError> {
    let (_, labels) = parse_idx::<1>(file, bytes)?;
    check_labels(file, labels)?;
    Ok(labels)
}

/// The first label that is not a digit, as an error.
fn check_labels(file: &str, labels: &[u8]) -> Result<(), DataError> {
    match labels.iter().position(|&l| usize::from(l) >= NUM_CLASSES) {
        Some(index) => Err(DataError::BadLabel {
            file: file.to_string(),
            index,
            label: labels[index],
        }),
        None => Ok(()),
    }
}

/// Reads a whole file, naming its path in the error.
fn read(path: &Path) -> Result<Vec<u8>, DataError> {
    std::fs::read(path).map_err(|e| DataError::io(&path.display().to_string(), &e))
}

/// A validated image set: 28x28 u8 images with labels 0-9. Its bytes are shared: cloning,
/// `limit` and `split_at` copy no pixels, so the page parses MNIST once per worker and every
/// run it opens takes a view of it.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// `IMAGE_PIXELS` bytes per label of `all_labels`, image after image.
    all_images: Arc<[u8]>,
    all_labels: Arc<[u8]>,
    /// The items of the shared bytes this set holds.
    items: Range<usize>,
}

impl Dataset {
    /// Builds a dataset from the bytes of an IDX images file and an IDX labels file.
    pub fn from_idx(
        images_file: &str,
        images: &[u8],
        labels_file: &str,
        labels: &[u8],
    ) -> Result<Self, DataError> {
        let (count, rows, cols, pixels) = parse_images(images_file, images)?;
        if rows != IMAGE_SIDE || cols != IMAGE_SIDE {
            return Err(DataError::WrongImageSize {
                file: images_file.to_string(),
                rows,
                cols,
            });
        }
        let labels = parse_labels(labels_file, labels)?;
        if count != labels.len() {
            return Err(DataError::CountMismatch {
                images: images_file.to_string(),
                labels: labels_file.to_string(),
                image_count: count,
                label_count: labels.len(),
            });
        }
        Ok(Self::shared(pixels.into(), labels.into()))
    }

    fn shared(all_images: Arc<[u8]>, all_labels: Arc<[u8]>) -> Self {
        let items = 0..all_labels.len();
        Self {
            all_images,
            all_labels,
            items,
        }
    }

    /// Reads the raw IDX files of `split` from `dir`; errors name the full path.
    pub fn load(dir: &Path, split: Split) -> Result<Self, DataError> {
        let (images_name, labels_name) = split.file_names();
        let (images_path, labels_path) = (dir.join(images_name), dir.join(labels_name));
        let images = read(&images_path)?;
        let labels = read(&labels_path)?;
        Self::from_idx(
            &images_path.display().to_string(),
            &images,
            &labels_path.display().to_string(),
            &labels,
        )
    }

    /// Builds a dataset from raw 28x28 images and their labels (tests, the browser). Errors name
    /// the file "memory".
    pub fn from_parts(images: Vec<u8>, labels: Vec<u8>) -> Result<Self, DataError> {
        let declared = labels.len().saturating_mul(IMAGE_PIXELS);
        if images.len() != declared {
            return Err(DataError::LengthMismatch {
                file: MEMORY.to_string(),
                declared,
                actual: images.len(),
            });
        }
        if labels.is_empty() {
            return Err(DataError::Empty {
                file: MEMORY.to_string(),
            });
        }
        check_labels(MEMORY, &labels)?;
        Ok(Self::shared(images.into(), labels.into()))
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True only after `limit(0)` or a `split_at` that leaves nothing: loading never gives an
    /// empty set.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The 784 pixels of image `i`, row-major. Panics if `i >= len()`, like slice indexing.
    pub fn image(&self, i: usize) -> &[u8] {
        assert!(i < self.len(), "image {i} of a set of {}", self.len());
        let at = (self.items.start + i) * IMAGE_PIXELS;
        &self.all_images[at..at + IMAGE_PIXELS]
    }

    /// The label of image `i`. Panics if `i >= len()`, like slice indexing.
    pub fn label(&self, i: usize) -> u8 {
        self.labels()[i]
    }

    pub fn labels(&self) -> &[u8] {
        &self.all_labels[self.items.clone()]
    }

    /// The first `n` items (all of them if `n >= len()`), for quick runs.
    pub fn limit(mut self, n: usize) -> Self {
        let n = n.min(self.len());
        self.items.end = self.items.start + n;
        self
    }

    /// The first `n` items and the rest, e.g. to hold out a validation set.
    pub fn split_at(self, n: usize) -> (Self, Self) {
        let n = n.min(self.len());
        let middle = self.items.start + n;
        let rest = Self {
            items: middle..self.items.end,
            ..self.clone()
        };
        (self.limit(n), rest)
    }

    /// How many images there are of each digit.
    pub fn class_counts(&self) -> [usize; NUM_CLASSES] {
        let mut counts = [0; NUM_CLASSES];
        for &label in self.labels() {
            if let Some(count) = counts.get_mut(usize::from(label)) {
                *count += 1;
            }
        }
        counts
    }

    /// Writes the normalised pixels of the items at `indices`, in order, into `pixels_out`
    /// (`indices.len() * 784` values) and their labels into `labels_out`. Both are cleared first
    /// and reused, so training allocates nothing per batch. Panics if an index is out of range.
    pub fn fill_batch(
        &self,
        indices: &[usize],
        norm: Normalization,
        pixels_out: &mut Vec<f32>,
        labels_out: &mut Vec<i64>,
    ) {
        let table = norm.table();
        pixels_out.clear();
        pixels_out.reserve(indices.len() * IMAGE_PIXELS);
        for &i in indices {
            pixels_out.extend(self.image(i).iter().map(|&p| table[usize::from(p)]));
        }
        labels_out.clear();
        let labels = self.labels();
        labels_out.extend(indices.iter().map(|&i| i64::from(labels[i])));
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
