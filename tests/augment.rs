//! Augmentation keeps labels and image size, is repeatable for a seed, does what each option
//! says, and refuses settings that would destroy the images.
#![cfg(not(target_arch = "wasm32"))]

use kindling::data::augment::AugmentConfig;
use kindling::data::random::SplitMix64;
use kindling::data::{IMAGE_PIXELS, IMAGE_SIDE, NUM_CLASSES};

/// A batch of `n` images, each a filled 6×6 square at a different place near the centre, with a
/// fainter pixel to its right so that no image is its own mirror.
fn squares(n: usize) -> (Vec<f32>, Vec<i64>) {
    let mut pixels = vec![0.0f32; n * IMAGE_PIXELS];
    for (i, image) in pixels.chunks_exact_mut(IMAGE_PIXELS).enumerate() {
        let (top, left) = (10 + i % 3, 9 + i % 4);
        for y in top..top + 6 {
            for x in left..left + 6 {
                image[y * IMAGE_SIDE + x] = 1.0;
            }
        }
        image[top * IMAGE_SIDE + left + 7] = 0.5;
    }
    let labels = (0..n as i64).map(|i| i % 10).collect();
    (pixels, labels)
}

fn augmented(config: &AugmentConfig, seed: u64) -> (Vec<f32>, Vec<i64>, Option<Vec<f32>>) {
    let (mut pixels, labels) = squares(16);
    let targets = config.apply(&mut pixels, &labels, 0.0, &mut SplitMix64(seed));
    (pixels, labels, targets)
}

fn everything() -> AugmentConfig {
    AugmentConfig::new()
        .with_shift(3)
        .with_flip(true)
        .with_rotation(20.0)
        .with_scale(0.15)
        .with_shear(10.0)
        .with_mixup(Some(0.4))
}

fn ink(image: &[f32]) -> f32 {
    image.iter().sum()
}

/// The image moved by (dx, dy), blank where nothing moved in.
fn shifted(image: &[f32], dx: isize, dy: isize) -> Vec<f32> {
    let side = IMAGE_SIDE as isize;
    (0..IMAGE_PIXELS as isize)
        .map(|i| {
            let (x, y) = (i % side - dx, i / side - dy);
            if (0..side).contains(&x) && (0..side).contains(&y) {
                image[(y * side + x) as usize]
            } else {
                0.0
            }
        })
        .collect()
}

#[test]
fn the_default_changes_nothing() {
    let config = AugmentConfig::new();
    assert!(!config.is_active());
    let (pixels, labels, targets) = augmented(&config, 1);
    assert_eq!((pixels, labels), squares(16));
    assert!(targets.is_none());
}

#[test]
fn labels_and_image_size_stay_and_a_seed_repeats_the_batch() {
    let config = everything();
    let (pixels, labels, targets) = augmented(&config, 7);
    assert_eq!(labels, squares(16).1, "the labels are untouched");
    assert_eq!(pixels.len(), 16 * IMAGE_PIXELS);
    assert!(pixels
        .iter()
        .all(|p| p.is_finite() && (0.0..=1.0 + 1e-6).contains(p)));
    assert_eq!(augmented(&config, 7), (pixels.clone(), labels, targets));
    assert_ne!(
        augmented(&config, 8).0,
        pixels,
        "another seed, another batch"
    );
}

#[test]
fn shift_moves_each_image_by_whole_pixels_within_the_range() {
    let config = AugmentConfig::new().with_shift(2);
    let (original, _) = squares(16);
    let (pixels, _, _) = augmented(&config, 3);
    let mut moves = std::collections::HashSet::new();
    for (before, after) in original
        .chunks_exact(IMAGE_PIXELS)
        .zip(pixels.chunks_exact(IMAGE_PIXELS))
    {
        let found = (-2..=2)
            .flat_map(|dx| (-2..=2).map(move |dy| (dx, dy)))
            .find(|&(dx, dy)| shifted(before, dx, dy) == after);
        moves.insert(found.expect("a shift of at most 2 pixels each way"));
    }
    assert!(moves.len() > 3, "the shifts vary: {moves:?}");
}

#[test]
fn flip_mirrors_about_half_the_images_exactly() {
    let config = AugmentConfig::new().with_flip(true);
    let (mut pixels, labels) = squares(64);
    let original = pixels.clone();
    config.apply(&mut pixels, &labels, 0.0, &mut SplitMix64(5));
    let mut flipped = 0;
    for (before, after) in original
        .chunks_exact(IMAGE_PIXELS)
        .zip(pixels.chunks_exact(IMAGE_PIXELS))
    {
        let mirror: Vec<f32> = before
            .chunks_exact(IMAGE_SIDE)
            .flat_map(|row| row.iter().rev().copied())
            .collect();
        if after == mirror.as_slice() {
            flipped += 1;
        } else {
            assert_eq!(after, before, "neither the image nor its mirror");
        }
    }
    assert!((20..=44).contains(&flipped), "{flipped} of 64 flipped");
}

