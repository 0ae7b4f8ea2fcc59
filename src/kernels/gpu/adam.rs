//! Adam with its whole update in one WebGPU kernel per parameter tensor. burn's Adam spends
//! about 13 tensor ops on each, and on SwiftShader every op costs a few milliseconds whatever
//! its size: a hundred launches, about 0.3 s of a step on our test machine. The arithmetic
//! is burn's, so a run takes the same path on either; elsewhere than WebGPU it runs as burn's
//! tensor ops (`tests/web.rs` checks the two agree).

use std::cell::RefCell;

use burn::backend::{Cube, DType};
use burn::optim::{AdamState, AdaptiveMomentumState, LearningRate, Optimizer};
use burn::tensor::{Device, Tensor};
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;

use super::{empty, lane, launch, Kernel, Lane, ENTRY};

/// Adam without weight decay or AMSGrad (the configurations that use burn's own).
#[derive(Clone, Debug)]
pub struct FusedAdam {
    pub beta_1: f32,
    pub beta_2: f32,
    pub epsilon: f32,
}

impl Optimizer for FusedAdam {
    /// burn Adam's state, so either continues a checkpoint the other wrote.
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let (m1, m2, time) = match state {
            Some(AdamState { momentum: s }) => (s.moment_1, s.moment_2, s.time + 1),
            None => (grad.zeros_like(), grad.zeros_like(), 1),
        };
        // Bias corrections, as burn folds them.
        let t = time as i32;
        let correction_2 = (1.0 - self.beta_2.powi(t)).sqrt();
        let factor = correction_2 / (1.0 - self.beta_1.powi(t));
        let step = (lr as f32) * factor;
        let floor = self.epsilon * correction_2;
        let (tensor, m1, m2) = match fused(&tensor, &grad, &m1, &m2, self, [step, floor]) {
            Some(updated) => updated,
            None => {
                let m1 = m1
                    .mul_scalar(self.beta_1)
                    .add(grad.clone().mul_scalar(1.0 - self.beta_1));
                let m2 = m2
                    .mul_scalar(self.beta_2)
                    .add(grad.square().mul_scalar(1.0 - self.beta_2));
                let delta = m1
                    .clone()
                    .mul_scalar(factor)
                    .div(m2.clone().sqrt().add_scalar(floor));
                (tensor - delta.mul_scalar(lr), m1, m2)
            }
        };
        let momentum = AdaptiveMomentumState::new(time, m1, m2);
        (tensor, Some(AdamState::new(momentum)))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        AdamState::new(state.momentum.to_device(device))
    }
}

/// The updated tensor and moments, or `None` off WebGPU.
fn fused<const D: usize>(
    tensor: &Tensor<D>,
    grad: &Tensor<D>,
    m1: &Tensor<D>,
    m2: &Tensor<D>,
    adam: &FusedAdam,
    [step, floor]: [f32; 2],
) -> Option<(Tensor<D>, Tensor<D>, Tensor<D>)> {
    let cube = |t: &Tensor<D>| match lane(t)? {
        Lane::Infer(t) => Some(into_contiguous(t)),
        Lane::Train(_) => None,
    };
    let [p, g, m1, m2] = [cube(tensor)?, cube(grad)?, cube(m1)?, cube(m2)?];
    let scalars = scalars(step, floor, &p, &tensor.device())?;
    let shape = p.meta.shape().to_vec();
    let outputs = [(); 3].map(|_| empty(&p, &shape, DType::F32));
    let size = shape.iter().product::<usize>();
    let sizes = (size, adam.beta_1.to_bits(), adam.beta_2.to_bits());
    let [p_out, m1_out, m2_out] = &outputs;
    launch(
        Kernel::new("adam", sizes, wgsl),
        size,
        [&p, &g, &m1, &m2, &scalars, p_out, m1_out, m2_out],
    );
    let [p, m1, m2] = outputs.map(|t: CubeTensor| Tensor::from_primitive::<Cube>(t));
    Some((p, m1, m2))
}

thread_local! {
    /// The last step's scalars on the device: every tensor of a model takes the same step, so
    /// one upload serves them all.
    static SCALARS: RefCell<Option<([u32; 2], CubeTensor)>> = const { RefCell::new(None) };
}

/// `[step, floor]` on the device of `like` (whose `Device` is `device`).
fn scalars(step: f32, floor: f32, like: &CubeTensor, device: &Device) -> Option<CubeTensor> {
    let key = [step.to_bits(), floor.to_bits()];
    let cached = SCALARS.with_borrow(|cache| match cache {
        Some((k, t)) if *k == key && t.device == like.device => Some(t.clone()),
        _ => None,
    });
    if cached.is_some() {
        return cached;
    }
    let tensor = Tensor::<1>::from_floats([step, floor], device)
        .try_into_primitive::<Cube>()
        .ok()?;
    SCALARS.set(Some((key, tensor.clone())));
    Some(tensor)
}

/// One invocation per weight. `scalars`: the step (learning rate × bias correction) and the
/// corrected epsilon, which change every step and so are not written into the kernel.
fn wgsl(&(size, beta_1, beta_2): &(usize, u32, u32)) -> String {
    let (beta_1, beta_2) = (f32::from_bits(beta_1), f32::from_bits(beta_2));
    format!(
        "@group(0) @binding(0) var<storage, read> p: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> m1: array<f32>;
@group(0) @binding(3) var<storage, read> m2: array<f32>;
@group(0) @binding(4) var<storage, read> scalars: array<f32>;
@group(0) @binding(5) var<storage, read_write> p_out: array<f32>;
@group(0) @binding(6) var<storage, read_write> m1_out: array<f32>;
@group(0) @binding(7) var<storage, read_write> m2_out: array<f32>;
{ENTRY}    if (i >= {size}u) {{ return; }}
    let grad = g[i];
    let first = {beta_1:?} * m1[i] + {:?} * grad;
    let second = {beta_2:?} * m2[i] + {:?} * grad * grad;
    m1_out[i] = first;
    m2_out[i] = second;
    p_out[i] = p[i] - scalars[0] * first / (sqrt(second) + scalars[1]);
}}
",
        1.0 - beta_1,
        1.0 - beta_2
    )
}
