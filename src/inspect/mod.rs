//! Looking inside the network: what each layer makes of a digit, why it answers what it does,
//! where the test set lies in its last hidden layer, what its filters look like, and how healthy
//! its gradients are while it trains. The page, `kindling explain` and `kindling train --health`
//! all read these; nothing here changes the model. Each file is one view: `activations`,
//! `saliency` (with occlusion), `embedding`, `weights` (filters, histograms), `health`.
//!
//! What each view costs is stated with it ([`ViewCost`]), counted in forward and backward passes
//! of one image, so the page can say it next to the picture.

pub mod activations;
pub mod embedding;
pub mod health;
pub mod saliency;
pub mod weights;

use serde::Serialize;

pub use activations::{activations, Activations};
pub use embedding::{Embedding, Projection};
pub use health::{Health, LayerHealth};
pub use saliency::{explain, occlusion, saliency, Explanation, SaliencyMethod};

/// What one view of the network costs, in passes of one image through the model: a backward
/// pass costs about twice a forward one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct ViewCost {
    pub forward_passes: usize,
    pub backward_passes: usize,
}

impl ViewCost {
    /// "1 forward + 1 backward pass", for the page and the command line.
    pub fn describe(&self) -> String {
        let plural = |n: usize| if n == 1 { "" } else { "es" };
        match self.backward_passes {
            0 => format!(
                "{} forward pass{}",
                self.forward_passes,
                plural(self.forward_passes)
            ),
            b => format!(
                "{} forward + {b} backward pass{}",
                self.forward_passes,
                plural(b)
            ),
        }
    }
}

/// A tensor's values read back (asynchronously: the browser cannot block on WebGPU).
pub(crate) async fn read_floats<const D: usize>(
    tensor: burn::tensor::Tensor<D>,
) -> Result<Vec<f32>, String> {
    let data = tensor
        .into_data_async()
        .await
        .map_err(|e| format!("{e:?}"))?;
    data.try_to_vec::<f32>().map_err(|e| format!("{e:?}"))
}
