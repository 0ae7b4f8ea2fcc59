//! BatchNorm in training as a burn op on `flex` (the kernels in `norm.rs`), with its own
//! backward pass, updating the running statistics as burn's module does.

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::nn::BatchNorm;
use burn::tensor::{Tensor, TensorData};

use super::{flex, lane, norm, shape, slice, Lane, Tracked};

/// `norm.forward(x)` in training (tracked tensors on `flex`); `None` elsewhere (evaluation,
/// another backend, or a layer set to evaluate, as in a saliency map), where burn's module runs.
pub fn batch_norm(norm: &BatchNorm, x: &Tensor<4>) -> Option<Tensor<4>> {
    if !norm.training.is_enabled() {
        return None;
    }
    let (gamma, beta) = (norm.gamma.val(), norm.beta.val());
    let dims = x.dims();
    let (Lane::Train(xt), Lane::Train(g), Lane::Train(b)) = (lane(x)?, lane(&gamma)?, lane(&beta)?)
    else {
        return None;
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
    Some(Tensor::from_primitive::<Autodiff<Flex>>(out))
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
