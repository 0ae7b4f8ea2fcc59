//! The views inside the network, checked against what they claim to show: activations against
//! the forward pass rebuilt from burn's own ops, saliency against finite differences of the
//! class score, occlusion against a direct forward pass, PCA against known axes, and training
//! health against the update the optimizer must have made. The first two checks run in the
//! browser too (`tests/web.rs`), on flex and WebGPU.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::views;

use burn::tensor::{Device, Tensor, TensorData};
use futures_lite::future::block_on;
use kindling::data::{Normalization, IMAGE_PIXELS, IMAGE_SIDE};
use kindling::inspect::embedding::principal_axes;
use kindling::inspect::{self, Projection, SaliencyMethod};
use kindling::model::Model;
use kindling::training::optimizer::{OptimizerConfig, OptimizerKind};
use kindling::training::{Start, Trainer, TrainingConfig};

fn small(batch_norm: bool) -> (Model, Device) {
    let device = Device::flex();
    (views::small_model(batch_norm, &device), device)
}

fn picture() -> [u8; IMAGE_PIXELS] {
    views::picture()
}

#[test]
fn activations_are_the_layers_outputs_rebuilt_from_burns_ops() {
    for batch_norm in [false, true] {
        block_on(views::check_activations(batch_norm, &Device::flex()));
    }
}

#[test]
fn saliency_is_the_gradient_of_the_class_score() {
    for batch_norm in [false, true] {
        block_on(views::check_saliency(batch_norm, &Device::flex()));
    }
}

#[test]
fn smoothgrad_follows_the_gradient_and_wrong_classes_are_refused() {
    let (model, device) = small(false);
    let image = picture();
    let norm = Normalization::UnitRange;
    let map =
        |method| block_on(inspect::saliency(&model, &image, 3, norm, method, &device)).unwrap();
    let (plain, smooth) = (
        map(SaliencyMethod::Gradient),
        map(SaliencyMethod::SmoothGrad),
    );
    assert_ne!(plain, smooth, "noise changes the map");
    let r = inspect::saliency::correlation(&plain, &smooth);
    assert!(r > 0.5, "SmoothGrad keeps what the gradient says: r = {r}");
    let refused = block_on(inspect::saliency(
        &model,
        &image,
        10,
        norm,
        SaliencyMethod::Gradient,
        &device,
    ));
    assert_eq!(
        refused.unwrap_err(),
        "a class must be a digit from 0 to 9, got 10"
    );
}

#[test]
fn occlusion_is_the_probability_drop_under_a_grey_square() {
    let (model, device) = small(false);
    let image = picture();
    let norm = Normalization::UnitRange;
    let class = 3;
    let map = block_on(inspect::occlusion(&model, &image, class, norm, &device)).unwrap();
    // Pixel (0, 0) is covered by the top-left square alone.
    let input: Vec<f32> = image.iter().map(|&p| norm.apply(p)).collect();
    let mut grey = input.clone();
    for r in 0..inspect::saliency::OCCLUSION_PATCH {
        for c in 0..inspect::saliency::OCCLUSION_PATCH {
            grey[r * IMAGE_SIDE + c] = norm.apply(33);
        }
    }
    let probability = |x: &[f32]| {
        let t = Tensor::<4>::from_data(TensorData::new(x.to_vec(), [1, 1, 28, 28]), &device);
        model
            .probabilities(t)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap()[class]
    };
    let drop = probability(&input) - probability(&grey);
    assert!((map[0] - drop).abs() < 1e-5, "{} vs {drop}", map[0]);
    assert!(
        map.iter().any(|&d| d != 0.0),
        "squares on the stroke change the answer"
    );
}

#[test]
fn pca_finds_the_axes_of_largest_variance_and_keeps_their_signs() {
    // Points spread 10× more along (1, 1, 0)/√2 than along (1, −1, 0)/√2, none along z.
    let mut rows = Vec::new();
    for i in 0..200 {
        let (a, b) = ((i as f32 * 0.7).sin() * 10.0, (i as f32 * 1.3).cos());
        let s = std::f32::consts::FRAC_1_SQRT_2;
        rows.extend([5.0 + (a + b) * s, -2.0 + (a - b) * s, 3.0]);
    }
    let (projection, explained) = principal_axes(&rows, 3, None);
    let s = std::f32::consts::FRAC_1_SQRT_2;
    let along =
        |axis: &[f32], v: [f32; 3]| axis.iter().zip(v).map(|(a, b)| a * b).sum::<f32>().abs();
    assert!(
        along(&projection.axes[0], [s, s, 0.0]) > 0.999,
        "{:?}",
        projection.axes
    );
    assert!(
        along(&projection.axes[1], [s, -s, 0.0]) > 0.999,
        "{:?}",
        projection.axes
    );
    assert!(explained[0] > 0.95 && explained[1] > 0.005, "{explained:?}");
    assert!((projection.mean[2] - 3.0).abs() < 1e-5);
    // A previous map with opposite signs: the new axes follow it.
    let flipped = Projection {
        mean: projection.mean.clone(),
        axes: projection
            .axes
            .clone()
            .map(|a| a.iter().map(|x| -x).collect()),
    };
    let (again, _) = principal_axes(&rows, 3, Some(&flipped));
    assert_eq!(again.axes, flipped.axes);
}

