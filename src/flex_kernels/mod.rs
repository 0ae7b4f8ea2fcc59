//! Hand-written CPU kernels, with their own backward passes, for the layer types that take
//! most of a training step on burn's `flex` backend: the valid 3×3 convolution, the 2×2 max
//! pooling followed by ReLU, and BatchNorm in training.
//!
//! burn 0.22's `flex` computes a convolution's gradients through generic transposed
//! convolutions, which cost two to three times the forward pass, and its pooling walks each
//! window generically (`kindling bench` shows both side by side with these).
//!
//! The public functions take and return ordinary `Tensor`s. On WebGPU the fused convolution
//! hands over to `gpu_kernels` (in the WebGPU build); on any other backend, or for an unusual
//! layer (stride, padding, groups, no bias, non-f32), they run burn's own ops, so the model
//! code is the same everywhere; `tests/kernels.rs` checks both agree.

mod conv;
mod direct;
mod direct_pool;
mod norm;
mod parallel;
mod patches;
mod patches_pool;
mod pool;
mod simd;

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, DType, Flex};
use burn::nn::conv::Conv2d;
use burn::nn::BatchNorm;
use burn::nn::PaddingConfig2d;
use burn::tensor::activation::relu;
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{Tensor, TensorData};

use conv::ConvDims;

type Tracked = FloatTensor<Autodiff<Flex>>;

/// A tensor in one of the two forms the kernels handle: tracked for training, or plain.
enum Lane {
    Train(Tracked),
    Infer(FlexTensor),
}

