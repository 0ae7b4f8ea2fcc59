//! The networks besides the CNN: the recurrent cells against burn's own, the counts the ledger
//! charges against the modules' own parameters, each network learning on real digits, their
//! weights files, and every use a network has no meaning for refused with a sentence.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use burn::module::Module;
use burn::tensor::Device;
use futures_lite::future::block_on;
use kindling::cost;
use kindling::data::{Normalization, Split};
use kindling::model::ModelConfig;
use kindling::nets::{Architecture, AutoencoderConfig, Cell, NetworkConfig, RnnConfig};
use kindling::store::weights::{self, Precision, WeightsError, WeightsHeader};
use kindling::training::recipe::RunSettings;
use kindling::training::{evaluate, Evaluation, Start, Trainer, TrainingConfig};

fn rnn(cell: Cell) -> NetworkConfig {
    NetworkConfig::Rnn(RnnConfig::new().with_cell(cell))
}

fn autoencoder(bottleneck: usize) -> NetworkConfig {
    NetworkConfig::Autoencoder(AutoencoderConfig::new().with_bottleneck(bottleneck))
}

fn architecture(network: NetworkConfig) -> Architecture {
    Architecture {
        network,
        cnn: ModelConfig::new(),
    }
}

#[test]
fn the_recurrent_cells_match_burns_lstm_and_gru_forward_and_backward() {
    block_on(common::nets::check_cells(&Device::flex(), 1e-4));
}

#[test]
fn the_ledger_counts_the_parameters_each_network_has() {
    let device = Device::flex();
    for network in [
        rnn(Cell::Lstm),
        rnn(Cell::Gru),
        autoencoder(32),
        autoencoder(2),
    ] {
        let architecture = architecture(network);
        let built = architecture.init(&device).num_params();
        assert_eq!(
            cost::params(&architecture),
            built,
            "{}",
            architecture.describe()
        );
    }
    // An LSTM of 128 on rows of 28 has PyTorch's count, 4·128·(28 + 128 + 2), and dense 1,290.
    assert_eq!(cost::params(&architecture(rnn(Cell::Lstm))), 82_186);
    // A step of the sequence multiplies a row and the state by every gate: 28 steps.
    let forward = cost::forward_flops(&architecture(rnn(Cell::Lstm)));
    assert_eq!(forward, 2.0 * (28.0 * 512.0 * (28.0 + 128.0) + 1280.0));
}

/// Trains `network` on the first `images` MNIST digits and evaluates it on 500 test digits.
fn train(network: NetworkConfig, images: usize, epochs: usize, rate: f64) -> Evaluation {
    let device = Device::flex();
    let train = common::mnist(Split::Train).limit(images);
    let test = common::mnist(Split::Test).limit(500);
    let config = TrainingConfig::new()
        .with_network(Some(network))
        .with_epochs(epochs)
        .with_batch_size(32)
        .with_learning_rate(rate);
    let mut trainer = Trainer::open(config, train, &device, Start::Fresh).unwrap();
    while !trainer.finished() {
        block_on(trainer.step()).unwrap();
    }
    block_on(evaluate(
        &trainer.model(),
        &test,
        Normalization::UnitRange,
        &device,
    ))
    .unwrap()
}

#[test]
fn an_lstm_learns_to_read_digits_row_by_row() {
    let evaluation = train(rnn(Cell::Lstm), 2000, 2, 0.003);
    let accuracy = evaluation.accuracy.unwrap();
    assert!(
        accuracy > 0.7,
        "LSTM after 2 epochs of 2,000 digits: {accuracy}"
    );
}

#[test]
fn an_autoencoder_learns_to_draw_digits_back() {
    // A black picture is 0.11 away from the average digit (mean squared); training on mean squared
    // error itself sat near 0.06–0.08 here, at about the average digit.
    let evaluation = train(autoencoder(32), 2000, 2, 0.003);
    assert_eq!(evaluation.accuracy, None, "an autoencoder has no accuracy");
    assert!(
        evaluation.loss < 0.04,
        "reconstruction error {}",
        evaluation.loss
    );
}

