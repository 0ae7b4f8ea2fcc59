//! Hand-written CPU kernels, with their own backward passes, for the two layer types that take
//! most of a training step on burn's `flex` backend: the valid 3×3 convolution and the 2×2 max
//! pooling followed by ReLU.
//!
//! burn 0.22's `flex` computes a convolution's gradients through generic transposed
//! convolutions, which cost two to three times the forward pass, and its pooling walks each
//! window generically (`kindling bench` shows both side by side with these).
//!
//! The public functions take and return ordinary `Tensor`s. On any other backend (WebGPU) or
//! an unusual layer (stride, padding, groups, no bias, non-f32) they run burn's own ops, so
//! the model code is the same everywhere; `tests/kernels.rs` checks both agree.

mod conv;
mod parallel;
mod pool;

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, DType, Flex};
use burn::nn::conv::Conv2d;
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

/// Which form a tensor is in, or `None` for another backend or dtype. Clones are cheap handles.
fn lane<const D: usize>(tensor: &Tensor<D>) -> Option<Lane> {
    if tensor.dtype() != DType::F32 {
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
    let plain = conv.stride == [1, 1]
        && conv.dilation == [1, 1]
        && conv.groups == 1
        && matches!(conv.padding, PaddingConfig2d::Valid);
    let Some(bias) = conv.bias.as_ref().filter(|_| plain) else {
        return conv.forward(x);
    };
    let (weight, bias) = (conv.weight.val(), bias.val());
    let dims = ConvDims::new(x.dims(), weight.dims());
    match (dims, lane(&x), lane(&weight), lane(&bias)) {
        (Some(d), Some(Lane::Infer(x)), Some(Lane::Infer(w)), Some(Lane::Infer(b))) => {
            let (x, w, b) = (x.to_contiguous(), w.to_contiguous(), b.to_contiguous());
            let (out, _) = conv::forward(slice(&x), slice(&w), slice(&b), d);
            Tensor::from_primitive::<Flex>(flex(out, &d.output_shape()))
        }
        (Some(d), Some(x), Some(Lane::Train(w)), Some(Lane::Train(b))) => {
            let x = match x {
                Lane::Train(x) => x,
                Lane::Infer(x) => Tracked::new(x),
            };
            Tensor::from_primitive::<Autodiff<Flex>>(conv_tracked(x, w, b, d))
        }
        _ => conv.forward(x),
    }
}

#[derive(Debug)]
struct ConvBackward;

/// What the backward pass needs: the input and weight, and the patch matrix if one was built.
#[derive(Clone, Debug)]
struct ConvState {
    dims: ConvDims,
    input: FlexTensor,
    weight: FlexTensor,
    patches: Option<Arc<Vec<f32>>>,
}

fn conv_tracked(x: Tracked, w: Tracked, b: Tracked, dims: ConvDims) -> Tracked {
    let input = x.primitive().to_contiguous();
    let weight = w.primitive().to_contiguous();
    let bias = b.primitive().to_contiguous();
    let (out, patches) = conv::forward(slice(&input), slice(&weight), slice(&bias), dims);
    let out = flex(out, &dims.output_shape());
    match ConvBackward
        .prepare::<NoCheckpointing>([x.node(), w.node(), b.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let patches = patches.map(Arc::new);
            prep.finish(
                ConvState {
                    dims,
                    input,
                    weight,
                    patches,
                },
                out,
            )
        }
        OpsKind::UnTracked(prep) => prep.finish(out),
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
            patches,
        } = ops.state;
        let wanted = ops.parents.each_ref().map(Option::is_some);
        let patches = patches.as_deref().map(Vec::as_slice);
        let results = conv::backward(
            slice(&dy),
            slice(&input),
            slice(&weight),
            patches,
            d,
            wanted,
        );
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
