//! The page's views inside the network, computed by the prediction worker's model on the CPU,
//! so they never take time from a training step: each layer's output and a saliency map as you
//! draw, SmoothGrad with occlusion on request, the filters, weight histograms and the test set's
//! embedding map as the trainer's weights arrive.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::predict::{input, now, Predictor};
use super::{js_error, json};
use crate::data::{Dataset, Split};
use crate::inspect::embedding::{Features, EMBEDDING_IMAGES};
use crate::inspect::{self, weights, Activations, SaliencyMethod, ViewCost};
use crate::model::Model;

/// Bins of each layer's weight histogram.
const HISTOGRAM_BINS: usize = 40;

#[derive(Serialize)]
struct Look {
    /// The class the saliency map is for: the one asked, else the answer.
    class: usize,
    activations: Activations,
    saliency: Vec<f32>,
    method: String,
    /// Where this drawing falls on the embedding map, once there is one.
    point: Option<[f32; 2]>,
    activations_cost: ViewCost,
    saliency_cost: ViewCost,
}

#[wasm_bindgen]
impl Predictor {
    /// What the network makes of a drawing (a 28×28 input from `prepareImage`): every layer's
    /// output and the gradient saliency of `class`, or of the answer when none is given. JSON.
    pub fn look(&self, image: &[u8], class: Option<usize>) -> Result<String, JsError> {
        let image = input(image)?;
        let norm = self.header.normalization;
        let activations =
            now(inspect::activations(&self.model, image, norm, &self.device))?.map_err(js_error)?;
        let answer = activations.answer();
        let class = class.unwrap_or(answer);
        let method = SaliencyMethod::Gradient;
        let saliency = now(inspect::saliency(
            &self.model,
            image,
            class,
            norm,
            method,
            &self.device,
        ))?
        .map_err(js_error)?;
        let point = (self.projection.as_ref()).map(|p| p.project(&activations.hidden));
        Ok(json(&Look {
            class,
            activations,
            saliency,
            method: method.describe(),
            point,
            activations_cost: ViewCost {
                forward_passes: 1,
                backward_passes: 0,
            },
            saliency_cost: method.cost(),
        }))
    }

    /// SmoothGrad and occlusion maps of `class` for a drawing, and how well they agree. JSON.
    pub fn explain(&self, image: &[u8], class: usize) -> Result<String, JsError> {
        let image = input(image)?;
        let norm = self.header.normalization;
        let explanation = now(inspect::explain(
            &self.model,
            image,
            class,
            norm,
            &self.device,
        ))?
        .map_err(js_error)?;
        Ok(json(&explanation))
    }

    /// The convolutions' filters. JSON.
    pub fn filters(&self) -> Result<String, JsError> {
        Ok(json(
            &now(weights::filters(&self.model))?.map_err(js_error)?,
        ))
    }

    /// Each layer's weight histogram. JSON.
    pub fn histograms(&self) -> Result<String, JsError> {
        let histograms = now(weights::histograms(&self.model, HISTOGRAM_BINS))?;
        Ok(json(&histograms.map_err(js_error)?))
    }

    /// When the training's health is measured and what its warnings watch for, in sentences.
    #[wasm_bindgen(js_name = healthNote)]
    pub fn health_note() -> String {
        inspect::health::describe_thresholds()
    }

    /// The test set for the embedding map: the inflated IDX files of its images and labels.
    #[wasm_bindgen(js_name = setTestSet)]
    pub fn set_test_set(&mut self, images: &[u8], labels: &[u8]) -> Result<(), JsError> {
        let (images_file, labels_file) = Split::Test.file_names();
        let set = Dataset::from_idx(images_file, images, labels_file, labels).map_err(js_error)?;
        self.test = Some(set);
        Ok(())
    }

    /// The pixels (784 each) of the test images the map shows, for its hover.
    #[wasm_bindgen(js_name = testImages)]
    pub fn test_images(&self) -> Vec<u8> {
        let Some(test) = &self.test else {
            return Vec::new();
        };
        (0..EMBEDDING_IMAGES.min(test.len()))
            .flat_map(|i| test.image(i).to_vec())
            .collect()
    }

    /// Starts the map of the first 2,000 test images in the dense layer's space (PCA), with
    /// the current weights; `embeddingStep` computes it a few images at a time.
    #[wasm_bindgen(js_name = embeddingStart)]
    pub fn embedding_start(&mut self) -> Result<(), JsError> {
        let test =
            (self.test.as_ref()).ok_or_else(|| JsError::new("the test set has not arrived yet"))?;
        self.map_in_progress = Some(MapInProgress {
            model: self.model.clone(),
            count: EMBEDDING_IMAGES.min(test.len()),
            features: Features::default(),
        });
        Ok(())
    }

    /// Adds up to `images` images to the map in progress; the map as JSON once it is complete.
    #[wasm_bindgen(js_name = embeddingStep)]
    pub fn embedding_step(&mut self, images: usize) -> Result<Option<String>, JsError> {
        let (Some(test), Some(map)) = (&self.test, &mut self.map_in_progress) else {
            return Err(JsError::new("no map is being computed"));
        };
        let start = map.features.len();
        let end = (start + images.max(1)).min(map.count);
        let norm = self.header.normalization;
        let gather = map
            .features
            .gather(&map.model, test, start..end, norm, &self.device);
        now(gather)?.map_err(js_error)?;
        if end < map.count {
            return Ok(None);
        }
        let features = self.map_in_progress.take().expect("checked above").features;
        let map = features.map(test, self.projection.as_ref());
        self.projection = Some(map.projection.clone());
        Ok(Some(json(&map)))
    }
}

/// A map being computed a part at a time, with the weights it started with.
pub(super) struct MapInProgress {
    model: Model,
    count: usize,
    features: Features,
}
