use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use kindling::model::ModelConfig;
use std::time::Instant;

fn main() {
    let device = Device::flex().autodiff();
    device.seed(1);
    let mut model = ModelConfig::new().init(&device);
    let mut optim = AdamConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let b = 128;
    let x = Tensor::<4>::random([b, 1, 28, 28], Distribution::Default, &device);
    let y = Tensor::<1, Int>::from_data(TensorData::new((0..b as i64).map(|i| i % 10).collect::<Vec<_>>(), [b]), &device);
    for i in 0..25 {
        let t = Instant::now();
        let logits = model.forward(x.clone());
        let loss = loss_fn.forward(logits, y.clone());
        let t1 = t.elapsed();
        let grads = loss.backward();
        let t2 = t.elapsed();
        let grads = GradientsParams::from_grads(grads, &model);
        model = optim.step(1e-3, model, grads);
        let l: f32 = loss.into_scalar();
        if i % 5 == 4 { println!("step {i}: fwd {:?} bwd {:?} total {:?} loss {l}", t1, t2 - t1, t.elapsed()); }
    }
    let inf = model.valid();
    let x1 = Tensor::<4>::random([1, 1, 28, 28], Distribution::Default, &device.clone().without_autodiff());
    let t = Instant::now();
    for _ in 0..100 { let _p: Vec<f32> = inf.probabilities(x1.clone()).into_data().to_vec().unwrap(); }
    println!("infer {:?}", t.elapsed() / 100);
}
