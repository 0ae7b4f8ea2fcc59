//! The IDX format MNIST ships in: a header (magic, item type, dimensions) and unsigned bytes.
//! Everything read from a file is checked before it is trusted, so a truncated download or a
//! wrong file gives an error that names the file instead of a panic or silently bad training.

use std::fmt;
use std::path::Path;

use super::{IMAGE_SIDE, NUM_CLASSES};

/// The only IDX item type supported: unsigned bytes.
const UNSIGNED_BYTE: u8 = 0x08;
/// Name used in errors for data that did not come from a file.
pub(super) const MEMORY: &str = "memory";

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
pub(super) fn check_labels(file: &str, labels: &[u8]) -> Result<(), DataError> {
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
pub(super) fn read(path: &Path) -> Result<Vec<u8>, DataError> {
    std::fs::read(path).map_err(|e| DataError::io(&path.display().to_string(), &e))
}
