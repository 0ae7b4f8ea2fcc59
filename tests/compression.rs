//! Compression and distillation: int8 weights round-trip within half a step and keep the
//! trained model's accuracy; the distillation loss is Hinton's formula; a distilled student
//! learns.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor, TensorData};
use futures_lite::future::block_on;

use kindling::data::{Normalization, Split};
use kindling::model::ModelConfig;
use kindling::store::quantize;
use kindling::store::weights::{self, Precision, WeightsError, WeightsHeader};
use kindling::training::distill::{distillation_loss, DistillConfig};
use kindling::training::{self, Start, Trainer, TrainingConfig};

const SHIPPED: &[u8] = include_bytes!("../weights/mnist-cnn.kndl");

/// Every float tensor of a model, flattened, in visit order.
fn tensors(model: &impl Module) -> Vec<Vec<f32>> {
    struct Collect(Vec<Vec<f32>>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let data = param.val().into_data().convert::<f32>();
            self.0.push(data.try_into_vec::<f32>().unwrap());
        }
    }
    let mut collect = Collect(Vec::new());
    model.visit(&mut collect);
    collect.0
}

#[test]
fn int8_keeps_each_weight_within_half_a_step_of_its_channel_scale() {
    // A conv kernel [out 3, in 1, 2, 2] and a dense weight [in 2, out 3].
    let conv = [
        0.5, -0.25, 0.1, 0.0, 2.0, -1.0, 0.3, 0.7, 0.0, 0.0, 0.0, 0.0,
    ];
    let (scales, q) = quantize::quantize(&conv, &[3, 1, 2, 2]);
    assert_eq!(scales[..2], [0.5 / 127.0, 2.0 / 127.0]);
    assert_eq!(q[..2], [127, -64]);
    assert!(
        q[8..].iter().all(|&v| v == 0),
        "an all-zero channel stays zero"
    );
    let dense = [1.0, -0.2, 0.01, -0.5, 0.4, 0.02];
    let (scales, q) = quantize::quantize(&dense, &[2, 3]);
    assert_eq!(
        scales,
        [1.0 / 127.0, 0.4 / 127.0, 0.02 / 127.0],
        "one scale per output column"
    );
    let back = quantize::dequantize(&scales, &q, &[2, 3]);
    for (i, (w, b)) in dense.iter().zip(&back).enumerate() {
        assert!((w - b).abs() <= scales[i % 3] / 2.0 + 1e-7, "{w} → {b}");
    }
}

#[test]
fn an_int8_file_is_a_quarter_of_f32_and_its_weights_are_within_bounds() {
    let device = Device::flex();
    let (model, header) = weights::from_bytes(SHIPPED, &device).unwrap();
    let as_f32 = WeightsHeader {
        precision: Precision::F32,
        ..header.clone()
    };
    let as_int8 = WeightsHeader {
        precision: Precision::Int8,
        ..header
    };
    let f32_bytes = weights::to_bytes(&model, &as_f32).unwrap();
    let int8_bytes = weights::to_bytes(&model, &as_int8).unwrap();
    let ratio = f32_bytes.len() as f64 / int8_bytes.len() as f64;
    assert!(
        ratio > 3.9,
        "f32 {} bytes, int8 {} bytes",
        f32_bytes.len(),
        int8_bytes.len()
    );
    let (loaded, loaded_header) = weights::from_bytes(&int8_bytes, &device).unwrap();
    assert_eq!(loaded_header.precision, Precision::Int8);
    for (original, restored) in tensors(&model).iter().zip(tensors(&loaded)) {
        let max = original.iter().fold(0.0f32, |m, w| m.max(w.abs()));
        for (w, r) in original.iter().zip(&restored) {
            // Within half a step of the largest channel's scale (vectors are exact).
            assert!((w - r).abs() <= max / 127.0 / 2.0 + 1e-6, "{w} → {r}");
        }
    }
    // A record cut short inside a tensor, with a matching checksum, is refused by name.
    let record = quantize::encode(&model).unwrap();
    let seed = ModelConfig::new().into();
    let short = quantize::decode(&seed, &record[..record.len() - 100], &device);
    assert!(matches!(short, Err(WeightsError::Record(m)) if m.contains("too short")));
    let other = quantize::decode(&ModelConfig::student().into(), &record, &device);
    assert!(matches!(other, Err(WeightsError::Record(m)) if m.contains("shape")));
}

