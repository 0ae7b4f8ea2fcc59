//! IDX parsing, validation, normalisation and batching order, on small files built in memory.
#![cfg(not(target_arch = "wasm32"))]

use kindling::data::*;
use std::path::PathBuf;

const IMAGES: &str = "t10k-images-idx3-ubyte";
const LABELS: &str = "t10k-labels-idx1-ubyte";

/// An IDX file: magic (0, 0, 0x08, dims), big-endian sizes, payload.
fn idx(sizes: &[u32], payload: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0, 0, 0x08, sizes.len() as u8];
    for size in sizes {
        bytes.extend_from_slice(&size.to_be_bytes());
    }
    bytes.extend_from_slice(payload);
    bytes
}

/// `count` images of `side`x`side`, image i filled with the byte i.
fn images_file(count: u32, side: u32) -> Vec<u8> {
    let pixels: Vec<u8> = (0..count)
        .flat_map(|i| std::iter::repeat_n(i as u8, (side * side) as usize))
        .collect();
    idx(&[count, side, side], &pixels)
}

fn labels_file(labels: &[u8]) -> Vec<u8> {
    idx(&[labels.len() as u32], labels)
}

/// Checks the Display message starts with the file it is about.
fn assert_names(err: &DataError, file: &str) {
    let message = err.to_string();
    assert!(
        message.starts_with(file),
        "{message:?} should start with {file:?}"
    );
}

fn three() -> Dataset {
    Dataset::from_idx(
        IMAGES,
        &images_file(3, 28),
        LABELS,
        &labels_file(&[7, 0, 9]),
    )
    .expect("valid")
}

/// A fresh directory under the system temp dir, unique to this process and test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kindling-data-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn split_file_names() {
    assert_eq!(
        Split::Train.file_names(),
        ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
    );
    assert_eq!(Split::Test.file_names(), (IMAGES, LABELS));
}

#[test]
fn valid_round_trip() {
    let set = three();
    assert_eq!(set.len(), 3);
    assert!(!set.is_empty());
    assert_eq!(set.labels(), &[7, 0, 9]);
    assert_eq!(set.label(2), 9);
    for i in 0..3 {
        assert_eq!(set.image(i).len(), IMAGE_PIXELS);
        assert!(set.image(i).iter().all(|&p| p == i as u8));
    }
    let mut counts = [0; NUM_CLASSES];
    counts[7] = 1;
    counts[0] = 1;
    counts[9] = 1;
    assert_eq!(set.class_counts(), counts);
}

#[test]
fn parse_images_returns_shape_and_pixels() {
    let bytes = images_file(2, 3);
    let (count, rows, cols, pixels) = parse_images("x", &bytes).expect("valid");
    assert_eq!((count, rows, cols), (2, 3, 3));
    assert_eq!(
        pixels,
        &[0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1]
    );
    assert_eq!(
        parse_labels("y", &labels_file(&[3, 4])).expect("valid"),
        &[3, 4]
    );
}

