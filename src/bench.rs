//! Speed measurements for `kindling bench`: a whole training step, evaluation, one-image
//! inference, and a profile of where a step's time goes, operation by operation.

use std::time::Instant;

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::activation::relu;
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{Device, Distribution, Tensor};

use futures_lite::future::block_on;

use crate::cost;
use crate::data::augment::AugmentConfig;
use crate::data::random::SplitMix64;
use crate::data::{Dataset, Normalization, IMAGE_PIXELS};
use crate::kernels::{conv2d_pool2_relu, conv2d_valid, max_pool2_relu};
use crate::model::inference;
use crate::model::ModelConfig;
use crate::training::{evaluate, Start, TrainError, Trainer, TrainingConfig};

/// What `kindling bench` measured.
#[derive(Debug, Clone)]
pub struct BenchReport {
    pub seconds_per_step: f64,
    pub steps_per_epoch: usize,
    pub eval_seconds: f64,
    pub inference_ms: f64,
    pub batch_size: usize,
    pub train_flops_per_image: f64,
}

impl BenchReport {
    pub fn samples_per_second(&self) -> f64 {
        self.batch_size as f64 / self.seconds_per_step
    }

    /// An epoch as `train` runs it: every step, then the test-set evaluation.
    pub fn seconds_per_epoch(&self) -> f64 {
        self.seconds_per_step * self.steps_per_epoch as f64 + self.eval_seconds
    }

    pub fn gflops(&self) -> f64 {
        self.samples_per_second() * self.train_flops_per_image / 1e9
    }
}

/// Times `steps` training steps of the seed recipe after `warmup` steps, then evaluation and
/// single-image inference, on the CPU.
pub fn measure(
    train: Dataset,
    test: &Dataset,
    steps: usize,
    warmup: usize,
) -> Result<BenchReport, TrainError> {
    let device = Device::flex();
    let config = TrainingConfig::new();
    let mut trainer = Trainer::open(config.clone(), train, &device, Start::Fresh)?;
    for _ in 0..warmup {
        block_on(trainer.step())?;
    }
    let started = Instant::now();
    for _ in 0..steps {
        block_on(trainer.step())?;
    }
    let seconds_per_step = started.elapsed().as_secs_f64() / steps.max(1) as f64;

    let model = trainer.model();
    let started = Instant::now();
    block_on(evaluate(&model, test, config.normalization, &device))?;
    let eval_seconds = started.elapsed().as_secs_f64();

    let mut digit = [0u8; IMAGE_PIXELS];
    digit.copy_from_slice(test.image(0));
    const RUNS: usize = 200;
    let started = Instant::now();
    for _ in 0..RUNS {
        block_on(inference::predict(
            &model,
            &digit,
            config.normalization,
            &device,
        ))
        .map_err(TrainError::Device)?;
    }
    let inference_ms = started.elapsed().as_secs_f64() * 1e3 / RUNS as f64;

    Ok(BenchReport {
        seconds_per_step,
        steps_per_epoch: trainer.steps_per_epoch(),
        eval_seconds,
        inference_ms,
        batch_size: config.batch_size,
        train_flops_per_image: cost::train_flops(&config.architecture()),
    })
}

/// Milliseconds to augment one batch of 128 training images, for each kind of augmentation: it
/// runs on the CPU before every step, so it must stay far below a step's time.
pub fn augmentation_profile(train: &Dataset) -> Vec<(&'static str, f64)> {
    let indices: Vec<usize> = (0..128.min(train.len())).collect();
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    let affine = AugmentConfig::new()
        .with_shift(2)
        .with_rotation(10.0)
        .with_scale(0.1)
        .with_shear(10.0);
    let cases = [
        ("shift 2", AugmentConfig::new().with_shift(2)),
        ("shift, rotation, scale, shear", affine.clone()),
        ("all four + mixup", affine.with_mixup(Some(0.2))),
    ];
    let mut rng = SplitMix64(1);
    cases
        .into_iter()
        .map(|(name, augment)| {
            let ms = millis(|| {
                train.fill_batch(&indices, Normalization::UnitRange, &mut pixels, &mut labels);
                augment.apply(&mut pixels, &labels, 0.0, &mut rng);
            }) - millis(|| {
                train.fill_batch(&indices, Normalization::UnitRange, &mut pixels, &mut labels);
            });
            (name, ms.max(0.0))
        })
        .collect()
}

