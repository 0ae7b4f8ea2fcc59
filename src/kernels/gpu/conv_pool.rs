//! The fused convolution, max pooling and ReLU on WebGPU, forward and backward (the WGSL is
//! in `conv_pool_wgsl.rs`).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::{Autodiff, Cube, DType};
use burn::tensor::Tensor;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;

use super::conv_pool_wgsl::{self as wgsl, Dims};
use super::{column_sums, empty, lane, launch, tracked, Kernel, Lane, Tracked};

/// `max_pool2_relu(conv(x))` for a valid, stride-1 3×3 convolution with bias on WebGPU, or
/// `None` where these kernels do not apply.
pub fn conv2d_pool2_relu(x: &Tensor<4>, weight: &Tensor<4>, bias: &Tensor<1>) -> Option<Tensor<4>> {
    let [batch, cin, h, w] = x.dims();
    let [cout, weight_cin, kh, kw] = weight.dims();
    let dims = Dims {
        batch,
        cin,
        cout,
        h,
        w,
    };
    if (weight_cin, kh, kw) != (cin, 3, 3) {
        return None;
    }
    match (lane(x)?, lane(weight)?, lane(bias)?) {
        (Lane::Infer(x), Lane::Infer(w), Lane::Infer(b)) => {
            if !dims.supported(false) {
                return None;
            }
            let (for_forward, _) = transpose(w, &dims);
            let (out, _) = forward(x, for_forward, b, &dims);
            Some(Tensor::from_primitive::<Cube>(out))
        }
        (x, Lane::Train(w), Lane::Train(b)) => {
            let x = tracked(x);
            if !dims.supported(x.is_tracked()) {
                return None;
            }
            Some(Tensor::from_primitive::<Autodiff<Cube>>(train(
                x, w, b, dims,
            )))
        }
        _ => None,
    }
}

/// The pooled output [batch, cout, ph, pw] and each window's winner (same shape, u32), from
/// the weights in `transpose`'s forward layout.
fn forward(
    x: CubeTensor,
    for_forward: CubeTensor,
    bias: CubeTensor,
    d: &Dims,
) -> (CubeTensor, CubeTensor) {
    let (x, bias) = (into_contiguous(x), into_contiguous(bias));
    let (ph, pw) = d.pooled();
    let shape = [d.batch, d.cout, ph, pw];
    let out = empty(&x, &shape, DType::F32);
    let winners = empty(&x, &shape, DType::U32);
    launch(
        Kernel::new("forward", *d, wgsl::forward),
        wgsl::forward_invocations(d),
        [&x, &for_forward, &bias, &out, &winners],
    );
    (out, winners)
}

/// The weights in the forward kernel's layout and in the input gradient's.
fn transpose(weight: CubeTensor, d: &Dims) -> (CubeTensor, CubeTensor) {
    let weight = into_contiguous(weight);
    let for_forward = empty(&weight, &[d.cin, 9, d.cout], DType::F32);
    let for_input_grad = empty(&weight, &[d.cout, 9, d.cin], DType::F32);
    launch(
        Kernel::new("transpose", *d, wgsl::transpose),
        wgsl::transpose_invocations(d),
        [&weight, &for_forward, &for_input_grad],
    );
    (for_forward, for_input_grad)
}

#[derive(Debug)]
struct ConvPoolBackward;

#[derive(Clone, Debug)]
struct ConvPoolState {
    dims: Dims,
    input: CubeTensor,
    /// The weights in the input gradient's layout.
    weight: CubeTensor,
    winners: CubeTensor,
}

fn train(x: Tracked, w: Tracked, b: Tracked, dims: Dims) -> Tracked {
    let input = into_contiguous(x.primitive().clone());
    let (for_forward, weight) = transpose(w.primitive().clone(), &dims);
    let (out, winners) = forward(input.clone(), for_forward, b.primitive().clone(), &dims);
    match ConvPoolBackward
        .prepare::<NoCheckpointing>([x.node(), w.node(), b.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let state = ConvPoolState {
                dims,
                input,
                weight,
                winners,
            };
            prep.finish(state, out)
        }
        OpsKind::UnTracked(prep) => prep.finish(out),
    }
}

impl Backward<Cube, 3> for ConvPoolBackward {
    type State = ConvPoolState;

    fn backward(self, ops: Ops<ConvPoolState, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dy = into_contiguous(grads.consume::<Cube>(&ops.node));
        let ConvPoolState {
            dims: d,
            input,
            weight,
            winners,
        } = ops.state;
        let [x_node, w_node, b_node] = ops.parents;
        if w_node.is_some() || b_node.is_some() {
            let (w_shape, b_shape) = ([d.cout, d.cin, 3, 3], [d.cout]);
            let slices = wgsl::weight_grad_slices(&d);
            let part = |shape: &[usize]| match slices {
                1 => empty(&dy, shape, DType::F32),
                _ => empty(&dy, &[slices, shape.iter().product()], DType::F32),
            };
            let (dw, db) = (part(&w_shape), part(&b_shape));
            launch(
                Kernel::new("weight_grad", d, wgsl::weight_grad),
                wgsl::weight_grad_invocations(&d),
                [&input, &dy, &winners, &dw, &db],
            );
            let (dw, db) = match slices {
                1 => (dw, db),
                _ => (column_sums(&dw, &w_shape), column_sums(&db, &b_shape)),
            };
            if let Some(node) = w_node {
                grads.register::<Cube>(node.id, dw);
            }
            if let Some(node) = b_node {
                grads.register::<Cube>(node.id, db);
            }
        }
        if let Some(node) = x_node {
            let dx = empty(&dy, &[d.batch, d.cin, d.h, d.w], DType::F32);
            launch(
                Kernel::new("input_grad", d, wgsl::input_grad),
                wgsl::input_grad_invocations(&d),
                [&dy, &winners, &weight, &dx],
            );
            grads.register::<Cube>(node.id, dx);
        }
    }
}