#[test]
fn the_embedding_maps_the_first_images_of_a_set() {
    let (model, device) = small(false);
    let set = common::toy_dataset(50);
    let map = block_on(inspect::embedding::embedding(
        &model,
        &set,
        30,
        Normalization::UnitRange,
        &device,
        None,
    ))
    .unwrap();
    assert_eq!(map.points.len(), 60);
    assert_eq!(map.labels, set.labels()[..30]);
    assert_eq!(map.predicted.len(), 30);
    assert_eq!(map.cost.forward_passes, 30);
    // The first point is the first image's hidden units, projected.
    let first = block_on(inspect::activations(
        &model,
        set.image(0).try_into().unwrap(),
        Normalization::UnitRange,
        &device,
    ))
    .unwrap();
    let [x, y] = map.projection.project(&first.hidden);
    views::close(&map.points[..2], &[x, y], 1e-4, "point 0");
}

/// A run of plain SGD on the toy set that measures its health.
fn sgd_run(clip_norm: Option<f64>) -> Trainer {
    let config = TrainingConfig::new()
        .with_batch_size(10)
        .with_learning_rate(0.1)
        .with_optimizer(OptimizerConfig::new().with_kind(OptimizerKind::Sgd))
        .with_clip_norm(clip_norm);
    let mut trainer = Trainer::open(
        config,
        common::toy_dataset(200),
        &Device::flex(),
        Start::Fresh,
    )
    .unwrap();
    trainer.watch_health(Some(10));
    trainer
}

#[test]
fn health_measures_the_step_sgd_took_and_clipping_bounds_it() {
    for clip in [None, Some(1e-3)] {
        let mut trainer = sgd_run(clip);
        for step in 1..=12 {
            block_on(trainer.step()).unwrap();
            let measured = step == 1 || step == 10;
            assert_eq!(trainer.health().is_some(), measured, "step {step}");
            let Some(health) = trainer.health() else {
                continue;
            };
            assert_eq!(health.step, step);
            let names: Vec<&str> = health.layers.iter().map(|l| l.layer.as_str()).collect();
            assert_eq!(names, ["conv1", "conv2", "dense1", "dense2"]);
            let squares: f32 = health.layers.iter().map(|l| l.gradient_norm.powi(2)).sum();
            assert!((squares.sqrt() - health.gradient_norm).abs() < 1e-4 * health.gradient_norm);
            // SGD moves the weights by lr × the (clipped) gradient.
            let update: f32 = (health.layers.iter())
                .map(|l| (l.update_ratio * l.weight_norm).powi(2))
                .sum::<f32>()
                .sqrt();
            let expected = 0.1
                * clip.map_or(health.gradient_norm, |c| {
                    c.min(health.gradient_norm as f64) as f32
                });
            assert!(
                (update - expected).abs() < 2e-3 * expected,
                "step {step}: {update} vs {expected}"
            );
            assert_eq!(health.clipped, clip.is_some());
            assert_eq!(health.clip_norm, clip);
            assert!(health.warnings.is_empty(), "{:?}", health.warnings);
        }
    }
}

#[test]
fn health_warns_in_plain_words() {
    use kindling::inspect::health::{warnings, LayerHealth};
    let layer = |name: &str, g: f32, r: f32| LayerHealth {
        layer: name.into(),
        gradient_norm: g,
        weight_norm: 1.0,
        update_ratio: r,
    };
    assert!(warnings(&[layer("conv1", 0.5, 1e-3)], 0.5).is_empty());
    let said = warnings(
        &[layer("conv1", 1e-9, 1e-3), layer("dense1", 400.0, 0.5)],
        400.0,
    );
    assert_eq!(said.len(), 3, "{said:?}");
    assert!(said[0].starts_with("Exploding gradients: the gradient's norm is 4.000e2, above 100."));
    assert!(said[1].starts_with("Vanishing gradients: conv1's gradient norm is 1.0e-9"));
    assert!(said[2].starts_with("Large updates: a step changes dense1's weights by 50%"));
}
