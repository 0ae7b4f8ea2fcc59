//! The dense layer `x · weight + bias` on WebGPU, forward and backward, with the products in
//! `matmul_wgsl.rs` (burn's took 100–150 ms each for the first dense layer on SwiftShader;
//! these take 20–30 ms).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::{Autodiff, Cube, DType};
use burn::nn::Linear;
use burn::tensor::Tensor;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;

use super::matmul_wgsl::Product;
use super::{column_sums, empty, lane, launch, tracked, Kernel, Lane, Tracked};

/// `layer.forward(x)` for x [batch, inputs] on WebGPU, or `None` where these kernels do not
/// apply (another backend, or a layer without bias).
pub fn linear(layer: &Linear, x: &Tensor<2>) -> Option<Tensor<2>> {
    let (weight, bias) = (layer.weight.val(), layer.bias.as_ref()?.val());
    let [batch, inputs] = x.dims();
    let [weight_inputs, outputs] = weight.dims();
    if weight_inputs != inputs {
        return None;
    }
    let sizes = Sizes {
        batch,
        inputs,
        outputs,
    };
    match (lane(x)?, lane(&weight)?, lane(&bias)?) {
        (Lane::Infer(x), Lane::Infer(w), Lane::Infer(b)) => {
            Some(Tensor::from_primitive::<Cube>(forward(&x, &w, &b, sizes)))
        }
        (x, Lane::Train(w), Lane::Train(b)) => Some(Tensor::from_primitive::<Autodiff<Cube>>(
            train(tracked(x), w, b, sizes),
        )),
        _ => None,
    }
}

#[derive(Clone, Copy, Debug)]
struct Sizes {
    batch: usize,
    inputs: usize,
    outputs: usize,
}

/// Runs `product` into a new [m, n] tensor; `operands` are a, b and the bias if it has one.
fn multiply(product: Product, operands: &[&CubeTensor]) -> CubeTensor {
    let c = empty(operands[0], &[product.m, product.n], DType::F32);
    let kernel = Kernel::new("matmul", product, Product::wgsl);
    match operands {
        [a, b] => launch(kernel, product.invocations(), [a, b, &c]),
        [a, b, bias] => launch(kernel, product.invocations(), [a, b, bias, &c]),
        _ => unreachable!("a product has two operands and maybe a bias"),
    }
    c
}

fn forward(x: &CubeTensor, w: &CubeTensor, b: &CubeTensor, s: Sizes) -> CubeTensor {
    // [batch, inputs] · [inputs, outputs] + bias
    let product = Product {
        m: s.batch,
        n: s.outputs,
        k: s.inputs,
        a_row: s.inputs,
        a_col: 1,
        b_row: s.outputs,
        b_col: 1,
        bias: true,
    };
    multiply(product, &[x, w, b])
}

#[derive(Debug)]
struct LinearBackward;

#[derive(Clone, Debug)]
struct LinearState {
    sizes: Sizes,
    input: CubeTensor,
    weight: CubeTensor,
}

fn train(x: Tracked, w: Tracked, b: Tracked, sizes: Sizes) -> Tracked {
    let input = into_contiguous(x.primitive().clone());
    let weight = into_contiguous(w.primitive().clone());
    let out = forward(
        &input,
        &weight,
        &into_contiguous(b.primitive().clone()),
        sizes,
    );
    match LinearBackward
        .prepare::<NoCheckpointing>([x.node(), w.node(), b.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(
            LinearState {
                sizes,
                input,
                weight,
            },
            out,
        ),
        OpsKind::UnTracked(prep) => prep.finish(out),
    }
}

impl Backward<Cube, 3> for LinearBackward {
    type State = LinearState;

    fn backward(self, ops: Ops<LinearState, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dy = into_contiguous(grads.consume::<Cube>(&ops.node)); // [batch, outputs]
        let LinearState {
            sizes: s,
            input,
            weight,
        } = ops.state;
        let [x_node, w_node, b_node] = ops.parents;
        if let Some(node) = x_node {
            // dx = dy · weightᵀ: [batch, outputs] · [outputs, inputs]
            let product = Product {
                m: s.batch,
                n: s.inputs,
                k: s.outputs,
                a_row: s.outputs,
                a_col: 1,
                b_row: 1,
                b_col: s.outputs,
                bias: false,
            };
            grads.register::<Cube>(node.id, multiply(product, &[&dy, &weight]));
        }
        if let Some(node) = w_node {
            // dweight = xᵀ · dy: [inputs, batch] · [batch, outputs]
            let product = Product {
                m: s.inputs,
                n: s.outputs,
                k: s.batch,
                a_row: 1,
                a_col: s.inputs,
                b_row: s.outputs,
                b_col: 1,
                bias: false,
            };
            grads.register::<Cube>(node.id, multiply(product, &[&input, &dy]));
        }
        if let Some(node) = b_node {
            let db = column_sums(&dy, &[s.outputs]);
            grads.register::<Cube>(node.id, db);
        }
    }
}
