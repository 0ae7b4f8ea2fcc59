//! In the browser (wasm-bindgen-test in headless Chromium, run by `./build.sh test`): WebGPU
//! comes up, training works on WebGPU and on `flex`, both compute the same model, and the page's
//! bindings refuse what they should.
#![cfg(all(target_arch = "wasm32", feature = "webgpu"))]

mod common;

use burn::tensor::{Device, Distribution, Tensor};
use kindling::model::ModelConfig;
use kindling::store::weights::{self, WeightsHeader};
use kindling::training::{Start, Trainer, TrainingConfig};
use kindling::web::{prepare_image, webgpu_device, Predictor};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const SHIPPED: &[u8] = include_bytes!("../weights/mnist-cnn.kndl");

async fn webgpu() -> Device {
    webgpu_device()
        .await
        .expect("a WebGPU adapter (Chromium runs with --enable-unsafe-webgpu)")
}

/// The loss of a few steps on one fixed batch of ten toy images.
async fn losses(device: &Device, steps: usize) -> Vec<f32> {
    let config = TrainingConfig::new().with_batch_size(10).with_seed(7);
    let mut trainer = Trainer::open(config, common::toy_dataset(10), device, Start::Fresh).unwrap();
    let mut losses = Vec::new();
    for _ in 0..steps {
        losses.push(trainer.step().await.unwrap().loss);
    }
    losses
}

#[wasm_bindgen_test]
async fn loss_falls_on_webgpu() {
    let losses = losses(&webgpu().await, 4).await;
    assert!(losses.iter().all(|l| l.is_finite()), "{losses:?}");
    assert!(
        losses[3] < losses[0],
        "loss did not fall on WebGPU: {losses:?}"
    );
}

#[wasm_bindgen_test]
async fn loss_falls_on_flex() {
    let losses = losses(&Device::flex(), 4).await;
    assert!(
        losses[3] < losses[0],
        "loss did not fall on flex: {losses:?}"
    );
}

#[wasm_bindgen_test]
async fn webgpu_and_flex_compute_the_same_forward_pass() {
    // The same weights (through a weights file) and input on both devices.
    let flex = Device::flex();
    let model = ModelConfig::new().init(&flex);
    let header = WeightsHeader::new(ModelConfig::new(), Default::default(), "mnist", 0, None);
    let bytes = weights::to_bytes(&kindling::nets::Network::Cnn(model.clone()), &header).unwrap();
    let gpu = webgpu().await;
    let (on_gpu, _) = weights::from_bytes(&bytes, &gpu).unwrap();
    let input = Tensor::<4>::random([4, 1, 28, 28], Distribution::Default, &flex);
    let values = input.to_data();
    let cpu_out = model.forward(input).into_data();
    let gpu_out = on_gpu
        .forward(Tensor::from_data(values, &gpu))
        .into_data_async()
        .await
        .unwrap();
    let worst = cpu_out
        .iter::<f32>()
        .zip(gpu_out.iter::<f32>())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-4, "WebGPU and flex differ by {worst}");
}

#[wasm_bindgen_test]
async fn weights_trained_on_webgpu_save_and_load_on_the_cpu() {
    // A synchronous read panics on WebGPU in a browser: saving must read back asynchronously.
    let config = TrainingConfig::new().with_batch_size(10).with_seed(7);
    let mut trainer = Trainer::open(
        config,
        common::toy_dataset(10),
        &webgpu().await,
        Start::Fresh,
    )
    .unwrap();
    trainer.step().await.unwrap();
    let model = trainer.model();
    let header = WeightsHeader::new(ModelConfig::new(), Default::default(), "mnist", 0, None);
    let bytes = weights::to_bytes_async(&model, &header).await.unwrap();
    let (on_cpu, _) = weights::from_bytes(&bytes, &Device::flex()).unwrap();
    let input = Tensor::<4>::ones([1, 1, 28, 28], &Device::flex());
    let expected = model
        .forward(Tensor::from_data(input.to_data(), &webgpu().await))
        .into_data_async()
        .await
        .unwrap();
    let actual = on_cpu.forward(input).into_data();
    for (a, b) in expected.iter::<f32>().zip(actual.iter::<f32>()) {
        assert!((a - b).abs() < 1e-4, "{a} on WebGPU, {b} after saving");
    }
}

