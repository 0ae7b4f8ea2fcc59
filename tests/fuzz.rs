//! Random and mutated bytes thrown at everything that reads a file a user gives: the IDX reader,
//! the weights reader and the picture preparation. Every case must end in a result or an error,
//! never a panic, and allocate no more at once than a bound for its kind of input (a counting
//! allocator sees every request). The cases are deterministic: a failure names its case, and
//! `KINDLING_FUZZ_CASES=N` runs N cases of each kind instead of the few CI runs.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Cursor;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;

use burn::tensor::Device;
use kindling::data::random::SplitMix64;
use kindling::data::{self, Dataset, IMAGE_PIXELS};
use kindling::model::ModelConfig;
use kindling::model::{inference, preprocess};
use kindling::store::weights::{self, Precision, WeightsError, WeightsHeader};

/// The system allocator, noting the largest single request since the last reset.
struct Counting;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One test at a time, so the allocations counted are the case's own.
static SERIAL: Mutex<()> = Mutex::new(());

const MIB: usize = 1 << 20;

/// Runs `cases` cases of `target` (each from its own generator) and fails naming every case
/// that panicked or allocated more than `bound` bytes at once. A case returns whether its input
/// was accepted, to show the cases reach past the first checks.
fn fuzz(target: &str, cases: usize, bound: usize, case: impl Fn(&mut SplitMix64) -> bool) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cases = std::env::var("KINDLING_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    let stream = target
        .bytes()
        .fold(0u64, |h, b| h.rotate_left(8) ^ u64::from(b));
    let (mut failures, mut accepted, mut largest_seen) = (Vec::new(), 0, 0);
    let started = std::time::Instant::now();
    for i in 0..cases {
        LARGEST.store(0, Relaxed);
        let mut rng = SplitMix64::for_parts(stream, i as u64, 0);
        match panic::catch_unwind(AssertUnwindSafe(|| case(&mut rng))) {
            Ok(ok) => accepted += usize::from(ok),
            Err(_) => failures.push(format!("case {i} panicked")),
        }
        let largest = LARGEST.load(Relaxed);
        largest_seen = largest_seen.max(largest);
        if largest > bound {
            failures.push(format!(
                "case {i} allocated {largest} bytes at once (bound {bound})"
            ));
        }
    }
    eprintln!(
        "{target}: {cases} cases in {:.1} s, {accepted} accepted, largest allocation {} KiB",
        started.elapsed().as_secs_f64(),
        largest_seen >> 10
    );
    assert!(failures.is_empty(), "{target}:\n{}", failures.join("\n"));
}

/// Values that break naive length arithmetic.
fn extreme(rng: &mut SplitMix64) -> u32 {
    const VALUES: [u32; 14] = [
        0,
        1,
        2,
        27,
        28,
        255,
        4096,
        4097,
        16_384,
        65_535,
        0x7fff_ffff,
        0x8000_0000,
        u32::MAX - 1,
        u32::MAX,
    ];
    match rng.below(VALUES.len() as u64 + 1) as usize {
        i if i < VALUES.len() => VALUES[i],
        _ => rng.next_u64() as u32,
    }
}

fn random_bytes(rng: &mut SplitMix64, max_len: u64) -> Vec<u8> {
    let len = rng.below(max_len + 1) as usize;
    (0..len).map(|_| rng.next_u64() as u8).collect()
}

/// One mutation: bit flips, truncation, extension, an overwritten span, a 32-bit word set to an
/// extreme value, or a splice with `donor`.
fn mutate(rng: &mut SplitMix64, bytes: &mut Vec<u8>, donor: &[u8]) {
    let at = |rng: &mut SplitMix64, len: usize| rng.below(len as u64 + 1) as usize;
    match rng.below(6) {
        0 if !bytes.is_empty() => {
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(bytes.len() as u64) as usize;
                bytes[i] ^= 1 << rng.below(8);
            }
        }
        1 => bytes.truncate(at(rng, bytes.len())),
        2 => bytes.extend(random_bytes(rng, 300)),
        3 => {
            let start = at(rng, bytes.len());
            let end = (start + at(rng, 16)).min(bytes.len());
            bytes[start..end]
                .iter_mut()
                .for_each(|b| *b = rng.next_u64() as u8);
        }
        4 if bytes.len() >= 4 => {
            let start = rng.below(bytes.len() as u64 - 3) as usize;
            let value = extreme(rng);
            let word = match rng.below(2) {
                0 => value.to_le_bytes(),
                _ => value.to_be_bytes(),
            };
            bytes[start..start + 4].copy_from_slice(&word);
        }
        _ => {
            let (cut, from) = (at(rng, bytes.len()), at(rng, donor.len()));
            bytes.truncate(cut);
            bytes.extend_from_slice(&donor[from..]);
        }
    }
}

