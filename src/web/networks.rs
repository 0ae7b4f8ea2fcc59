//! The page's views of the networks other than the CNN, from the prediction worker's copy of
//! the run's weights: the RNN's answer after each row of a drawing, the autoencoder's
//! reconstruction of a drawing, the codes of the test set (the map when the code has 2 numbers)
//! and the picture any code stands for.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::predict::{input, now, Predictor};
use super::{js_error, json};
use crate::data::NUM_CLASSES;
use crate::nets::{Autoencoder, Network, Rnn};

#[derive(Serialize)]
struct Rows {
    /// After each row, top to bottom: the ten probabilities.
    beliefs: Vec<[f32; NUM_CLASSES]>,
    /// The first row after which the final answer leads and keeps leading.
    settled_at: usize,
}

#[wasm_bindgen]
impl Predictor {
    /// The header (JSON) of the network other than the CNN that the trainer sent or the person
    /// loaded, if any: its `network` says which and with what sizes.
    #[wasm_bindgen(js_name = networkHeader)]
    pub fn network_header(&self) -> Option<String> {
        self.network.as_ref().map(|(_, header)| json(header))
    }

    /// Forgets the other network (a Reset): the page shows the shipped CNN alone.
    #[wasm_bindgen(js_name = clearNetwork)]
    pub fn clear_network(&mut self) {
        self.network = None;
    }

    /// The RNN's answer after each row of a drawing (a 28×28 input from `prepareImage`). JSON.
    pub fn rows(&self, image: &[u8]) -> Result<String, JsError> {
        let (rnn, norm) = self.rnn()?;
        let beliefs = now(rnn.beliefs_of(input(image)?, norm, &self.device))?.map_err(js_error)?;
        let answer = |b: &[f32; NUM_CLASSES]| {
            (0..NUM_CLASSES)
                .max_by(|&x, &y| b[x].total_cmp(&b[y]))
                .unwrap_or(0)
        };
        let last = beliefs.last().map(answer).unwrap_or(0);
        let settled_at = beliefs
            .iter()
            .rposition(|b| answer(b) != last)
            .map_or(0, |r| r + 1);
        Ok(json(&Rows {
            beliefs,
            settled_at,
        }))
    }

    /// The autoencoder's reconstruction of a drawing: 28×28 pixels (0–255).
    pub fn reconstruct(&self, image: &[u8]) -> Result<Vec<u8>, JsError> {
        let ae = self.autoencoder()?;
        now(ae.reconstruct_bytes(input(image)?, &self.device))?.map_err(js_error)
    }

    /// The autoencoder's code for a drawing.
    pub fn code(&self, image: &[u8]) -> Result<Vec<f32>, JsError> {
        let ae = self.autoencoder()?;
        now(ae.codes(input(image)?, &self.device))?.map_err(js_error)
    }

    /// The picture a code stands for: 28×28 pixels (0–255).
    pub fn decode(&self, code: Vec<f32>) -> Result<Vec<u8>, JsError> {
        let ae = self.autoencoder()?;
        now(ae.decode_bytes(&code, &self.device))?.map_err(js_error)
    }

    /// The codes of test images `start..start + count` (fewer at the end of the set),
    /// concatenated: with a 2-number code, the points of the map. The test set must have been
    /// sent (`setTestSet`).
    pub fn codes(&self, start: usize, count: usize) -> Result<Vec<f32>, JsError> {
        let ae = self.autoencoder()?;
        let test =
            (self.test.as_ref()).ok_or_else(|| JsError::new("the test set has not arrived yet"))?;
        let end = (start + count).min(test.len());
        let images: Vec<u8> = (start.min(end)..end)
            .flat_map(|i| test.image(i).to_vec())
            .collect();
        if images.is_empty() {
            return Ok(Vec::new());
        }
        now(ae.codes(&images, &self.device))?.map_err(js_error)
    }

    /// Labels of the whole test set, for colouring the map.
    #[wasm_bindgen(js_name = testLabels)]
    pub fn test_labels(&self) -> Vec<u8> {
        self.test
            .as_ref()
            .map_or(Vec::new(), |t| t.labels().to_vec())
    }
}

impl Predictor {
    fn rnn(&self) -> Result<(&Rnn, crate::data::Normalization), JsError> {
        match &self.network {
            Some((Network::Rnn(rnn), header)) => Ok((rnn, header.normalization)),
            _ => Err(JsError::new("no RNN's weights have arrived")),
        }
    }

    fn autoencoder(&self) -> Result<&Autoencoder, JsError> {
        match &self.network {
            Some((Network::Autoencoder(ae), _)) => Ok(ae),
            _ => Err(JsError::new("no autoencoder's weights have arrived")),
        }
    }
}