/// The training's health on WebGPU is flex's for the same weights and batch (no dropout, whose
/// random draws differ between devices), with clipping on.
#[wasm_bindgen_test]
async fn health_on_webgpu_matches_flex() {
    let model_config = ModelConfig::new().with_dropout(0.0);
    let flex = Device::flex();
    let model = model_config.init(&flex);
    let header = WeightsHeader::new(model_config.clone(), Default::default(), "mnist", 0, None);
    let bytes = weights::to_bytes(&kindling::nets::Network::Cnn(model.clone()), &header).unwrap();
    let mut healths = Vec::new();
    for device in [flex.clone(), webgpu().await] {
        let config = TrainingConfig::new()
            .with_batch_size(10)
            .with_seed(7)
            .with_model(model_config.clone())
            .with_clip_norm(Some(0.5));
        let start = Start::Weights(&bytes);
        let mut trainer = Trainer::open(config, common::toy_dataset(10), &device, start).unwrap();
        trainer.watch_health(Some(50));
        trainer.step().await.unwrap();
        healths.push(
            trainer
                .health()
                .cloned()
                .expect("measured on the first step"),
        );
    }
    let (cpu, gpu) = (&healths[0], &healths[1]);
    assert_eq!(cpu.layers.len(), 4);
    assert_eq!(cpu.clipped, gpu.clipped);
    for (c, g) in cpu.layers.iter().zip(&gpu.layers) {
        assert_eq!(c.layer, g.layer);
        let pairs = [
            (c.gradient_norm, g.gradient_norm, 1e-3, "gradient norm"),
            (c.weight_norm, g.weight_norm, 1e-4, "weight norm"),
            (c.update_ratio, g.update_ratio, 1e-2, "update ratio"),
        ];
        for (a, b, tolerance, what) in pairs {
            let close = (a - b).abs() <= tolerance * a.abs();
            assert!(close, "{}'s {what}: {a} on flex, {b} on WebGPU", c.layer);
        }
    }
}

/// The weights after `steps` steps of a two-epoch run (3 steps an epoch) on `device`, taken
/// straight through, or with a checkpoint after `stop_at` steps and a new trainer opened from
/// its bytes for the rest.
async fn weights_after(device: &Device, stop_at: Option<usize>) -> Vec<u8> {
    let config = TrainingConfig::new()
        .with_batch_size(10)
        .with_epochs(2)
        .with_seed(7);
    let open = |start| Trainer::open(config.clone(), common::toy_dataset(30), device, start);
    let mut trainer = open(Start::Fresh).unwrap();
    if let Some(k) = stop_at {
        for _ in 0..k {
            trainer.step().await.unwrap();
        }
        let bytes = trainer.checkpoint(1.0).await.unwrap();
        let checkpoint = kindling::store::checkpoint::from_bytes(&bytes).unwrap();
        trainer = open(Start::Checkpoint(checkpoint)).unwrap();
    }
    while !trainer.finished() {
        trainer.step().await.unwrap();
    }
    let header = WeightsHeader::new(ModelConfig::new(), Default::default(), "mnist", 2, None);
    weights::to_bytes_async(&trainer.model(), &header)
        .await
        .unwrap()
}

#[wasm_bindgen_test]
async fn a_checkpointed_run_continues_exactly_in_the_browser() {
    // Mid-epoch (Adam's moments, dropout's stream and the shuffle carry on) and between epochs.
    for device in [Device::flex(), webgpu().await] {
        let straight = weights_after(&device, None).await;
        for stop_at in [2, 3] {
            let continued = weights_after(&device, Some(stop_at)).await;
            assert!(
                continued == straight,
                "{device:?}: stopped after {stop_at} steps and continued, the weights differ"
            );
        }
    }
}

/// A drawn "1": a dark vertical bar on white RGBA paper.
fn drawn_one() -> Vec<u8> {
    let (w, h) = (100, 100);
    let mut rgba = vec![255u8; w * h * 4];
    for y in 20..80 {
        for x in 45..55 {
            rgba[(y * w + x) * 4..][..3].fill(20);
        }
    }
    rgba
}

#[wasm_bindgen_test]
fn a_drawing_gets_probabilities_that_sum_to_one() {
    let predictor = Predictor::new(SHIPPED).unwrap();
    let input = prepare_image(&drawn_one(), 100, 100).unwrap();
    let probabilities = predictor.predict(&input).unwrap();
    let sum: f32 = probabilities.iter().sum();
    assert!((sum - 1.0).abs() < 1e-4, "probabilities sum to {sum}");
    let best = (0..10).max_by(|&a, &b| probabilities[a].total_cmp(&probabilities[b]));
    assert_eq!(best, Some(1), "{probabilities:?}");
}