#[test]
fn io_error_for_missing_file_hints_build_sh() {
    let dir = temp_dir("missing");
    let err = Dataset::load(&dir, Split::Test).unwrap_err();
    let path = dir.join(IMAGES).display().to_string();
    match &err {
        DataError::Io { file, message } => {
            assert_eq!(file, &path);
            assert!(message.contains("./build.sh"), "{message}");
        }
        other => panic!("expected Io, got {other:?}"),
    }
    assert_names(&err, &path);
    assert!(err.to_string().contains("./build.sh"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn load_reads_both_files() {
    let dir = temp_dir("load");
    std::fs::write(dir.join("train-images-idx3-ubyte"), images_file(2, 28)).expect("write");
    std::fs::write(dir.join("train-labels-idx1-ubyte"), labels_file(&[1, 2])).expect("write");
    let set = Dataset::load(&dir, Split::Train).expect("valid");
    assert_eq!(set.labels(), &[1, 2]);
    assert!(set.image(1).iter().all(|&p| p == 1));

    // Errors from loaded files name the path.
    std::fs::write(dir.join("train-labels-idx1-ubyte"), labels_file(&[1, 2, 3])).expect("write");
    let err = Dataset::load(&dir, Split::Train).unwrap_err();
    assert!(matches!(err, DataError::CountMismatch { .. }), "{err:?}");
    assert_names(
        &err,
        &dir.join("train-images-idx3-ubyte").display().to_string(),
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn too_short() {
    let err = parse_images(IMAGES, &[0, 0, 8, 3, 0, 0]).unwrap_err();
    assert_eq!(
        err,
        DataError::TooShort {
            file: IMAGES.into(),
            len: 6
        }
    );
    assert_names(&err, IMAGES);
    let err = parse_labels(LABELS, &[]).unwrap_err();
    assert_eq!(
        err,
        DataError::TooShort {
            file: LABELS.into(),
            len: 0
        }
    );
    assert_names(&err, LABELS);
}

#[test]
fn bad_magic() {
    let mut bytes = images_file(1, 28);
    bytes[0] = 0x1f;
    let err = parse_images(IMAGES, &bytes).unwrap_err();
    assert_eq!(
        err,
        DataError::BadMagic {
            file: IMAGES.into(),
            found: 0x1f00_0803,
            expected: 0x0803
        }
    );
    assert_names(&err, IMAGES);
}

#[test]
fn bad_item_type() {
    let mut bytes = labels_file(&[1]);
    bytes[2] = 0x0d; // float
    let err = parse_labels(LABELS, &bytes).unwrap_err();
    assert_eq!(
        err,
        DataError::BadItemType {
            file: LABELS.into(),
            found: 0x0d
        }
    );
    assert_names(&err, LABELS);
}

#[test]
fn bad_dimensions() {
    // A labels file given where images are expected.
    let err = parse_images(IMAGES, &labels_file(&[1; 20])).unwrap_err();
    assert_eq!(
        err,
        DataError::BadDimensions {
            file: IMAGES.into(),
            found: 1,
            expected: 3
        }
    );
    assert_names(&err, IMAGES);
    let err = parse_labels(LABELS, &images_file(1, 28)).unwrap_err();
    assert_eq!(
        err,
        DataError::BadDimensions {
            file: LABELS.into(),
            found: 3,
            expected: 1
        }
    );
}

#[test]
fn zero_size() {
    let err = parse_images(IMAGES, &idx(&[5, 0, 28], &[])).unwrap_err();
    assert_eq!(
        err,
        DataError::ZeroSize {
            file: IMAGES.into()
        }
    );
    assert_names(&err, IMAGES);
}

#[test]
fn truncated_file() {
    let bytes = images_file(3, 28);
    let err = parse_images(IMAGES, &bytes[..bytes.len() - 1]).unwrap_err();
    assert_eq!(
        err,
        DataError::LengthMismatch {
            file: IMAGES.into(),
            declared: 16 + 3 * 784,
            actual: 16 + 3 * 784 - 1
        }
    );
    assert_names(&err, IMAGES);
}

#[test]
fn trailing_bytes() {
    let mut bytes = labels_file(&[1, 2]);
    bytes.push(3);
    let err = parse_labels(LABELS, &bytes).unwrap_err();
    assert_eq!(
        err,
        DataError::LengthMismatch {
            file: LABELS.into(),
            declared: 10,
            actual: 11
        }
    );
    assert_names(&err, LABELS);
}

#[test]
fn huge_declared_size_is_a_mismatch_not_a_panic() {
    let err = parse_images(IMAGES, &idx(&[u32::MAX, u32::MAX, u32::MAX], &[1, 2])).unwrap_err();
    assert!(
        matches!(err, DataError::LengthMismatch { actual: 18, .. }),
        "{err:?}"
    );
}

#[test]
fn count_mismatch() {
    let err =
        Dataset::from_idx(IMAGES, &images_file(3, 28), LABELS, &labels_file(&[1, 2])).unwrap_err();
    assert_eq!(
        err,
        DataError::CountMismatch {
            images: IMAGES.into(),
            labels: LABELS.into(),
            image_count: 3,
            label_count: 2
        }
    );
    assert_names(&err, IMAGES);
    assert!(err.to_string().contains(LABELS));
}

#[test]
fn label_ten() {
    let err = parse_labels(LABELS, &labels_file(&[0, 9, 10, 3])).unwrap_err();
    assert_eq!(
        err,
        DataError::BadLabel {
            file: LABELS.into(),
            index: 2,
            label: 10
        }
    );
    assert_eq!(
        err.to_string(),
        "t10k-labels-idx1-ubyte: label 10 at index 2 is not a digit 0-9"
    );
}

#[test]
fn wrong_image_size() {
    let err =
        Dataset::from_idx(IMAGES, &images_file(2, 20), LABELS, &labels_file(&[1, 2])).unwrap_err();
    assert_eq!(
        err,
        DataError::WrongImageSize {
            file: IMAGES.into(),
            rows: 20,
            cols: 20
        }
    );
    assert_names(&err, IMAGES);
    assert!(err.to_string().contains("20x20"));
}

#[test]
fn empty() {
    let err = parse_images(IMAGES, &images_file(0, 28)).unwrap_err();
    assert_eq!(
        err,
        DataError::Empty {
            file: IMAGES.into()
        }
    );
    assert_names(&err, IMAGES);
    let err = parse_labels(LABELS, &labels_file(&[])).unwrap_err();
    assert_eq!(
        err,
        DataError::Empty {
            file: LABELS.into()
        }
    );
}

#[test]
fn from_parts_validates() {
    let set = Dataset::from_parts(vec![5; 2 * IMAGE_PIXELS], vec![4, 8]).expect("valid");
    assert_eq!(set.labels(), &[4, 8]);
    let err = Dataset::from_parts(vec![5; IMAGE_PIXELS + 1], vec![4]).unwrap_err();
    assert_eq!(
        err,
        DataError::LengthMismatch {
            file: "memory".into(),
            declared: IMAGE_PIXELS,
            actual: IMAGE_PIXELS + 1
        }
    );
    assert_names(&err, "memory");
    let err = Dataset::from_parts(vec![], vec![]).unwrap_err();
    assert_eq!(
        err,
        DataError::Empty {
            file: "memory".into()
        }
    );
    let err = Dataset::from_parts(vec![0; IMAGE_PIXELS], vec![11]).unwrap_err();
    assert_eq!(
        err,
        DataError::BadLabel {
            file: "memory".into(),
            index: 0,
            label: 11
        }
    );
}

#[test]
fn every_error_is_a_std_error() {
    let err: Box<dyn std::error::Error> = Box::new(DataError::Empty { file: "f".into() });
    assert_eq!(err.to_string(), "f: holds no items");
}

#[test]
fn normalisation_values() {
    assert_eq!(Normalization::default(), Normalization::UnitRange);
    assert_eq!(Normalization::UnitRange.apply(0), 0.0);
    assert_eq!(Normalization::UnitRange.apply(255), 1.0);
    assert!((Normalization::UnitRange.apply(51) - 0.2).abs() < 1e-6);
    let zero = Normalization::MNIST.apply(0);
    assert!((zero - (-0.4242)).abs() < 1e-4, "{zero}");
    let max = Normalization::MNIST.apply(255);
    assert!((max - 2.8215).abs() < 1e-4, "{max}");
    let table = Normalization::MNIST.table();
    assert!((0..=255u8).all(|p| table[usize::from(p)] == Normalization::MNIST.apply(p)));
}

#[test]
fn normalisation_serde_round_trip() {
    let json = serde_json::to_string(&Normalization::MNIST).expect("serialize");
    let back: Normalization = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, Normalization::MNIST);
}

#[test]
fn epoch_order_is_a_deterministic_permutation() {
    let order = epoch_order(1000, 42, 0);
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..1000).collect::<Vec<_>>());
    assert_ne!(order, sorted, "shuffled");
    assert_eq!(order, epoch_order(1000, 42, 0));
    assert_ne!(order, epoch_order(1000, 42, 1));
    assert_ne!(order, epoch_order(1000, 43, 0));
    assert!(epoch_order(0, 1, 0).is_empty());
    assert_eq!(epoch_order(1, 1, 0), vec![0]);
}

#[test]
fn batches_keep_the_last_partial_batch() {
    let order: Vec<usize> = (0..10).collect();
    let chunks: Vec<&[usize]> = batches(&order, 4).collect();
    assert_eq!(
        chunks,
        vec![&[0, 1, 2, 3][..], &[4, 5, 6, 7][..], &[8, 9][..]]
    );
    assert_eq!(num_batches(10, 4), 3);
    assert_eq!(num_batches(8, 4), 2);
    assert_eq!(num_batches(0, 4), 0);
    assert_eq!(batches(&order, 0).count(), num_batches(10, 0));
}

#[test]
fn fill_batch_layout_and_labels() {
    let set = three();
    let (mut pixels, mut labels) = (vec![9.0; 3], vec![99]);
    set.fill_batch(&[2, 0], Normalization::UnitRange, &mut pixels, &mut labels);
    assert_eq!(labels, vec![9, 7]);
    assert_eq!(pixels.len(), 2 * IMAGE_PIXELS);
    assert!(pixels[..IMAGE_PIXELS]
        .iter()
        .all(|&x| x == Normalization::UnitRange.apply(2)));
    assert!(pixels[IMAGE_PIXELS..].iter().all(|&x| x == 0.0));

    set.fill_batch(&[1], Normalization::MNIST, &mut pixels, &mut labels);
    assert_eq!(labels, vec![0]);
    assert_eq!(pixels.len(), IMAGE_PIXELS);
    assert!(pixels.iter().all(|&x| x == Normalization::MNIST.apply(1)));
}

#[test]
fn limit_and_split_at() {
    assert_eq!(three().limit(2).labels(), &[7, 0]);
    assert_eq!(three().limit(10).len(), 3);
    assert!(three().limit(0).is_empty());

    let (head, rest) = three().split_at(1);
    assert_eq!(head.labels(), &[7]);
    assert_eq!(rest.labels(), &[0, 9]);
    assert!(rest.image(0).iter().all(|&p| p == 1));
    let (all, none) = three().split_at(5);
    assert_eq!((all.len(), none.len()), (3, 0));
}