fn mutated(rng: &mut SplitMix64, bytes: &[u8], donor: &[u8]) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    for _ in 0..1 + rng.below(3) {
        mutate(rng, &mut bytes, donor);
    }
    bytes
}

/// A valid IDX pair of `count` digits: `(images, labels)`.
fn idx_pair(count: usize) -> (Vec<u8>, Vec<u8>) {
    let mut images = vec![0, 0, 8, 3];
    for size in [count, 28, 28] {
        images.extend((size as u32).to_be_bytes());
    }
    images.extend((0..count * IMAGE_PIXELS).map(|i| (i * 37 % 251) as u8));
    let mut labels = vec![0, 0, 8, 1];
    labels.extend((count as u32).to_be_bytes());
    labels.extend((0..count).map(|i| (i % 10) as u8));
    (images, labels)
}

#[test]
fn the_idx_reader_survives_random_and_mutated_files() {
    let (images, labels) = idx_pair(32);
    fuzz("idx", 3000, MIB, |rng| {
        let (mut images, mut labels) = (images.clone(), labels.clone());
        match rng.below(5) {
            0 => {
                // A plausible magic number, then anything.
                images = [&[0, 0, 8, 3][..], &random_bytes(rng, 64)].concat();
                labels = [&[0, 0, 8, 1][..], &random_bytes(rng, 64)].concat();
            }
            1 => images = mutated(rng, &images, &labels),
            2 => labels = mutated(rng, &labels, &images),
            3 => {
                // One header field (count, rows, cols) set to an extreme value.
                let field = 4 + 4 * rng.below(3) as usize;
                images[field..field + 4].copy_from_slice(&extreme(rng).to_be_bytes());
                labels[4..8].copy_from_slice(&extreme(rng).to_be_bytes());
            }
            _ => {
                let pixels = random_bytes(rng, 3 * IMAGE_PIXELS as u64);
                let digits = random_bytes(rng, 4).iter().map(|b| b % 11).collect();
                return Dataset::from_parts(pixels, digits).is_ok();
            }
        }
        let _ = data::parse_images("images", &images);
        let _ = data::parse_labels("labels", &labels);
        Dataset::from_idx("images", &images, "labels", &labels).is_ok()
    });
}

const SHIPPED: &[u8] = include_bytes!("../weights/mnist-cnn.kndl");
const SHIPPED_INT8: &[u8] = include_bytes!("../weights/mnist-cnn-int8.kndl");

/// A layer size from the extremes a header could hold.
fn layer_size(rng: &mut SplitMix64) -> usize {
    match rng.below(4) {
        0 => [0, 1, 32, 64, 1024, 1025, 4096, 4097, usize::MAX][rng.below(9) as usize],
        1 => rng.below(4097) as usize,
        _ => rng.below(129) as usize,
    }
}

/// A header read from one of the files, with its fields changed.
fn edited_header(rng: &mut SplitMix64, header: &WeightsHeader) -> WeightsHeader {
    let mut header = header.clone();
    let model = &mut header.model;
    // Each layer may change: a large model needs two large layers in a row.
    for layer in [
        &mut model.conv1_channels,
        &mut model.conv2_channels,
        &mut model.hidden,
    ] {
        if rng.below(2) == 0 {
            *layer = layer_size(rng);
        }
    }
    if rng.below(4) == 0 {
        model.batch_norm = !model.batch_norm;
    }
    if rng.below(3) == 0 {
        header.precision = [Precision::F32, Precision::F16, Precision::Int8][rng.below(3) as usize];
    }
    header
}