#[wasm_bindgen_test]
fn a_damaged_weights_file_is_refused_and_the_model_stays() {
    let mut predictor = Predictor::new(SHIPPED).unwrap();
    let input = prepare_image(&drawn_one(), 100, 100).unwrap();
    let before = predictor.predict(&input).unwrap();
    let mut damaged = SHIPPED.to_vec();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0xff;
    assert!(predictor.load(&damaged).is_err());
    assert!(predictor.load(&SHIPPED[..100]).is_err());
    assert_eq!(predictor.predict(&input).unwrap(), before);
}

/// Each layer's output for a digit against burn's ops, and the saliency map against finite
/// differences (`tests/common/views.rs`): on flex in wasm and on WebGPU.
#[wasm_bindgen_test]
async fn the_views_inside_the_network_are_right_on_flex_and_webgpu() {
    for device in [Device::flex(), webgpu().await] {
        for batch_norm in [false, true] {
            common::views::check_activations(batch_norm, &device).await;
            common::views::check_saliency(batch_norm, &device).await;
        }
    }
}

/// The largest difference between two tensors, relative to the size of burn's values.
async fn worst_difference<const D: usize>(ours: Tensor<D>, theirs: Tensor<D>) -> f32 {
    assert_eq!(ours.dims(), theirs.dims());
    let ours = ours.into_data_async().await.unwrap();
    let theirs = theirs.into_data_async().await.unwrap();
    ours.iter::<f32>()
        .zip(theirs.iter::<f32>())
        .map(|(a, b)| (a - b).abs() / (1.0 + b.abs()))
        .fold(0.0f32, f32::max)
}

/// Kindling's WebGPU kernels (src/kernels/gpu) against burn's own ops on WebGPU: the fused
/// convolution, pooling and ReLU, its output and the gradients of weight, bias and input.
#[wasm_bindgen_test]
async fn webgpu_kernels_match_burns_ops_with_their_gradients() {
    use burn::nn::conv::Conv2dConfig;
    use burn::tensor::activation::relu;
    use burn::tensor::module::max_pool2d;
    use burn::tensor::ops::MaxPoolOptions;
    use kindling::kernels::gpu::conv2d_pool2_relu;

    let device = webgpu().await.autodiff();
    let normal = Distribution::Normal(0.0, 1.0);
    // The model's first layer (images need no gradient; its weight gradient sums the batch in
    // slices), its second at full width (no slices), a narrower one on an odd map, and a
    // small odd layer whose input channels come in a single four.
    for ([batch, c_in, c_out, side], input_grad) in [
        ([3, 1, 32, 28], false),
        ([2, 32, 64, 13], true),
        ([3, 8, 12, 13], true),
        ([2, 4, 4, 9], true),
    ] {
        let conv = Conv2dConfig::new([c_in, c_out], [3, 3]).init(&device);
        let mut x = Tensor::<4>::random([batch, c_in, side, side], normal, &device);
        if input_grad {
            x = x.require_grad();
        }
        let (weight, bias) = (conv.weight.val(), conv.bias.as_ref().unwrap().val());
        let ours = conv2d_pool2_relu(&x, &weight, &bias).expect("the WebGPU kernels apply");
        let theirs = relu(max_pool2d(
            conv.forward(x.clone()),
            MaxPoolOptions::new([2, 2]),
        ));
        let layer = format!("{c_in}→{c_out} on {side}×{side}");
        let worst = worst_difference(ours.clone(), theirs.clone()).await;
        assert!(worst < 1e-4, "{layer}: forward differs by {worst}");

        let upstream = Tensor::<4>::random(theirs.dims(), normal, &device);
        let ours = (ours * upstream.clone()).sum().backward();
        let theirs = (theirs * upstream).sum().backward();
        let flat = |grad: Option<Tensor<4>>| grad.map(|g| g.flatten::<1>(0, 3));
        let mut pairs = vec![
            (
                "weight",
                flat(weight.grad(&ours)),
                flat(weight.grad(&theirs)),
            ),
            ("bias", bias.grad(&ours), bias.grad(&theirs)),
        ];
        if input_grad {
            pairs.push(("input", flat(x.grad(&ours)), flat(x.grad(&theirs))));
        }
        for (what, a, b) in pairs {
            let worst = worst_difference(a.unwrap(), b.unwrap()).await;
            assert!(worst < 1e-4, "{layer}: {what} gradient differs by {worst}");
        }
        assert_eq!(
            x.grad(&ours).is_some(),
            input_grad,
            "{layer}: input gradient presence"
        );
    }
}

