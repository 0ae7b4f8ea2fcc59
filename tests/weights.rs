//! Weights files: a round trip keeps every prediction, and any damaged or foreign file is refused
//! without touching the model in use.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use burn::tensor::{Device, Distribution, Tensor};
use kindling::data::Normalization;
use kindling::model::{Model, ModelConfig};
use kindling::weights::{self, Precision, WeightsError, WeightsHeader};

fn header(model: &ModelConfig) -> WeightsHeader {
    WeightsHeader::new(model.clone(), Normalization::UnitRange, "toy", 0, None)
}

fn outputs(model: &Model, images: &Tensor<4>) -> Vec<f32> {
    model
        .forward(images.clone())
        .into_data()
        .try_to_vec()
        .unwrap()
}

fn fixture() -> (Device, Model, Vec<u8>, Tensor<4>) {
    let device = Device::flex();
    device.seed(3);
    let model = ModelConfig::new().init(&device);
    let bytes = weights::to_bytes(&model, &header(&ModelConfig::new())).unwrap();
    let images = Tensor::<4>::random([4, 1, 28, 28], Distribution::Default, &device);
    (device, model, bytes, images)
}

#[test]
fn save_then_load_gives_identical_predictions() {
    let (device, model, bytes, images) = fixture();
    let (loaded, header) = weights::from_bytes(&bytes, &device).unwrap();
    assert_eq!(header.model, ModelConfig::new());
    assert_eq!(
        header.record_len + 12 + (bytes.len() - 12 - header.record_len),
        bytes.len()
    );
    assert_eq!(outputs(&model, &images), outputs(&loaded, &images));
}

#[test]
fn save_and_load_through_a_file() {
    let (device, model, _, images) = fixture();
    let path = std::env::temp_dir().join(format!("kindling-weights-{}.kndl", std::process::id()));
    weights::save(&path, &model, &header(&ModelConfig::new())).unwrap();
    let (loaded, _) = weights::load(&path, &device).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(outputs(&model, &images), outputs(&loaded, &images));
}

#[test]
fn half_precision_halves_the_file_and_loads_as_f32_close_to_the_original() {
    let (device, model, full, images) = fixture();
    let half_header = WeightsHeader {
        precision: Precision::F16,
        ..header(&ModelConfig::new())
    };
    let half = weights::to_bytes(&model, &half_header).unwrap();
    assert!(
        half.len() * 100 < full.len() * 52,
        "{} bytes in f16 against {} in f32",
        half.len(),
        full.len()
    );
    let (loaded, read) = weights::from_bytes(&half, &device).unwrap();
    assert_eq!(read.precision, Precision::F16);
    let (expected, actual) = (outputs(&model, &images), outputs(&loaded, &images));
    assert_ne!(expected, actual, "f16 rounding must change something");
    for (e, a) in expected.iter().zip(&actual) {
        assert!((e - a).abs() < 1e-2 * (1.0 + e.abs()), "{e} vs {a}");
    }
    // Saved again in f32, the loaded weights are f32 again: the record is the full size (the
    // header's checksum may print with a digit more or less).
    let again = weights::to_bytes(&loaded, &header(&ModelConfig::new())).unwrap();
    let record_len = |bytes: &[u8]| weights::read_header(bytes).unwrap().0.record_len;
    assert_eq!(record_len(&again), record_len(&full));
}

/// Every refusal leaves the model in use exactly as it was.
fn assert_refused(bytes: &[u8], expected: fn(&WeightsError) -> bool) {
    let (device, model, _, images) = fixture();
    let before = outputs(&model, &images);
    let error = match weights::from_bytes(bytes, &device) {
        Ok(_) => panic!("a bad weights file was accepted"),
        Err(error) => error,
    };
    assert!(expected(&error), "unexpected error: {error:?}");
    assert!(!error.to_string().is_empty());
    assert_eq!(
        before,
        outputs(&model, &images),
        "the current model changed"
    );
}

#[test]
fn truncated_file_is_refused() {
    let (_, _, bytes, _) = fixture();
    assert_refused(&bytes[..bytes.len() - 100], |e| {
        matches!(e, WeightsError::Truncated { .. })
    });
    assert_refused(&bytes[..30], |e| {
        matches!(e, WeightsError::Truncated { .. })
    });
    assert_refused(&bytes[..6], |e| matches!(e, WeightsError::Truncated { .. }));
}

#[test]
fn random_bytes_and_empty_files_are_refused() {
    let noise: Vec<u8> = (0..5000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    assert_refused(&noise, |e| matches!(e, WeightsError::NotWeights));
    assert_refused(&[], |e| matches!(e, WeightsError::NotWeights));
    assert_refused(b"\x89PNG\r\n\x1a\n...", |e| {
        matches!(e, WeightsError::NotWeights)
    });
}

#[test]
fn a_flipped_byte_in_the_weights_is_caught() {
    let (_, _, mut bytes, _) = fixture();
    let last = bytes.len() - 10;
    bytes[last] ^= 0x40;
    assert_refused(&bytes, |e| matches!(e, WeightsError::Corrupt));
}

#[test]
fn damaged_header_and_unknown_version_are_refused() {
    let (_, _, bytes, _) = fixture();
    let mut header = bytes.clone();
    header[14] = b'#';
    assert_refused(&header, |e| matches!(e, WeightsError::BadHeader(_)));
    let mut version = bytes.clone();
    version[4] = 99;
    assert_refused(&version, |e| {
        matches!(e, WeightsError::UnsupportedVersion(99))
    });
    let mut length = bytes;
    length[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_refused(&length, |e| matches!(e, WeightsError::BadHeader(_)));
}

#[test]
fn weights_of_another_model_are_refused() {
    let device = Device::flex();
    let small = ModelConfig::new().with_hidden(32);
    let other = weights::to_bytes(&small.init(&device), &header(&small)).unwrap();
    match weights::from_bytes_for(&other, &ModelConfig::new(), &device) {
        Err(WeightsError::WrongModel { found, .. }) => assert_eq!(found, small),
        other => panic!("expected WrongModel, got {:?}", other.map(|(_, h)| h)),
    }
    // A header that lies about the model: burn's own shape check refuses the record.
    let lying = weights::to_bytes(&small.init(&device), &header(&ModelConfig::new())).unwrap();
    assert_refused(&lying, |e| matches!(e, WeightsError::Record(_)));
}