#[test]
fn the_weights_reader_survives_random_and_mutated_files() {
    let device = Device::flex();
    let f32_file = {
        let (model, header) = weights::from_bytes(SHIPPED, &device).unwrap();
        let header = WeightsHeader {
            precision: Precision::F32,
            ..header
        };
        weights::to_bytes(&model, &header).unwrap()
    };
    let files = [SHIPPED, SHIPPED_INT8, &f32_file[..]];
    let parsed: Vec<_> = files
        .iter()
        .map(|f| weights::read_header(f).unwrap())
        .collect();
    fuzz("weights", 1200, 8 * MIB, |rng| {
        let which = rng.below(3) as usize;
        let (base, donor) = (files[which], files[(which + 1) % 3]);
        let (header, record) = &parsed[which];
        let bytes = match rng.below(6) {
            0 => [&b"KNDL\x01\x00\x00\x00"[..], &random_bytes(rng, 400)].concat(),
            // Mostly caught by the checksum.
            1 => mutated(rng, base, donor),
            // A damaged record under a right checksum: the record decoders must refuse it.
            2 => common::weights_file(header, &mutated(rng, record, parsed[(which + 1) % 3].1)),
            // A header describing another model, or a record in another precision.
            3 => common::weights_file(&edited_header(rng, header), record),
            // A record length no file has.
            4 => {
                let record_len = match rng.below(3) {
                    0 => usize::MAX - rng.below(1000) as usize,
                    1 => extreme(rng) as usize,
                    _ => record.len() + rng.below(3) as usize - 1,
                };
                let header = WeightsHeader {
                    record_len,
                    ..header.clone()
                };
                common::weights_frame(&header, record)
            }
            // The header's JSON itself damaged, framed with its new length.
            _ => {
                let json = serde_json::to_vec(header).unwrap();
                let json = mutated(rng, &json, b"18446744073709551616 -1 1e999 null {}");
                let mut bytes = b"KNDL\x01\x00\x00\x00".to_vec();
                bytes.extend((json.len() as u32).to_le_bytes());
                bytes.extend(json);
                bytes.extend_from_slice(record);
                bytes
            }
        };
        let _ = weights::read_header(&bytes);
        let _ = weights::from_bytes_for(&bytes, &ModelConfig::new().into(), &device);
        weights::from_bytes(&bytes, &device).is_ok()
    });
}

#[test]
fn a_header_bigger_than_its_record_is_refused_without_a_large_allocation() {
    let device = Device::flex();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Issue 15's file, and one whose layers are within the limits; both over 258 bytes.
    for size in [4096, 1024] {
        let model = ModelConfig::new()
            .with_conv1_channels(size)
            .with_conv2_channels(size)
            .with_hidden(size);
        let header = WeightsHeader::new(model, data::Normalization::UnitRange, "mnist", 1, None);
        let bytes = common::weights_file(&header, &[7u8; 258]);
        LARGEST.store(0, Relaxed);
        let result = weights::from_bytes(&bytes, &device).map(|(_, h)| h);
        let largest = LARGEST.load(Relaxed);
        assert!(
            matches!(
                result,
                Err(WeightsError::RecordTooSmall { .. } | WeightsError::BadHeader(_))
            ),
            "{result:?}"
        );
        assert!(largest < 64 * 1024, "{largest} bytes allocated at once");
    }
}

/// A digit-like ring on a light background, `side` pixels square.
fn ring(side: u32) -> image::RgbaImage {
    image::RgbaImage::from_fn(side, side, |x, y| {
        let (dx, dy) = (x as f32 - side as f32 / 2.0, y as f32 - side as f32 / 2.0);
        let r = (dx * dx + dy * dy).sqrt() / side as f32;
        let ink = (0.2..0.35).contains(&r);
        image::Rgba(if ink {
            [20, 20, 40, 255]
        } else {
            [250, 245, 240, 255]
        })
    })
}

fn encoded(picture: image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    picture
        .write_to(&mut Cursor::new(&mut bytes), format)
        .unwrap();
    bytes
}

/// CRC-32 (IEEE), which every PNG chunk ends with.
fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |crc, &b| {
        (0..8).fold(crc ^ u32::from(b), |c, _| {
            (c >> 1) ^ (0xedb8_8320 & (c & 1).wrapping_neg())
        })
    })
}