/// The dense layer's WebGPU kernels against burn's `Linear`: output and all three gradients,
/// for the model's two layer sizes and an odd one.
#[wasm_bindgen_test]
async fn webgpu_dense_kernels_match_burns_linear_with_their_gradients() {
    use burn::nn::LinearConfig;
    use kindling::kernels::gpu::linear;

    let device = webgpu().await.autodiff();
    let normal = Distribution::Normal(0.0, 1.0);
    for [batch, inputs, outputs] in [[16, 1600, 64], [16, 64, 10], [3, 7, 5]] {
        let layer = LinearConfig::new(inputs, outputs).init(&device);
        let x = Tensor::<2>::random([batch, inputs], normal, &device).require_grad();
        let ours = linear(&layer, &x).expect("the WebGPU kernels apply");
        let theirs = layer.forward(x.clone());
        let size = format!("{inputs}→{outputs}, batch {batch}");
        let worst = worst_difference(ours.clone(), theirs.clone()).await;
        assert!(worst < 1e-4, "{size}: forward differs by {worst}");

        let upstream = Tensor::<2>::random([batch, outputs], normal, &device);
        let ours = (ours * upstream.clone()).sum().backward();
        let theirs = (theirs * upstream).sum().backward();
        let (weight, bias) = (layer.weight.val(), layer.bias.as_ref().unwrap().val());
        let flat = |grad: Option<Tensor<2>>| grad.map(|g| g.flatten::<1>(0, 1));
        let pairs = [
            ("input", flat(x.grad(&ours)), flat(x.grad(&theirs))),
            (
                "weight",
                flat(weight.grad(&ours)),
                flat(weight.grad(&theirs)),
            ),
            ("bias", bias.grad(&ours), bias.grad(&theirs)),
        ];
        for (what, a, b) in pairs {
            let worst = worst_difference(a.unwrap(), b.unwrap()).await;
            assert!(worst < 1e-4, "{size}: {what} gradient differs by {worst}");
        }
    }
}

/// Kindling's one-kernel Adam against burn's Adam over three steps, on WebGPU (the kernel)
/// and on `flex` (its tensor-op path).
#[wasm_bindgen_test]
async fn fused_adam_takes_the_steps_burns_adam_takes() {
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
    use kindling::kernels::gpu::FusedAdam;

    for device in [webgpu().await.autodiff(), Device::flex().autodiff()] {
        let normal = Distribution::Normal(0.0, 1.0);
        let start = LinearConfig::new(37, 6).init(&device);
        let x = Tensor::<2>::random([5, 37], normal, &device);
        let upstream = Tensor::<2>::random([5, 6], normal, &device);
        let train = |mut optimizer: ModuleOptimizer| {
            let mut layer: Linear = start.clone();
            for _ in 0..3 {
                let loss = (layer.forward(x.clone()) * upstream.clone()).sum();
                let grads = GradientsParams::from_grads(loss.backward(), &layer);
                layer = optimizer.step(0.01, layer, grads);
            }
            layer
        };
        let (beta_1, beta_2, epsilon) = (0.9, 0.999, 1e-7);
        let ours = train(ModuleOptimizer::from(FusedAdam {
            beta_1,
            beta_2,
            epsilon,
        }));
        let theirs = train(AdamConfig::new().with_epsilon(epsilon).init());
        let moved = worst_difference(start.weight.val(), theirs.weight.val()).await;
        assert!(
            moved > 1e-3,
            "burn's Adam did not move the weights ({moved})"
        );
        for (what, a, b) in [
            (
                "weight",
                ours.weight.val().flatten::<1>(0, 1),
                theirs.weight.val().flatten(0, 1),
            ),
            ("bias", ours.bias.unwrap().val(), theirs.bias.unwrap().val()),
        ] {
            let worst = worst_difference(a, b).await;
            assert!(
                worst < 1e-5,
                "{device:?}: {what} differs from burn's Adam by {worst}"
            );
        }
    }
}

/// Kindling's LSTM and GRU against burn's `Lstm` and `Gru` with the same weights, hidden states
/// and gradients (`tests/common/nets.rs`): on flex in wasm and on WebGPU.
#[wasm_bindgen_test]
async fn the_recurrent_cells_match_burns_on_flex_and_webgpu() {
    common::nets::check_cells(&Device::flex(), 1e-4).await;
    common::nets::check_cells(&webgpu().await, 1e-3).await;
}

