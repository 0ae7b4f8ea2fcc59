//! A validated set of images and labels, its bytes shared between the views runs take of it.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use super::idx::{check_labels, parse_images, parse_labels, read, DataError, MEMORY};
use super::{Normalization, Split, IMAGE_PIXELS, IMAGE_SIDE, NUM_CLASSES};

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