/// Which form a tensor is in, or `None` for another backend or dtype, or in a build without
/// the kernels (the WebGPU bundle, whose CPU only saves weights). Clones are cheap handles.
fn lane<const D: usize>(tensor: &Tensor<D>) -> Option<Lane> {
    if !cfg!(feature = "kernels") || tensor.dtype() != DType::F32 {
        return None;
    }
    if let Ok(t) = tensor.clone().try_into_primitive::<Autodiff<Flex>>() {
        return Some(Lane::Train(t));
    }
    tensor
        .clone()
        .try_into_primitive::<Flex>()
        .ok()
        .map(Lane::Infer)
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

// ---------------------------------------------------------------------------------------------
// Convolution
// ---------------------------------------------------------------------------------------------

/// `conv.forward(x)`, by the kernels here for a valid, stride-1 convolution with bias.
pub fn conv2d_valid(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    convolve(conv, x, false)
}

/// `max_pool2_relu(conv2d_valid(conv, x))`, in one pass that computes only what the pooling
/// keeps.
pub fn conv2d_pool2_relu(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    convolve(conv, x, true)
}

fn convolve(conv: &Conv2d, x: Tensor<4>, pool: bool) -> Tensor<4> {
    let plain = conv.stride == [1, 1]
        && conv.dilation == [1, 1]
        && conv.groups == 1
        && matches!(conv.padding, PaddingConfig2d::Valid);
    let burn = |x: Tensor<4>| match pool {
        true if plain => max_pool2_relu(conv.forward(pooled_input(x, conv.kernel_size))),
        true => max_pool2_relu(conv.forward(x)),
        false => conv.forward(x),
    };
    let Some(bias) = conv.bias.as_ref().filter(|_| plain) else {
        return burn(x);
    };
    let (weight, bias) = (conv.weight.val(), bias.val());
    #[cfg(feature = "webgpu")]
    if pool {
        if let Some(out) = crate::gpu_kernels::conv2d_pool2_relu(&x, &weight, &bias) {
            return out;
        }
    }
    let Some(dims) = ConvDims::new(x.dims(), weight.dims()) else {
        return burn(x);
    };
    match (lane(&x), lane(&weight), lane(&bias)) {
        (Some(Lane::Infer(x)), Some(Lane::Infer(w)), Some(Lane::Infer(b))) => {
            let (x, w, b) = (x.to_contiguous(), w.to_contiguous(), b.to_contiguous());
            let (out, shape, _) = conv_forward(&x, &w, &b, dims, pool, false);
            Tensor::from_primitive::<Flex>(flex(out, &shape))
        }
        (Some(x), Some(Lane::Train(w)), Some(Lane::Train(b))) => {
            let x = match x {
                Lane::Train(x) => x,
                Lane::Infer(x) => Tracked::new(x),
            };
            Tensor::from_primitive::<Autodiff<Flex>>(conv_tracked(x, w, b, dims, pool))
        }
        _ => burn(x),
    }
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

/// What a convolution's backward pass needs besides its input and weight.
#[derive(Clone, Debug)]
enum Saved {
    /// Nothing more (the direct strategy).
    Nothing,
    /// The patch matrix (the patches strategy).
    Patches(Arc<Vec<f32>>),
    /// The pooling winners (the direct strategy fused with pooling).
    Winners(Arc<Vec<u8>>),
    /// The patch matrix and the pooling winners (the patches strategy fused with pooling).
    PatchesWinners(Arc<Vec<f32>>, Arc<Vec<u8>>),
}

/// The output, its shape, and with `keep` what the backward pass needs.
fn conv_forward(
    x: &FlexTensor,
    w: &FlexTensor,
    b: &FlexTensor,
    dims: ConvDims,
    pool: bool,
    keep: bool,
) -> (Vec<f32>, [usize; 4], Saved) {
    let (x, w, b) = (slice(x), slice(w), slice(b));
    let pooled = pool::output_shape(dims.output_shape());
    if pool && dims.direct() {
        let (out, winners) = direct_pool::forward(x, w, b, dims);
        return (out, pooled, Saved::Winners(Arc::new(winners)));
    }
    if pool {
        let (out, winners, patches) = patches_pool::forward(x, w, b, dims, keep);
        let saved = match patches {
            Some(patches) => Saved::PatchesWinners(Arc::new(patches), Arc::new(winners)),
            None => Saved::Nothing,
        };
        return (out, pooled, saved);
    }
    let (out, patches) = conv::forward(x, w, b, dims, keep);
    let saved = patches.map_or(Saved::Nothing, |p| Saved::Patches(Arc::new(p)));
    (out, dims.output_shape(), saved)
}

#[derive(Debug)]
struct ConvBackward;

#[derive(Clone, Debug)]
struct ConvState {
    dims: ConvDims,
    input: FlexTensor,
    weight: FlexTensor,
    saved: Saved,
}

fn conv_tracked(x: Tracked, w: Tracked, b: Tracked, dims: ConvDims, pool: bool) -> Tracked {
    let input = x.primitive().to_contiguous();
    let weight = w.primitive().to_contiguous();
    let bias = b.primitive().to_contiguous();
    let forward = |keep| conv_forward(&input, &weight, &bias, dims, pool, keep);
    match ConvBackward
        .prepare::<NoCheckpointing>([x.node(), w.node(), b.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let (out, shape, saved) = forward(true);
            let state = ConvState {
                dims,
                input,
                weight,
                saved,
            };
            prep.finish(state, flex(out, &shape))
        }
        OpsKind::UnTracked(prep) => {
            let (out, shape, _) = forward(false);
            prep.finish(flex(out, &shape))
        }
    }
}

impl Backward<Flex, 3> for ConvBackward {
    type State = ConvState;

    fn backward(self, ops: Ops<ConvState, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dy = grads.consume::<Flex>(&ops.node).to_contiguous();
        let ConvState {
            dims: d,
            input,
            weight,
            saved,
        } = ops.state;
        let wanted = ops.parents.each_ref().map(Option::is_some);
        let (dy, x, w) = (slice(&dy), slice(&input), slice(&weight));
        let results = match &saved {
            Saved::Nothing => conv::backward(dy, x, w, None, d, wanted),
            Saved::Patches(patches) => conv::backward(dy, x, w, Some(patches), d, wanted),
            Saved::Winners(winners) => direct_pool::backward(dy, x, w, winners, d, wanted),
            Saved::PatchesWinners(patches, winners) => {
                patches_pool::backward(dy, w, patches, winners, d, wanted)
            }
        };
        let shapes = [
            shape(&input).to_vec(),
            shape(&weight).to_vec(),
            vec![d.c_out],
        ];
        for ((node, grad), shape) in ops.parents.into_iter().zip(results).zip(shapes) {
            if let (Some(node), Some(grad)) = (node, grad) {
                grads.register::<Flex>(node.id, flex(grad, &shape));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Max pooling 2×2 + ReLU
// ---------------------------------------------------------------------------------------------

/// `relu(max_pool2d(x, 2×2, stride 2))`, the model's pooling layers, in one pass.
pub fn max_pool2_relu(x: Tensor<4>) -> Tensor<4> {
    let dims = x.dims();
    match lane(&x) {
        Some(Lane::Infer(x)) => {
            let (out, _) = pool::forward(slice(&x.to_contiguous()), dims);
            Tensor::from_primitive::<Flex>(flex(out, &pool::output_shape(dims)))
        }
        Some(Lane::Train(x)) => Tensor::from_primitive::<Autodiff<Flex>>(pool_tracked(x, dims)),
        None => relu(max_pool2d(x, MaxPoolOptions::new([2, 2]))),
    }
}

#[derive(Debug)]
struct PoolBackward;

#[derive(Clone, Debug)]
struct PoolState {
    input_shape: [usize; 4],
    winner: Arc<Vec<u8>>,
}

fn pool_tracked(x: Tracked, dims: [usize; 4]) -> Tracked {
    let (out, winner) = pool::forward(slice(&x.primitive().to_contiguous()), dims);
    let out = flex(out, &pool::output_shape(dims));
    match PoolBackward
        .prepare::<NoCheckpointing>([x.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let state = PoolState {
                input_shape: dims,
                winner: Arc::new(winner),
            };
            prep.finish(state, out)
        }
        OpsKind::UnTracked(prep) => prep.finish(out),
    }
}

impl Backward<Flex, 1> for PoolBackward {
    type State = PoolState;

    fn backward(self, ops: Ops<PoolState, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dy = grads.consume::<Flex>(&ops.node).to_contiguous();
        let [Some(node)] = ops.parents else { return };
        let PoolState {
            input_shape,
            winner,
        } = ops.state;
        let dx = pool::backward(slice(&dy), &winner, input_shape);
        grads.register::<Flex>(node.id, flex(dx, &input_shape));
    }
}

// ---------------------------------------------------------------------------------------------
// BatchNorm (training)
// ---------------------------------------------------------------------------------------------

/// `norm.forward(x)`: in training on `flex`, by the kernels in `norm.rs`, updating the running
/// statistics as burn's module does; everywhere else (evaluation, WebGPU) by burn's module.
pub fn batch_norm(norm: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
    let (gamma, beta) = (norm.gamma.val(), norm.beta.val());
    let dims = x.dims();
    let (Some(Lane::Train(xt)), Some(Lane::Train(g)), Some(Lane::Train(b))) =
        (lane(&x), lane(&gamma), lane(&beta))
    else {
        return norm.forward(x);
    };
    let device = x.device();
    let (out, mean, var) = norm_tracked(xt, g, b, dims, norm.epsilon);
    let channels = dims[1];
    let running = |state: &burn::module::RunningState<Tensor<1>>, batch: Vec<f32>| {
        let batch = Tensor::<1>::from_data(TensorData::new(batch, [channels]), &device);
        let updated = (state.value_sync().to_device(&device))
            .mul_scalar(1.0 - norm.momentum)
            .add(batch.mul_scalar(norm.momentum));
        state.update(updated.detach());
    };
    running(&norm.running_mean, mean);
    running(&norm.running_var, var);
    Tensor::from_primitive::<Autodiff<Flex>>(out)
}

#[derive(Debug)]
struct NormBackward;

#[derive(Clone, Debug)]
struct NormState {
    input: FlexTensor,
    gamma: FlexTensor,
    mean: Arc<Vec<f32>>,
    var: Arc<Vec<f32>>,
    epsilon: f64,
}

fn norm_tracked(
    x: Tracked,
    g: Tracked,
    b: Tracked,
    dims: [usize; 4],
    epsilon: f64,
) -> (Tracked, Vec<f32>, Vec<f32>) {
    let input = x.primitive().to_contiguous();
    let gamma = g.primitive().to_contiguous();
    let beta = b.primitive().to_contiguous();
    let (out, mean, var) = norm::forward(slice(&input), slice(&gamma), slice(&beta), dims, epsilon);
    let out = flex(out, &dims);
    let tracked = match NormBackward
        .prepare::<NoCheckpointing>([x.node(), g.node(), b.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let state = NormState {
                input,
                gamma,
                mean: Arc::new(mean.clone()),
                var: Arc::new(var.clone()),
                epsilon,
            };
            prep.finish(state, out)
        }
        OpsKind::UnTracked(prep) => prep.finish(out),
    };
    (tracked, mean, var)
}

impl Backward<Flex, 3> for NormBackward {
    type State = NormState;

    fn backward(self, ops: Ops<NormState, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dy = grads.consume::<Flex>(&ops.node).to_contiguous();
        let NormState {
            input,
            gamma,
            mean,
            var,
            epsilon,
        } = ops.state;
        let dims: [usize; 4] = shape(&input).try_into().expect("a 4-d map");
        let (dx, dgamma, dbeta) = norm::backward(
            slice(&dy),
            slice(&input),
            slice(&gamma),
            &mean,
            &var,
            dims,
            epsilon,
        );
        let channels = vec![dims[1]];
        let results = [
            (dx, dims.to_vec()),
            (dgamma, channels.clone()),
            (dbeta, channels),
        ];
        for (node, (grad, shape)) in ops.parents.into_iter().zip(results) {
            if let Some(node) = node {
                grads.register::<Flex>(node.id, flex(grad, &shape));
            }
        }
    }
}
