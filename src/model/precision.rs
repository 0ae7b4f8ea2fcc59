//! Mixed precision: the forward and backward passes in f16, with the weights kept in f32 (the
//! optimizer's master copy, cast at each use) and the loss computed in f32. Whether it pays
//! depends on the device: burn's CPU backend stores f16 but multiplies by converting to f32
//! (x86) or in scalar code (wasm), so there it is slower; a GPU with `shader-f16` computes f16
//! natively. A device that cannot compute in f16 is refused with a sentence, not a failure.

use burn::module::Module;
use burn::tensor::{DType, Device, FloatDType, Tensor};
use serde::{Deserialize, Serialize};

use crate::model::{Model, ModelConfig};
use crate::store::weights::CastTo;

/// The number format of a training step's arithmetic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "native", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Compute {
    /// Everything in f32.
    #[default]
    F32,
    /// Activations and gradients in f16, weights and loss in f32.
    F16,
}

impl Compute {
    /// Refuses f16 with BatchNorm, whose running statistics are state that the cast copy of
    /// the model would share with the f32 one.
    pub fn validate(self, model: &ModelConfig) -> Result<(), String> {
        if self == Compute::F16 && model.batch_norm {
            return Err("mixed precision (f16) is not offered with BatchNorm: train in f32".into());
        }
        Ok(())
    }

    /// Refuses f16 on a device without f16 arithmetic.
    pub fn check_device(self, device: &Device) -> Result<(), String> {
        if self == Compute::F16 && !device.supports_dtype(FloatDType::F16) {
            return Err("this device cannot compute in f16 (a WebGPU adapter needs shader-f16): train in f32".into());
        }
        Ok(())
    }
}

/// Class scores of `model` computed in `compute`, returned in f32 for the loss. In f16 the
/// weights are cast on the way in, so their gradients come back to the f32 weights.
pub fn forward(model: &Model, images: Tensor<4>, compute: Compute) -> Tensor<2> {
    match compute {
        Compute::F32 => model.forward(images),
        Compute::F16 => {
            let half = model.clone().map(&mut CastTo(DType::F16));
            half.forward(images.cast(DType::F16)).cast(DType::F32) // [batch, 10]
        }
    }
}
