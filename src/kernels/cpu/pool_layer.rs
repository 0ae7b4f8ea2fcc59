//! The 2×2 max pooling followed by ReLU as a burn op on `flex`, with its own backward pass: the
//! gradient goes to each window's winner alone.

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::{Autodiff, Flex};
use burn::tensor::Tensor;

use super::{flex, lane, pool, slice, Lane, Tracked};

/// `relu(max_pool2d(x, 2×2, stride 2))` in one pass; `None` when the kernels do not run on `x`.
pub fn max_pool2_relu(x: &Tensor<4>) -> Option<Tensor<4>> {
    let dims = x.dims();
    Some(match lane(x)? {
        Lane::Infer(x) => {
            let (out, _) = pool::forward(slice(&x.to_contiguous()), dims);
            Tensor::from_primitive::<Flex>(flex(out, &pool::output_shape(dims)))
        }
        Lane::Train(x) => Tensor::from_primitive::<Autodiff<Flex>>(pool_tracked(x, dims)),
    })
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
