//! Which code runs each of the model's heavy operations, decided here and nowhere else: for each
//! one, Kindling's WebGPU kernel (`gpu`, in the WebGPU build), else its CPU kernel (`cpu`, on
//! burn's `flex`), else burn's own op. Each kernel says `None` for a tensor it does not handle
//! (another backend or dtype, an unusual layer), so the model code is the same everywhere.
//! `tests/kernels.rs` (CPU) and `tests/web.rs` (WebGPU) check the kernels against burn's ops,
//! forward and backward.

use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, Linear, PaddingConfig2d};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::tensor::activation::relu;
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::Tensor;

use crate::store::optimizer_state::Portable;

/// A tensor in one of the two forms a backend's kernels handle: tracked for training (`Train`)
/// or plain (`Infer`: evaluation and prediction). `lane` gives `None` for another backend or
/// dtype, or while the module's `enabled()` says no; `tracked` makes a plain tensor an
/// untracked leaf (an input that needs no gradient, such as the images). Written once for the
/// CPU kernels (`Flex`) and the WebGPU ones (`Cube`).
macro_rules! lanes {
    ($backend:ty, $plain:ty) => {
        type Tracked = burn::backend::tensor::FloatTensor<burn::backend::Autodiff<$backend>>;

        enum Lane {
            Train(Tracked),
            Infer($plain),
        }

        fn lane<const D: usize>(tensor: &burn::tensor::Tensor<D>) -> Option<Lane> {
            if tensor.dtype() != burn::backend::DType::F32 || !enabled() {
                return None;
            }
            if let Ok(t) =
                (tensor.clone()).try_into_primitive::<burn::backend::Autodiff<$backend>>()
            {
                return Some(Lane::Train(t));
            }
            (tensor.clone().try_into_primitive::<$backend>().ok()).map(Lane::Infer)
        }

        #[allow(dead_code)]
        fn tracked(lane: Lane) -> Tracked {
            match lane {
                Lane::Train(t) => t,
                Lane::Infer(t) => Tracked::new(t),
            }
        }
    };
}
use lanes;

pub mod cpu;
#[cfg(feature = "webgpu")]
pub mod gpu;

/// `conv.forward(x)`: the CPU kernel for a valid, stride-1 convolution with bias, else burn's.
pub fn conv2d_valid(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let kernel = valid_with_bias(conv).and_then(|(w, b)| cpu::conv2d(&x, &w, &b, false));
    kernel.unwrap_or_else(|| conv.forward(x))
}

/// `max_pool2_relu(conv.forward(x))`, the model's convolution blocks: in one pass that computes
/// only what the pooling keeps, on WebGPU or the CPU; else burn's ops.
pub fn conv2d_pool2_relu(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let Some((weight, bias)) = valid_with_bias(conv) else {
        return max_pool2_relu(conv.forward(x));
    };
    #[cfg(feature = "webgpu")]
    if let Some(out) = gpu::conv2d_pool2_relu(&x, &weight, &bias) {
        return out;
    }
    if let Some(out) = cpu::conv2d(&x, &weight, &bias, true) {
        return out;
    }
    max_pool2_relu(conv.forward(pooled_input(x, conv.kernel_size)))
}

/// `relu(max_pool2d(x, 2×2, stride 2))`: the CPU kernel, else burn's ops.
pub fn max_pool2_relu(x: Tensor<4>) -> Tensor<4> {
    match cpu::max_pool2_relu(&x) {
        Some(out) => out,
        None => relu(max_pool2d(x, MaxPoolOptions::new([2, 2]))),
    }
}

/// `norm.forward(x)`: the CPU kernel in training, else burn's module (evaluation, WebGPU).
pub fn batch_norm(norm: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
    match cpu::batch_norm(norm, &x) {
        Some(out) => out,
        None => norm.forward(x),
    }
}

/// `layer.forward(x)`: the WebGPU kernel, else burn's (on the CPU, a matrix product is already
/// burn's gemm).
pub fn dense(layer: &Linear, x: Tensor<2>) -> Tensor<2> {
    #[cfg(feature = "webgpu")]
    if let Some(out) = gpu::linear(layer, &x) {
        return out;
    }
    layer.forward(x)
}

/// Adam: in the WebGPU build without weight decay, one fused kernel per tensor (`gpu::adam`,
/// which gives any other tensor burn's Adam); else burn's Adam.
pub fn adam(
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    decay: Option<WeightDecayConfig>,
) -> ModuleOptimizer {
    #[cfg(feature = "webgpu")]
    if decay.is_none() {
        return Portable(gpu::FusedAdam {
            beta_1,
            beta_2,
            epsilon,
        })
        .into();
    }
    let adam = AdamConfig::new()
        .with_beta_1(beta_1)
        .with_beta_2(beta_2)
        .with_epsilon(epsilon)
        .with_weight_decay(decay);
    Portable(adam.build()).into()
}

/// The weight and bias of a valid, stride-1, ungrouped convolution with bias: the layers the
/// kernels handle.
fn valid_with_bias(conv: &Conv2d) -> Option<(Tensor<4>, Tensor<1>)> {
    let plain = conv.stride == [1, 1]
        && conv.dilation == [1, 1]
        && conv.groups == 1
        && matches!(conv.padding, PaddingConfig2d::Valid);
    let bias = conv.bias.as_ref().filter(|_| plain)?;
    Some((conv.weight.val(), bias.val()))
}

/// The part of `x` that a valid, stride-1 convolution reads for the outputs a 2×2 pooling
/// keeps: an odd last row or column of the output is dropped by the pooling, so its inputs
/// need not be convolved (the second layer: 12×12 of 13×13, 17% less work where burn's ops
/// run it).
fn pooled_input(x: Tensor<4>, [kh, kw]: [usize; 2]) -> Tensor<4> {
    let [batch, channels, h, w] = x.dims();
    let needed = |side: usize, k: usize| match side.checked_sub(k - 1) {
        Some(out) if out >= 2 => out / 2 * 2 + k - 1,
        _ => side,
    };
    let (rows, cols) = (needed(h, kh), needed(w, kw));
    if (rows, cols) == (h, w) {
        return x;
    }
    x.slice([0..batch, 0..channels, 0..rows, 0..cols])
}