#[test]
fn each_network_round_trips_through_its_weights_file_in_every_precision() {
    let device = Device::flex();
    let images = common::mnist(Split::Test).limit(4);
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    images.fill_batch(
        &[0, 1, 2, 3],
        Normalization::UnitRange,
        &mut pixels,
        &mut labels,
    );
    let (input, _) = kindling::training::batch_tensors(&pixels, &labels, &device);
    for network in [rnn(Cell::Gru), autoencoder(2)] {
        let architecture = architecture(network);
        device.seed(5);
        let model = architecture.init(&device);
        let out = |m: &kindling::nets::Network| match m.logits(input.clone()) {
            Some(logits) => logits.into_data().try_to_vec::<f32>().unwrap(),
            None => m
                .reconstruct(input.clone())
                .into_data()
                .try_to_vec::<f32>()
                .unwrap(),
        };
        for precision in [Precision::F32, Precision::F16, Precision::Int8] {
            let header = WeightsHeader {
                precision,
                ..WeightsHeader::new(
                    architecture.clone(),
                    Normalization::UnitRange,
                    "mnist",
                    1,
                    None,
                )
            };
            let bytes = weights::to_bytes(&model, &header).unwrap();
            let (loaded, read) = weights::from_bytes(&bytes, &device).unwrap();
            assert_eq!(
                read.architecture(),
                architecture,
                "the header names the network"
            );
            let (expected, actual) = (out(&model), out(&loaded));
            let tolerance = if precision == Precision::F32 {
                0.0
            } else {
                0.05
            };
            for (e, a) in expected.iter().zip(&actual) {
                assert!((e - a).abs() <= tolerance, "{precision:?}: {e} vs {a}");
            }
        }
    }
}

#[test]
fn weights_of_one_kind_of_network_are_refused_where_another_is_needed() {
    let device = Device::flex();
    let file = |network: NetworkConfig| {
        let architecture = architecture(network);
        let header = WeightsHeader::new(
            architecture.clone(),
            Normalization::UnitRange,
            "mnist",
            1,
            None,
        );
        weights::to_bytes(&architecture.init(&device), &header).unwrap()
    };
    let (ae, cnn) = (file(autoencoder(32)), file(NetworkConfig::Cnn));
    // Where a CNN is needed (its views, a teacher, a CNN run from weights).
    let error = weights::cnn_from_bytes(&ae, &device)
        .map(|_| ())
        .unwrap_err();
    assert!(matches!(error, WeightsError::WrongNetwork { .. }));
    assert_eq!(
        error.to_string(),
        "the weights are for an autoencoder, but a CNN classifier is needed here"
    );
    // And the reverse: an autoencoder's run from a classifier's weights.
    let config = TrainingConfig::new().with_network(Some(autoencoder(32)));
    let refused = Trainer::open(
        config,
        common::toy_dataset(10),
        &device,
        Start::Weights(&cnn),
    )
    .map(|_| ())
    .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("the weights are for a CNN classifier, but an autoencoder is needed"),
        "{refused}"
    );
    // Another size of the same network is WrongModel, naming both.
    let small = file(autoencoder(2));
    let error = weights::from_bytes_for(&small, &architecture(autoencoder(32)), &device)
        .map(|_| ())
        .unwrap_err();
    assert!(
        error.to_string().contains("code 2") && error.to_string().contains("code 32"),
        "{error}"
    );
}

#[test]
fn what_a_network_has_no_use_for_is_refused_with_a_sentence() {
    let refused = |json: &str| {
        let settings: RunSettings = serde_json::from_str(json).unwrap();
        settings.validate(&settings.config()).unwrap_err()
    };
    let cases = [
        (
            r#"{"network": "rnn", "dropout": 0.3}"#,
            "do not apply to an RNN classifier",
        ),
        (
            r#"{"network": "cnn", "units": 64}"#,
            "is a setting of an RNN classifier",
        ),
        (
            r#"{"network": "rnn", "noise": 0.2}"#,
            "is a setting of an autoencoder",
        ),
        (
            r#"{"network": "autoencoder", "mixup": 0.2}"#,
            "mixup is offered for the classifiers only",
        ),
        (
            r#"{"network": "autoencoder", "stop_at": 99}"#,
            "early stopping",
        ),
        (
            r#"{"network": "rnn", "compute": "f16"}"#,
            "mixed precision (f16) is offered for the CNN only",
        ),
        (
            r#"{"network": "autoencoder", "bottleneck": 0}"#,
            "size of the code must be",
        ),
        (
            r#"{"network": "rnn", "units": 5000}"#,
            "units of the recurrent layer must be",
        ),
    ];
    for (json, needle) in cases {
        let message = refused(json);
        assert!(message.contains(needle), "{json}: {message}");
    }
    // What each network does take is accepted.
    for json in [
        r#"{"network": "rnn", "cell": "gru", "units": 64}"#,
        r#"{"network": "autoencoder", "bottleneck": 2, "noise": 0.3}"#,
    ] {
        let settings: RunSettings = serde_json::from_str(json).unwrap();
        settings.validate(&settings.config()).unwrap();
    }
}

