//! The hand-written CPU kernels agree with burn's own ops, forward and backward.
#![cfg(not(target_arch = "wasm32"))]

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::activation::relu;
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{Device, Distribution, Tensor};
use kindling::kernels::cpu::runs_here;
use kindling::kernels::{conv2d_pool2_relu, conv2d_valid, max_pool2_relu};

fn close<const D: usize>(ours: Tensor<D>, theirs: Tensor<D>, what: &str) {
    assert_eq!(ours.dims(), theirs.dims(), "{what}: shape");
    let (ours, theirs) = (ours.into_data(), theirs.into_data());
    let worst = ours
        .iter::<f32>()
        .zip(theirs.iter::<f32>())
        .map(|(a, b)| (a - b).abs() / (1.0 + b.abs()))
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-4, "{what}: differs from burn's op by {worst}");
}

fn random<const D: usize>(shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
}

type Layer = fn(&Conv2d, Tensor<4>) -> Tensor<4>;

/// Forward values and the gradients of input, weight and bias of a random weighted sum, through
/// our layer and burn's.
fn check_layer(
    [batch, c_in, c_out, side]: [usize; 4],
    input_needs_grad: bool,
    ours: Layer,
    theirs: Layer,
) {
    let device = Device::flex().autodiff();
    let conv = Conv2dConfig::new([c_in, c_out], [3, 3]).init(&device);
    let mut x = random([batch, c_in, side, side], &device);
    if input_needs_grad {
        x = x.require_grad();
    }
    let ours = ours(&conv, x.clone());
    let theirs = theirs(&conv, x.clone());
    let upstream = random(theirs.dims(), &device);
    close(ours.clone(), theirs.clone(), "forward");

    let ours = (ours * upstream.clone()).sum().backward();
    let theirs = (theirs * upstream).sum().backward();
    let (weight, bias) = (conv.weight.val(), conv.bias.as_ref().unwrap().val());
    let weight_grads = (weight.grad(&ours).unwrap(), weight.grad(&theirs).unwrap());
    close(weight_grads.0, weight_grads.1, "weight gradient");
    let bias_grads = (bias.grad(&ours).unwrap(), bias.grad(&theirs).unwrap());
    close(bias_grads.0, bias_grads.1, "bias gradient");
    match input_needs_grad {
        true => close(
            x.grad(&ours).unwrap(),
            x.grad(&theirs).unwrap(),
            "input gradient",
        ),
        false => assert!(x.grad(&ours).is_none(), "an input without grad got one"),
    }
}

fn check_conv(batch: usize, c_in: usize, c_out: usize, side: usize, input_needs_grad: bool) {
    let dims = [batch, c_in, c_out, side];
    check_layer(dims, input_needs_grad, conv2d_valid, |conv, x| {
        conv.forward(x)
    });
}

/// The fused convolution + pooling + ReLU against burn's three ops.
fn check_conv_pool(batch: usize, c_in: usize, c_out: usize, side: usize, input_needs_grad: bool) {
    let dims = [batch, c_in, c_out, side];
    check_layer(dims, input_needs_grad, conv2d_pool2_relu, |conv, x| {
        burn_pool_relu(conv.forward(x))
    });
}

#[test]
fn first_convolution_matches_burn() {
    // The model's first layer: one input channel, images that need no gradient.
    check_conv(4, 1, 32, 28, false);
}

#[test]
fn second_convolution_matches_burn() {
    check_conv(3, 32, 64, 13, true);
}

#[test]
fn convolution_of_odd_sizes_matches_burn() {
    check_conv(2, 3, 5, 7, true); // K = 27: the direct strategy
    check_conv(2, 4, 3, 8, true); // K = 36: the patch-matrix strategy
    check_conv(11, 4, 3, 6, true); // a batch that splits unevenly over the weight-gradient sums
}

#[test]
fn direct_convolution_passes_gradient_to_its_input() {
    check_conv(2, 1, 4, 8, true);
}

#[test]
fn inference_convolution_matches_burn() {
    let device = Device::flex();
    let conv = Conv2dConfig::new([2, 4], [3, 3]).init(&device);
    let x = random([2, 2, 9, 9], &device);
    close(
        conv2d_valid(&conv, x.clone()),
        conv.forward(x),
        "inference conv",
    );
}

#[test]
fn fused_first_layer_matches_burn() {
    check_conv_pool(4, 1, 32, 28, false);
}

#[test]
fn fused_second_layer_matches_burn() {
    // An 11×11 map pooled to 5×5: the last row and column are never computed.
    check_conv_pool(3, 32, 64, 13, true);
}

#[test]
fn fused_layer_of_odd_sizes_passes_gradient_to_its_input() {
    check_conv_pool(2, 3, 5, 8, true); // direct strategy, a 6×6 map pooled to 3×3
    check_conv_pool(2, 2, 3, 9, true); // a 7×7 map: the last row and column are dropped
    check_conv_pool(2, 4, 3, 8, true); // patches strategy, a 6×6 map
    check_conv_pool(11, 4, 3, 9, true); // patches, a 7×7 map, a batch split unevenly in sums
}

#[test]
fn fused_inference_matches_burn() {
    let device = Device::flex();
    for ([c_in, c_out], side) in [([1, 4], 12), ([4, 5], 9)] {
        let conv = Conv2dConfig::new([c_in, c_out], [3, 3]).init(&device);
        let x = random([2, c_in, side, side], &device);
        close(
            conv2d_pool2_relu(&conv, x.clone()),
            burn_pool_relu(conv.forward(x)),
            "inference conv+pool",
        );
    }
}