#[test]
fn rotation_scale_and_shear_move_the_ink_but_keep_about_as_much() {
    for config in [
        AugmentConfig::new().with_rotation(30.0),
        AugmentConfig::new().with_scale(0.2),
        AugmentConfig::new().with_shear(20.0),
    ] {
        let (original, _) = squares(16);
        let (pixels, _, _) = augmented(&config, 11);
        assert_ne!(pixels, original, "{config:?} changed nothing");
        for (before, after) in original
            .chunks_exact(IMAGE_PIXELS)
            .zip(pixels.chunks_exact(IMAGE_PIXELS))
        {
            let ratio = ink(after) / ink(before);
            // Zoom by up to 20% changes the area by up to 44%; the others keep it.
            assert!((0.6..1.5).contains(&ratio), "{config:?}: ink ratio {ratio}");
        }
    }
}

#[test]
fn a_blank_pixel_fills_what_moves_into_the_frame() {
    // Standardised inputs: a blank pixel is not 0.
    let config = AugmentConfig::new().with_rotation(45.0);
    let background = -0.42;
    let mut pixels = vec![background; 4 * IMAGE_PIXELS];
    config.apply(&mut pixels, &[0, 1, 2, 3], background, &mut SplitMix64(2));
    assert!(pixels.iter().all(|&p| (p - background).abs() < 1e-6));
}

#[test]
fn mixup_blends_images_and_targets_alike_and_targets_sum_to_one() {
    let config = AugmentConfig::new().with_mixup(Some(1.0));
    // Every pixel of an image of class c is c: a blend's pixel is then the targets' mean class.
    let labels: Vec<i64> = (0..32).map(|i| i % NUM_CLASSES as i64).collect();
    let mut pixels: Vec<f32> = labels
        .iter()
        .flat_map(|&c| std::iter::repeat_n(c as f32, IMAGE_PIXELS))
        .collect();
    let targets = config
        .apply(&mut pixels, &labels, 0.0, &mut SplitMix64(9))
        .expect("soft targets");
    assert_eq!(targets.len(), 32 * NUM_CLASSES);
    let mut blended = 0;
    for (row, image) in targets
        .chunks_exact(NUM_CLASSES)
        .zip(pixels.chunks_exact(IMAGE_PIXELS))
    {
        let sum: f32 = row.iter().sum();
        assert!((sum - 1.0).abs() < 1e-5, "targets sum to {sum}");
        assert!(row.iter().all(|&t| t >= 0.0));
        assert!(row.iter().filter(|&&t| t > 0.0).count() <= 2);
        let mean_class: f32 = row.iter().enumerate().map(|(c, t)| c as f32 * t).sum();
        assert!((image[0] - mean_class).abs() < 1e-4);
        blended += usize::from(row.iter().all(|&t| t < 0.999));
    }
    assert!(blended > 16, "most images are blends of two classes");
}

#[test]
fn settings_that_would_destroy_the_images_are_refused() {
    let refused = |config: AugmentConfig, needle: &str| {
        let message = config.validate().expect_err(needle);
        assert!(message.contains(needle), "{message}");
    };
    refused(AugmentConfig::new().with_rotation(181.0), "rotation");
    refused(AugmentConfig::new().with_rotation(-5.0), "rotation");
    refused(AugmentConfig::new().with_rotation(f64::NAN), "rotation");
    refused(AugmentConfig::new().with_scale(1.0), "scale");
    refused(AugmentConfig::new().with_shear(60.0), "shear");
    refused(AugmentConfig::new().with_shift(8), "shift");
    refused(AugmentConfig::new().with_mixup(Some(0.0)), "mixup α");
    refused(AugmentConfig::new().with_mixup(Some(-1.0)), "mixup α");
    assert!(everything().validate().is_ok());
    assert!(AugmentConfig::new().with_rotation(180.0).validate().is_ok());
}

#[test]
fn beta_samples_have_the_right_mean_and_stay_in_range() {
    let mut rng = SplitMix64(123);
    for (a, b) in [(0.2, 0.2), (2.0, 5.0), (1.0, 1.0)] {
        let samples: Vec<f64> = (0..20_000).map(|_| rng.beta(a, b)).collect();
        assert!(samples.iter().all(|x| (0.0..=1.0).contains(x)));
        let mean = samples.iter().sum::<f64>() / samples.len() as f64;
        let expected = a / (a + b);
        assert!((mean - expected).abs() < 0.01, "Beta({a}, {b}) mean {mean}");
    }
}
