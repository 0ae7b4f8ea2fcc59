//! Predictions for the page: a picture prepared like MNIST, and a CPU model that answers it
//! while training runs in another worker.

use std::future::Future;
use std::task::{Context, Poll, Waker};

use burn::tensor::Device;
use wasm_bindgen::prelude::*;

use super::inspect::MapInProgress;
use super::{js_error, json};
use crate::data::{Dataset, IMAGE_PIXELS};
use crate::inspect::Projection;
use crate::model::inference;
use crate::model::preprocess;
use crate::model::Model;
use crate::nets::Network;
use crate::store::weights::{self, WeightsHeader};

/// Runs a future that the CPU backend has already resolved (it computes eagerly), so that
/// predictions need no `await` in JavaScript.
pub(super) fn now<F: Future>(future: F) -> Result<F::Output, JsError> {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(value) => Ok(value),
        Poll::Pending => Err(JsError::new("the CPU backend did not answer at once")),
    }
}

/// The 28×28 MNIST-like input (ink bright on black) for an RGBA picture such as a canvas's
/// pixels or a decoded image file: cropped to the ink, fitted into 20×20, centred by mass.
#[wasm_bindgen(js_name = prepareImage)]
pub fn prepare_image(rgba: &[u8], width: usize, height: usize) -> Result<Vec<u8>, JsError> {
    let gray = preprocess::rgba_to_gray(rgba, width, height).map_err(js_error)?;
    Ok(preprocess::to_mnist(&gray, width, height)
        .map_err(js_error)?
        .to_vec())
}

/// A model that answers predictions on the CPU: first the shipped weights, then whatever the
/// trainer sends. It lives in its own worker, so it never waits for a training step.
#[wasm_bindgen]
pub struct Predictor {
    pub(super) model: Model,
    pub(super) header: WeightsHeader,
    pub(super) device: Device,
    /// The test set the embedding map shows, once the page has sent it.
    pub(super) test: Option<Dataset>,
    /// The last map's axes, so the next one keeps their signs.
    pub(super) projection: Option<Projection>,
    /// The map being computed, a part at a time.
    pub(super) map_in_progress: Option<MapInProgress>,
    /// The run's network when it is not the CNN (the RNN, the autoencoder), with its header:
    /// its views are drawn beside the CNN's.
    pub(super) network: Option<(Network, WeightsHeader)>,
}

#[wasm_bindgen]
impl Predictor {
    #[wasm_bindgen(constructor)]
    pub fn new(weights: &[u8]) -> Result<Predictor, JsError> {
        let device = Device::flex();
        let (model, header) = weights::cnn_from_bytes(weights, &device).map_err(js_error)?;
        Ok(Predictor {
            model,
            header,
            device,
            test: None,
            projection: None,
            map_in_progress: None,
            network: None,
        })
    }

    /// Takes a weights file's network: a CNN's replaces the CNN that answers drawings, another
    /// network's (the RNN, the autoencoder) is drawn beside it. A damaged or foreign file is
    /// refused with a message and the current models stay. Returns the file's header as JSON.
    pub fn load(&mut self, weights: &[u8]) -> Result<String, JsError> {
        let (network, header) = weights::from_bytes(weights, &self.device).map_err(js_error)?;
        let json = json(&header);
        match network {
            Network::Cnn(model) => (self.model, self.header) = (model, header),
            other => self.network = Some((other, header)),
        }
        Ok(json)
    }

    /// The current weights' header as JSON (dataset, epochs, test accuracy).
    pub fn header(&self) -> String {
        json(&self.header)
    }

    /// Ten probabilities for a 28×28 input from `prepareImage`.
    pub fn predict(&self, image: &[u8]) -> Result<Vec<f32>, JsError> {
        let image = input(image)?;
        let cnn = Network::Cnn(self.model.clone());
        let prediction = now(inference::predict(
            &cnn,
            image,
            self.header.normalization,
            &self.device,
        ))?
        .map_err(|e| JsError::new(&e))?;
        Ok(prediction.probabilities.to_vec())
    }
}

/// A 28×28 input from `prepareImage`, or the sentence saying it is not one.
pub(super) fn input(image: &[u8]) -> Result<&[u8; IMAGE_PIXELS], JsError> {
    image
        .try_into()
        .map_err(|_| JsError::new("an input must have 28×28 pixels"))
}
