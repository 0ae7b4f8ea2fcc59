//! Hand-written CPU kernels, with their own backward passes, for the layer types that take
//! most of a training step on burn's `flex` backend: the valid 3×3 convolution (alone or fused
//! with the pooling after it), the 2×2 max pooling followed by ReLU, and BatchNorm in training.
//!
//! burn 0.22's `flex` computes a convolution's gradients through generic transposed
//! convolutions, which cost two to three times the forward pass, and its pooling walks each
//! window generically (`kindling bench` shows both side by side with these).
//!
//! Each layer is a burn op (`*_layer.rs`) over plain slices of numbers (`conv.rs`, `direct*.rs`,
//! `patches*.rs`, `pool.rs`, `norm.rs`). The entry points return `None` for a tensor they do not
//! handle (another backend or dtype, the WebGPU bundle's build without them); `super` then
//! runs burn's op. `tests/kernels.rs` checks both agree, forward and backward.

mod conv;
mod conv_layer;
mod direct;
mod direct_pool;
mod norm;
mod norm_layer;
mod parallel;
mod patches;
mod patches_pool;
mod pool;
mod pool_layer;
mod simd;

pub use conv_layer::conv2d;
pub use norm_layer::batch_norm;
pub use pool_layer::max_pool2_relu;

use burn::backend::flex::FlexTensor;
use burn::backend::Flex;
use burn::tensor::{Tensor, TensorData};

super::lanes!(Flex, FlexTensor);

/// Without the `kernels` feature (the WebGPU bundle, whose CPU only saves weights) none run.
fn enabled() -> bool {
    cfg!(feature = "kernels")
}

/// Whether the kernels here (not burn's fallback ops) run on `tensor`: f32 on `flex`.
pub fn runs_here<const D: usize>(tensor: &Tensor<D>) -> bool {
    lane(tensor).is_some()
}

fn slice(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().expect("contiguous f32 tensor")
}

fn shape(t: &FlexTensor) -> &[usize] {
    t.layout().shape()
}

fn flex(values: Vec<f32>, shape: &[usize]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape.to_vec()))
}
