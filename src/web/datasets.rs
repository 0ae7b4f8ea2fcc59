//! MNIST as a worker holds it: the four IDX files parsed and checked once, when the worker has
//! downloaded them, by the same reader as the CLI. Every run the worker opens takes a view of
//! the same bytes (`Dataset` shares them), so no run copies or parses the files again.

use wasm_bindgen::prelude::*;

use super::js_error;
use crate::data::{Dataset, Split};

/// Cloning takes views of the same bytes.
#[wasm_bindgen]
#[derive(Clone)]
pub struct Datasets {
    pub(super) train: Dataset,
    pub(super) test: Dataset,
}

#[wasm_bindgen]
impl Datasets {
    /// Reads the four inflated IDX files (train images and labels, test images and labels).
    /// A damaged file is refused with a message naming it.
    #[wasm_bindgen(constructor)]
    pub fn new(
        train_images: &[u8],
        train_labels: &[u8],
        test_images: &[u8],
        test_labels: &[u8],
    ) -> Result<Datasets, JsError> {
        let read = |split: Split, images, labels| {
            let (images_file, labels_file) = split.file_names();
            Dataset::from_idx(images_file, images, labels_file, labels).map_err(js_error)
        };
        Ok(Datasets {
            train: read(Split::Train, train_images, train_labels)?,
            test: read(Split::Test, test_images, test_labels)?,
        })
    }

    /// Training images.
    #[wasm_bindgen(getter, js_name = trainLength)]
    pub fn train_length(&self) -> usize {
        self.train.len()
    }

    /// Test image `i`'s 784 pixels, row-major; an error past the end.
    #[wasm_bindgen(js_name = testImage)]
    pub fn test_image(&self, i: usize) -> Result<Vec<u8>, JsError> {
        if i >= self.test.len() {
            return Err(JsError::new(&format!(
                "there are {} test images, not {}",
                self.test.len(),
                i + 1
            )));
        }
        Ok(self.test.image(i).to_vec())
    }
}