/// Seconds per training step of the best preset's model and augmentation (BatchNorm, shift,
/// rotation, scale) at batch 128: what those options cost on top of the seed's step.
pub fn best_preset_step(train: Dataset, steps: usize) -> Result<f64, TrainError> {
    let config = crate::training::recipe::Preset::Best
        .settings()
        .apply(TrainingConfig::new());
    let mut trainer = Trainer::open(config, train, &Device::flex(), Start::Fresh)?;
    for _ in 0..3 {
        block_on(trainer.step())?;
    }
    let started = Instant::now();
    for _ in 0..steps {
        block_on(trainer.step())?;
    }
    Ok(started.elapsed().as_secs_f64() / steps.max(1) as f64)
}

/// Milliseconds per call of `f`, after two warm-up calls. `flex` runs eagerly, so the work is
/// done when `f` returns.
fn millis(mut f: impl FnMut()) -> f64 {
    const RUNS: u32 = 10;
    for _ in 0..2 {
        f();
    }
    let started = Instant::now();
    for _ in 0..RUNS {
        f();
    }
    started.elapsed().as_secs_f64() * 1e3 / RUNS as f64
}

/// Forward, and forward + backward, of each layer of the seed model at batch 128 on `flex`,
/// with our kernels (what runs) and with burn's own ops: where a training step's time goes.
pub fn layer_profile() -> Vec<(String, f64, f64)> {
    let device = Device::flex().autodiff();
    let batch = 128;
    let config = ModelConfig::new();
    let (c1, c2) = (config.conv1_channels, config.conv2_channels);
    let conv1 = Conv2dConfig::new([1, c1], [3, 3]).init(&device);
    let conv2 = Conv2dConfig::new([c1, c2], [3, 3]).init(&device);
    let input =
        |dims: [usize; 4]| Tensor::<4>::random(dims, Distribution::Default, &device).require_grad();
    let images = Tensor::<4>::random([batch, 1, 28, 28], Distribution::Default, &device);
    let x1 = input([batch, c1, 26, 26]);
    let x2 = input([batch, c1, 13, 13]);
    let x3 = input([batch, c2, 11, 11]);
    let burn_pool = |x| relu(max_pool2d(x, MaxPoolOptions::new([2, 2])));

    let mut rows = Vec::new();
    // Forward without autodiff, then forward + backward; the backward's result is read back.
    let mut row = |name: String, x: &Tensor<4>, f: &dyn Fn(Tensor<4>) -> Tensor<4>| {
        let forward = millis(|| drop(f(x.clone().without_autodiff()).into_data()));
        let both = millis(|| drop(f(x.clone()).sum().backward()));
        rows.push((name, forward, both));
    };
    for (who, ours) in [("ours", true), ("burn", false)] {
        let conv = |conv: &Conv2d, x| {
            if ours {
                conv2d_valid(conv, x)
            } else {
                conv.forward(x)
            }
        };
        let pool = |x| {
            if ours {
                max_pool2_relu(x)
            } else {
                burn_pool(x)
            }
        };
        row(format!("conv1 1→{c1} 3×3, {who}"), &images, &|x| {
            conv(&conv1, x)
        });
        row(format!("maxpool+relu {c1}×26×26, {who}"), &x1, &|x| {
            pool(x)
        });
        if ours {
            // What the model runs for each layer: the two rows above in one pass.
            row(
                format!("conv1 + maxpool+relu fused, {who}"),
                &images,
                &|x| conv2d_pool2_relu(&conv1, x),
            );
        }
        row(format!("conv2 {c1}→{c2} 3×3, {who}"), &x2, &|x| {
            conv(&conv2, x)
        });
        row(format!("maxpool+relu {c2}×11×11, {who}"), &x3, &|x| {
            pool(x)
        });
        if ours {
            row(format!("conv2 + maxpool+relu fused, {who}"), &x2, &|x| {
                conv2d_pool2_relu(&conv2, x)
            });
        }
    }
    rows
}