#[test]
fn the_command_line_trains_each_network_and_refuses_what_makes_no_sense() {
    use common::cli::{kindling, scratch, short_run};
    let said = |out: &std::process::Output| {
        let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
        text.into_owned()
    };
    // One epoch of 256 images each: the run card names the network and its metric.
    let rnn = short_run(
        "rnn",
        256,
        &["--network", "rnn", "--cell", "gru", "--units", "32"],
    );
    assert!(rnn.status.success(), "{}", said(&rnn));
    assert!(
        said(&rnn).contains("model      RNN GRU 32"),
        "{}",
        said(&rnn)
    );
    assert!(said(&rnn).contains("test accuracy"));
    let ae = short_run(
        "ae",
        256,
        &["--network", "autoencoder", "--bottleneck", "2"],
    );
    assert!(ae.status.success(), "{}", said(&ae));
    assert!(said(&ae).contains("reconstruction error"), "{}", said(&ae));
    let runs = std::fs::read_to_string(scratch("ae.jsonl")).unwrap();
    assert!(
        runs.contains(r#""network":{"kind":"autoencoder","bottleneck":2"#),
        "{runs}"
    );

    let (rnn_file, ae_file) = (scratch("rnn.kndl"), scratch("ae.kndl"));
    let (rnn_file, ae_file) = (rnn_file.to_str().unwrap(), ae_file.to_str().unwrap());
    // eval gives each its metric; predict and explain refuse the autoencoder, explain the RNN.
    let eval = kindling(&["eval", "--model", ae_file]);
    assert!(
        eval.status.success() && said(&eval).contains("autoencoder code 2: reconstruction error"),
        "{}",
        said(&eval)
    );
    let eval = kindling(&["eval", "--model", rnn_file]);
    assert!(
        eval.status.success() && said(&eval).contains("RNN GRU 32: test accuracy"),
        "{}",
        said(&eval)
    );
    let picture = scratch("digit.png");
    common::cli::write_scan(common::mnist(Split::Test).image(0), &picture);
    let picture = picture.to_str().unwrap();
    let predict = kindling(&["predict", "--model", ae_file, picture]);
    assert!(!predict.status.success());
    assert!(
        said(&predict).contains("an autoencoder does not classify digits"),
        "{}",
        said(&predict)
    );
    let predict = kindling(&["predict", "--model", rnn_file, picture]);
    assert!(predict.status.success(), "{}", said(&predict));
    let explain = kindling(&[
        "explain",
        "--model",
        rnn_file,
        "--out",
        scratch("x").to_str().unwrap(),
        picture,
    ]);
    assert!(
        said(&explain)
            .contains("the weights are for an RNN classifier, but a CNN classifier is needed here"),
        "{}",
        said(&explain)
    );
    // A run of one network from another's weights, and a setting of another network.
    let from = short_run("from", 64, &["--from", ae_file]);
    assert!(
        said(&from)
            .contains("the weights are for an autoencoder, but a CNN classifier is needed here"),
        "{}",
        said(&from)
    );
    let units = kindling(&["train", "--units", "64", "--check"]);
    assert!(!units.status.success());
    assert!(
        said(&units).contains("the units of the recurrent layer is a setting of an RNN classifier"),
        "{}",
        said(&units)
    );
    let compare = kindling(&["compare", ae_file]);
    assert!(
        said(&compare).contains("compare ranks classifiers"),
        "{}",
        said(&compare)
    );
    // info counts any network.
    let info = kindling(&["info", "--network", "rnn"]);
    assert!(said(&info).contains("82186"), "{}", said(&info));
}
