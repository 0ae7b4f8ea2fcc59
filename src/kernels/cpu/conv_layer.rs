//! The convolution as a burn op on `flex`: the forward pass by one of the strategies in this
//! folder (direct or patches, alone or fused with the 2×2 pooling), and its own backward pass.

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::Tensor;

use super::conv::ConvDims;
use super::{
    conv, direct_pool, flex, lane, patches_pool, pool, shape, slice, tracked, Lane, Tracked,
};

/// A valid, stride-1 convolution of `x` by `weight` with `bias`, and with `pool` the 2×2 max
/// pooling and ReLU after it, computing only what the pooling keeps. `None` when the kernels
/// do not run on these tensors (another backend or dtype) or their shapes do not fit.
pub fn conv2d(
    x: &Tensor<4>,
    weight: &Tensor<4>,
    bias: &Tensor<1>,
    pool: bool,
) -> Option<Tensor<4>> {
    let dims = ConvDims::new(x.dims(), weight.dims())?;
    match (lane(x)?, lane(weight)?, lane(bias)?) {
        (Lane::Infer(x), Lane::Infer(w), Lane::Infer(b)) => {
            let (x, w, b) = (x.to_contiguous(), w.to_contiguous(), b.to_contiguous());
            let (out, shape, _) = conv_forward(&x, &w, &b, dims, pool, false);
            Some(Tensor::from_primitive::<Flex>(flex(out, &shape)))
        }
        (x, Lane::Train(w), Lane::Train(b)) => Some(Tensor::from_primitive::<Autodiff<Flex>>(
            conv_tracked(tracked(x), w, b, dims, pool),
        )),
        _ => None,
    }
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