/// The RNN and the autoencoder: their loss falls on WebGPU, and WebGPU and flex give the same
/// outputs for the same weights (through a weights file).
#[wasm_bindgen_test]
async fn the_rnn_and_the_autoencoder_train_on_webgpu_as_on_flex() {
    use kindling::nets::{Architecture, AutoencoderConfig, NetworkConfig, RnnConfig};
    let gpu = webgpu().await;
    for network in [
        NetworkConfig::Rnn(RnnConfig::new().with_units(16)),
        NetworkConfig::Autoencoder(AutoencoderConfig::new().with_bottleneck(2)),
    ] {
        let config = TrainingConfig::new()
            .with_network(Some(network.clone()))
            .with_batch_size(10)
            .with_learning_rate(0.003)
            .with_seed(7);
        let mut trainer =
            Trainer::open(config, common::toy_dataset(10), &gpu, Start::Fresh).unwrap();
        let mut losses = Vec::new();
        for _ in 0..4 {
            losses.push(trainer.step().await.unwrap().loss);
        }
        assert!(losses[3] < losses[0], "{network:?} on WebGPU: {losses:?}");

        let architecture = Architecture {
            network,
            cnn: ModelConfig::new(),
        };
        let flex = Device::flex();
        let header = WeightsHeader::new(architecture.clone(), Default::default(), "mnist", 0, None);
        let bytes = weights::to_bytes(&architecture.init(&flex), &header).unwrap();
        let input = Tensor::<4>::random([2, 1, 28, 28], Distribution::Default, &flex);
        let mut outputs = Vec::new();
        for device in [flex.clone(), gpu.clone()] {
            let (model, _) = weights::from_bytes(&bytes, &device).unwrap();
            let x = Tensor::from_data(input.to_data(), &device);
            let out: Tensor<2> = match model.logits(x.clone()) {
                Some(logits) => logits,
                None => model.reconstruct(x).reshape([2, 784]),
            };
            outputs.push(out.into_data_async().await.unwrap());
        }
        let (a, b) = (outputs[0].iter::<f32>(), outputs[1].iter::<f32>());
        let worst = a.zip(b).fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
        assert!(
            worst < 1e-3,
            "{}: flex and WebGPU differ by {worst}",
            architecture.describe()
        );
    }
}

/// The prediction worker keeps the CNN answering and draws the other network beside it: the
/// RNN's answer after each row, the autoencoder's reconstruction, codes and decoded points.
#[wasm_bindgen_test]
fn the_predictor_draws_an_rnn_and_an_autoencoder_beside_the_cnn() {
    use kindling::nets::{Architecture, AutoencoderConfig, NetworkConfig, RnnConfig};
    let flex = Device::flex();
    let file = |network| {
        let architecture = Architecture {
            network,
            cnn: ModelConfig::new(),
        };
        let header = WeightsHeader::new(architecture.clone(), Default::default(), "mnist", 0, None);
        weights::to_bytes(&architecture.init(&flex), &header).unwrap()
    };
    let mut predictor = Predictor::new(SHIPPED).unwrap();
    let input = [0u8; 784];
    let answer = predictor.predict(&input).unwrap();
    assert!(predictor.rows(&input).is_err(), "no RNN yet");
    predictor
        .load(&file(NetworkConfig::Rnn(RnnConfig::new().with_units(8))))
        .unwrap();
    let rows: serde_json::Value = serde_json::from_str(&predictor.rows(&input).unwrap()).unwrap();
    assert_eq!(rows["beliefs"].as_array().unwrap().len(), 28);
    assert_eq!(
        predictor.predict(&input).unwrap(),
        answer,
        "the CNN still answers"
    );

    let ae = NetworkConfig::Autoencoder(AutoencoderConfig::new().with_bottleneck(2));
    predictor.load(&file(ae)).unwrap();
    assert!(
        predictor.rows(&input).is_err(),
        "the autoencoder replaced the RNN"
    );
    assert_eq!(predictor.reconstruct(&input).unwrap().len(), 784);
    assert_eq!(predictor.code(&input).unwrap().len(), 2);
    assert_eq!(predictor.decode(vec![0.5, -1.0]).unwrap().len(), 784);
    assert!(
        predictor.decode(vec![0.5]).is_err(),
        "a code of the wrong size"
    );
    assert!(predictor.codes(0, 10).is_err(), "no test set yet");
    predictor.clear_network();
    assert!(predictor.network_header().is_none());
}