#[test]
fn int8_weights_of_a_trained_model_keep_its_test_accuracy_within_a_tenth_of_a_point() {
    let device = Device::flex();
    let test = common::mnist(Split::Test);
    let (model, header) = weights::from_bytes(SHIPPED, &device).unwrap();
    let int8 = WeightsHeader {
        precision: Precision::Int8,
        ..header.clone()
    };
    let (quantized, _) =
        weights::from_bytes(&weights::to_bytes(&model, &int8).unwrap(), &device).unwrap();
    let accuracy = |m| {
        block_on(training::evaluate(m, &test, header.normalization, &device))
            .unwrap()
            .accuracy
            .unwrap()
    };
    let (full, small) = (accuracy(&model), accuracy(&quantized));
    assert!(full > 0.99, "the shipped model: {full}");
    assert!((full - small).abs() <= 0.001, "f32 {full}, int8 {small}");
}

#[test]
fn the_distillation_loss_is_hintons_formula() {
    let device = Device::flex();
    let row = |values: [f32; 2]| {
        Tensor::<2>::from_data(TensorData::new(values.to_vec(), [1, 2]), &device)
    };
    let (t, alpha) = (2.0f64, 0.75f64);
    // Teacher logits [2 ln 3, 0] at T = 2 give p = [3/4, 1/4]; student [0, 0] gives q = ½, ½.
    let teacher = row([2.0 * 3f32.ln(), 0.0]);
    let student = row([0.0, 0.0]);
    let hard = Tensor::<1>::from_data(TensorData::new(vec![0.5f32], [1]), &device);
    let loss = distillation_loss(student, teacher, hard, t, alpha).into_scalar::<f32>();
    let kl = 0.75 * (1.5f64).ln() + 0.25 * (0.5f64).ln();
    let expected = alpha * t * t * kl + (1.0 - alpha) * 0.5;
    assert!(
        (loss as f64 - expected).abs() < 1e-5,
        "{loss} vs {expected}"
    );
    // The same logits give no soft loss at all.
    let same = distillation_loss(
        row([1.0, -1.0]),
        row([1.0, -1.0]),
        Tensor::zeros([1], &device),
        t,
        1.0,
    );
    assert!(same.into_scalar::<f32>().abs() < 1e-6);
    for bad in [
        DistillConfig::new().with_temperature(0.5),
        DistillConfig::new().with_alpha(1.5),
        DistillConfig::new().with_temperature(f64::NAN),
    ] {
        assert!(bad.validate().is_err(), "{bad:?}");
    }
}

#[test]
fn a_student_learns_from_a_teacher_and_pays_for_its_forward_pass() {
    let device = Device::flex();
    let data = common::toy_dataset(200);
    let mut teacher = Trainer::open(
        TrainingConfig::new().with_epochs(3).with_batch_size(20),
        data.clone(),
        &device,
        Start::Fresh,
    )
    .unwrap();
    while !teacher.finished() {
        block_on(teacher.step()).unwrap();
    }
    let student_config = TrainingConfig::new()
        .with_model(ModelConfig::student())
        .with_epochs(8)
        .with_learning_rate(0.005)
        .with_batch_size(20)
        .with_distill(Some(DistillConfig::new()));
    let student = Trainer::open(student_config, data.clone(), &device, Start::Fresh)
        .unwrap()
        .with_teacher(teacher.model().cnn().unwrap().clone(), &ModelConfig::new())
        .unwrap();
    let mut student = student;
    let mut losses = Vec::new();
    while !student.finished() {
        losses.push(block_on(student.step()).unwrap().loss);
    }
    let mean = |l: &[f32]| l.iter().sum::<f32>() / l.len() as f32;
    let (first, last) = (mean(&losses[..10]), mean(&losses[losses.len() - 10..]));
    assert!(last < 0.5 * first, "loss {first} → {last}");
    let evaluation = block_on(training::evaluate(
        &student.model(),
        &data,
        Normalization::UnitRange,
        &device,
    ))
    .unwrap();
    let accuracy = evaluation.accuracy.unwrap();
    assert!(accuracy > 0.8, "distilled student: {accuracy}");
    // Per training image the run also paid the teacher's forward pass.
    let energy = Default::default();
    let images = student.samples_seen() as f64;
    let paid = student.cost(1.0, &energy).flops;
    let teacher_forward = kindling::cost::forward_flops(&ModelConfig::new());
    assert!(
        (paid - images * (kindling::cost::train_flops(&ModelConfig::student()) + teacher_forward))
            .abs()
            < 1.0
    );
    // A teacher without distillation settings is refused.
    let plain = Trainer::open(TrainingConfig::new(), data, &device, Start::Fresh).unwrap();
    assert!(plain
        .with_teacher(teacher.model().cnn().unwrap().clone(), &ModelConfig::new())
        .is_err());
}
