//! Speed measurements for `kindling bench`: a whole training step, evaluation, one-image
//! inference, and a profile of where a step's time goes, operation by operation.

use std::time::Instant;

use burn::module::Module;
use burn::nn::conv::Conv2dConfig;
use burn::nn::pool::MaxPool2dConfig;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Distribution, Tensor};

use futures_lite::future::block_on;

use crate::data::{Dataset, IMAGE_PIXELS};
use crate::model::{conv_one_channel_as_matmul, ModelConfig};
use crate::training::{evaluate, TrainError, Trainer, TrainingConfig};
use crate::{cost, inference};

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
    let mut trainer = Trainer::new(config.clone(), train, &device)?;
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
        train_flops_per_image: cost::train_flops(&config.model),
    })
}

/// Milliseconds per call of `f`, after two warm-up calls. The result is read back so lazy work
/// is counted.
fn millis<const D: usize>(mut f: impl FnMut() -> Tensor<D>) -> f64 {
    const RUNS: u32 = 10;
    for _ in 0..2 {
        let _ = f().into_data();
    }
    let started = Instant::now();
    for _ in 0..RUNS {
        let _ = f().into_data();
    }
    started.elapsed().as_secs_f64() * 1e3 / RUNS as f64
}

/// Forward, and forward + backward, of each layer of the seed model at batch 128 on `flex`:
/// which operations a training step spends its time in.
pub fn layer_profile() -> Vec<(&'static str, f64, f64)> {
    let device = Device::flex().autodiff();
    let batch = 128;
    let config = ModelConfig::new();
    let conv1 = Conv2dConfig::new([1, config.conv1_channels], [3, 3]).init(&device);
    let conv2 =
        Conv2dConfig::new([config.conv1_channels, config.conv2_channels], [3, 3]).init(&device);
    let pool = MaxPool2dConfig::new([2, 2]).init();
    let input =
        |dims: [usize; 4]| Tensor::<4>::random(dims, Distribution::Default, &device).require_grad();
    let images = Tensor::<4>::random([batch, 1, 28, 28], Distribution::Default, &device);
    let x1 = input([batch, 32, 26, 26]);
    let x2 = input([batch, 32, 13, 13]);
    let x3 = input([batch, 64, 11, 11]);

    // Each closure returns a gradient so the backward pass is forced to run.
    let mut rows = Vec::new();
    let mut row = |name, forward: f64, both: f64| rows.push((name, forward, both));
    row(
        "conv1 as im2col matmul (what runs)",
        millis(|| conv_one_channel_as_matmul(&conv1.valid(), images.clone().without_autodiff())),
        millis(|| {
            let output = conv_one_channel_as_matmul(&conv1, images.clone());
            conv1.weight.grad(&output.sum().backward()).unwrap()
        }),
    );
    row(
        "conv1, burn's direct conv2d (not run)",
        millis(|| conv1.valid().forward(images.clone().without_autodiff())),
        millis(|| {
            conv1
                .weight
                .grad(&conv1.forward(images.clone()).sum().backward())
                .unwrap()
        }),
    );
    row(
        "maxpool 2×2 on 32×26×26",
        millis(|| pool.forward(x1.clone().without_autodiff())),
        millis(|| x1.grad(&pool.forward(x1.clone()).sum().backward()).unwrap()),
    );
    row(
        "relu on 32×13×13",
        millis(|| relu(x2.clone().without_autodiff())),
        millis(|| x2.grad(&relu(x2.clone()).sum().backward()).unwrap()),
    );
    row(
        "conv2 (32→64, 3×3)",
        millis(|| conv2.valid().forward(x2.clone().without_autodiff())),
        millis(|| {
            x2.grad(&conv2.forward(x2.clone()).sum().backward())
                .unwrap()
        }),
    );
    row(
        "maxpool 2×2 on 64×11×11",
        millis(|| pool.forward(x3.clone().without_autodiff())),
        millis(|| x3.grad(&pool.forward(x3.clone()).sum().backward()).unwrap()),
    );
    let a = Tensor::<2>::random(
        [batch * 121, 288],
        Distribution::Default,
        &device.clone().without_autodiff(),
    );
    let b = Tensor::<2>::random(
        [288, 64],
        Distribution::Default,
        &device.clone().without_autodiff(),
    );
    row(
        "matmul 15488×288×64 (conv2's work)",
        millis(|| a.clone().matmul(b.clone())),
        f64::NAN,
    );
    rows
}