/// `png` with its IHDR chunk's width, height, bit depth or colour type changed, its CRC right.
fn png_with_header(rng: &mut SplitMix64, png: &[u8]) -> Vec<u8> {
    let mut png = png.to_vec();
    match rng.below(4) {
        0 => png[16..20].copy_from_slice(&extreme(rng).to_be_bytes()),
        1 => png[20..24].copy_from_slice(&extreme(rng).to_be_bytes()),
        2 => {
            // A square picture: large in both directions.
            let side = extreme(rng).to_be_bytes();
            png[16..20].copy_from_slice(&side);
            png[20..24].copy_from_slice(&side);
        }
        _ => png[24 + rng.below(2) as usize] = rng.below(20) as u8,
    }
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

/// `jpeg` with its frame header's height or width changed.
fn jpeg_with_size(rng: &mut SplitMix64, jpeg: &[u8]) -> Vec<u8> {
    let mut jpeg = jpeg.to_vec();
    if let Some(sof) = jpeg.windows(2).position(|w| w == [0xff, 0xc0]) {
        let size = (extreme(rng) as u16).to_be_bytes();
        match rng.below(3) {
            0 => jpeg[sof + 5..sof + 7].copy_from_slice(&size),
            1 => jpeg[sof + 7..sof + 9].copy_from_slice(&size),
            _ => {
                for at in [5, 7] {
                    jpeg[sof + at..sof + at + 2].copy_from_slice(&size);
                }
            }
        }
    }
    jpeg
}

#[test]
fn a_picture_declaring_more_pixels_than_allowed_is_refused_before_decoding() {
    let mut png = encoded(
        image::DynamicImage::ImageRgba8(ring(40)),
        image::ImageFormat::Png,
    );
    for at in [16, 20] {
        png[at..at + 4].copy_from_slice(&65_535u32.to_be_bytes());
    }
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    LARGEST.store(0, Relaxed);
    let error = inference::prepare_picture(&png).unwrap_err();
    let largest = LARGEST.load(Relaxed);
    assert_eq!(
        error,
        "the picture is 65535×65535 pixels, more than the 16 megapixels it may have: scale it down"
    );
    assert!(largest < MIB, "{largest} bytes allocated at once");
}

#[test]
fn the_picture_preparation_survives_random_and_mutated_files() {
    use image::{DynamicImage, ImageFormat};
    let png_gray = encoded(
        DynamicImage::ImageRgba8(ring(40)).grayscale(),
        ImageFormat::Png,
    );
    let png_rgba = encoded(DynamicImage::ImageRgba8(ring(33)), ImageFormat::Png);
    let jpeg = encoded(
        DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(ring(48)).to_rgb8()),
        ImageFormat::Jpeg,
    );
    let pictures = [&png_gray, &png_rgba, &jpeg];
    assert!(pictures
        .iter()
        .all(|p| inference::prepare_picture(p).is_ok()));
    // The largest picture allowed, as RGBA: what decoding it may take at once.
    let bound = 4 * inference::MAX_PICTURE_PIXELS as usize;
    fuzz("pictures", 1500, bound, |rng| {
        let which = rng.below(3) as usize;
        let (base, donor) = (pictures[which], pictures[(which + 1) % 3]);
        let bytes = match rng.below(6) {
            0 => [&png_gray[..8], &random_bytes(rng, 200)].concat(),
            1 => [&jpeg[..4], &random_bytes(rng, 200)].concat(),
            2 | 3 => mutated(rng, base, donor),
            4 if which < 2 => png_with_header(rng, base),
            4 => jpeg_with_size(rng, base),
            // The page's path: any pixels with any size.
            _ => {
                let (width, height) = (extreme(rng) as usize, extreme(rng) as usize);
                let rgba = random_bytes(rng, 4 * 64 * 64);
                let Ok(gray) = preprocess::rgba_to_gray(&rgba, width, height) else {
                    let _ = preprocess::to_mnist(&rgba, width, height);
                    return false;
                };
                return preprocess::to_mnist(&gray, width, height).is_ok();
            }
        };
        inference::prepare_picture(&bytes).is_ok()
    });
}