fn burn_pool_relu(x: Tensor<4>) -> Tensor<4> {
    relu(max_pool2d(x, MaxPoolOptions::new([2, 2])))
}

fn check_pool(shape: [usize; 4]) {
    let device = Device::flex().autodiff();
    let x = random(shape, &device).require_grad();
    let ours = max_pool2_relu(x.clone());
    let theirs = burn_pool_relu(x.clone());
    let upstream = random(theirs.dims(), &device);
    close(ours.clone(), theirs.clone(), "pool forward");
    let ours = (ours * upstream.clone()).sum().backward();
    let theirs = (theirs * upstream).sum().backward();
    close(
        x.grad(&ours).unwrap(),
        x.grad(&theirs).unwrap(),
        "pool gradient",
    );
}

#[test]
fn pooling_matches_burn_on_even_maps() {
    check_pool([3, 4, 26, 26]);
}

#[test]
fn pooling_drops_the_last_row_and_column_of_odd_maps_like_burn() {
    check_pool([2, 3, 11, 11]);
}

#[test]
fn pooling_passes_no_gradient_through_values_relu_zeroed() {
    let device = Device::flex().autodiff();
    let x = Tensor::<4>::from_floats(
        [[[[-1.0, -2.0], [-3.0, -4.0]]], [[[-1.0, 5.0], [2.0, 0.0]]]],
        &device,
    )
    .require_grad();
    let y = max_pool2_relu(x.clone());
    assert_eq!(y.to_data().try_to_vec::<f32>().unwrap(), vec![0.0, 5.0]);
    let grad = x.grad(&y.sum().backward()).unwrap();
    let expected = [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0];
    assert_eq!(grad.into_data().try_to_vec::<f32>().unwrap(), expected);
}

#[test]
fn inference_pooling_matches_burn() {
    let device = Device::flex();
    let x = random([2, 3, 10, 10], &device);
    close(
        max_pool2_relu(x.clone()),
        burn_pool_relu(x),
        "inference pool",
    );
}

#[test]
fn kernels_run_on_flex_tensors_with_and_without_autodiff() {
    // Otherwise the comparisons above would compare burn with itself.
    let plain = random([1, 1, 4, 4], &Device::flex());
    assert!(runs_here(&plain));
    let tracked = random([1, 1, 4, 4], &Device::flex().autodiff());
    assert!(runs_here(&tracked));
    assert!(runs_here(&tracked.require_grad()));
}

#[test]
fn burns_ops_convolve_only_the_rows_and_columns_the_pooling_keeps() {
    // Without a bias the layer runs burn's ops (as on WebGPU), on the input cropped to what the
    // pooling reads: 9×9 → 8×8, whose 6×6 convolution pools to the same 3×3.
    let device = Device::flex().autodiff();
    let conv = Conv2dConfig::new([2, 3], [3, 3])
        .with_bias(false)
        .init(&device);
    let x = random([2, 2, 9, 9], &device).require_grad();
    let ours = conv2d_pool2_relu(&conv, x.clone());
    let theirs = burn_pool_relu(conv.forward(x.clone()));
    assert_eq!(ours.dims(), [2, 3, 3, 3]);
    close(ours.clone(), theirs.clone(), "forward");
    let upstream = random(theirs.dims(), &device);
    let ours = (ours * upstream.clone()).sum().backward();
    let theirs = (theirs * upstream).sum().backward();
    close(
        x.grad(&ours).unwrap(),
        x.grad(&theirs).unwrap(),
        "input gradient",
    );
    let weight = conv.weight.val();
    close(
        weight.grad(&ours).unwrap(),
        weight.grad(&theirs).unwrap(),
        "weight gradient",
    );
}

#[test]
fn batch_norm_in_training_matches_burn_with_its_gradients_and_running_statistics() {
    use burn::nn::BatchNormConfig;
    use kindling::kernels::batch_norm;
    let device = Device::flex().autodiff();
    for dims in [[16, 32, 13, 13], [7, 5, 3, 2]] {
        let (ours_norm, theirs_norm) = (
            BatchNormConfig::new(dims[1]).init(&device),
            BatchNormConfig::new(dims[1]).init(&device),
        );
        // A mean and spread far from 0 and 1, as a ReLU's output has.
        let x = (random(dims, &device) * 3.0 + 2.0).require_grad();
        let ours = batch_norm(&ours_norm, x.clone());
        let theirs = theirs_norm.forward(x.clone());
        close(ours.clone(), theirs.clone(), "forward");
        let upstream = random(dims, &device) * random(dims, &device);
        let ours = (ours * upstream.clone()).sum().backward();
        let theirs = (theirs * upstream).sum().backward();
        close(
            x.grad(&ours).unwrap(),
            x.grad(&theirs).unwrap(),
            "input gradient",
        );
        let gamma = (ours_norm.gamma.val(), theirs_norm.gamma.val());
        close(
            gamma.0.grad(&ours).unwrap(),
            gamma.1.grad(&theirs).unwrap(),
            "gamma gradient",
        );
        let beta = (ours_norm.beta.val(), theirs_norm.beta.val());
        close(
            beta.0.grad(&ours).unwrap(),
            beta.1.grad(&theirs).unwrap(),
            "beta gradient",
        );
        let stats = |n: &burn::nn::BatchNorm| (n.running_mean.value(), n.running_var.value());
        let (ours_stats, theirs_stats) = (stats(&ours_norm), stats(&theirs_norm));
        close(ours_stats.0, theirs_stats.0, "running mean");
        close(ours_stats.1, theirs_stats.1, "running variance");
    }
}
