//! MNIST-like preparation of synthetic pictures: polarity, scale, centring, noise and edge cases.
#![cfg(not(target_arch = "wasm32"))]

use kindling::model::preprocess::*;

/// A `width`×`height` canvas filled with `bg`.
fn canvas(width: usize, height: usize, bg: u8) -> Vec<u8> {
    vec![bg; width * height]
}

/// Paints every pixel within `half` of the segment (ax, ay)-(bx, by) with `ink`.
fn line(
    img: &mut [u8],
    width: usize,
    (ax, ay): (f32, f32),
    (bx, by): (f32, f32),
    half: f32,
    ink: u8,
) {
    let height = img.len() / width;
    let (dx, dy) = (bx - ax, by - ay);
    let len2 = (dx * dx + dy * dy).max(1e-6);
    for y in 0..height {
        for x in 0..width {
            let (px, py) = (x as f32, y as f32);
            let t = (((px - ax) * dx + (py - ay) * dy) / len2).clamp(0.0, 1.0);
            let (cx, cy) = (ax + t * dx - px, ay + t * dy - py);
            if cx * cx + cy * cy <= half * half {
                img[y * width + x] = ink;
            }
        }
    }
}

/// A thick "7", off-centre (upper left) on a 200×300 page.
fn seven(bg: u8, ink: u8) -> Vec<u8> {
    let mut img = canvas(200, 300, bg);
    line(&mut img, 200, (20.0, 30.0), (110.0, 30.0), 6.0, ink);
    line(&mut img, 200, (110.0, 30.0), (50.0, 170.0), 6.0, ink);
    img
}

/// A thick ring (a "0"), off-centre (lower right) on a 200×300 page.
fn ring(bg: u8, ink: u8) -> Vec<u8> {
    let mut img = canvas(200, 300, bg);
    for y in 0..300 {
        for x in 0..200 {
            let (dx, dy) = ((x as f32 - 130.0) / 40.0, (y as f32 - 200.0) / 60.0);
            let r = (dx * dx + dy * dy).sqrt();
            if (0.75..=1.0).contains(&r) {
                img[y * 200 + x] = ink;
            }
        }
    }
    img
}

/// A `width`×`height` RGBA buffer, fully transparent.
fn transparent(width: usize, height: usize) -> Vec<u8> {
    vec![0; width * height * 4]
}

/// Deterministic pseudo-random bytes (xorshift), so tests need no rand dependency.
fn noise(n: usize, mut state: u64) -> impl Iterator<Item = u8> {
    (0..n).map(move |_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 32) as u8
    })
}

fn assert_centred(out: &[u8; 784]) {
    let (cx, cy) = center_of_mass(out, 28, 28).expect("output has ink");
    assert!(
        (cx - 14.0).abs() <= 0.5 && (cy - 14.0).abs() <= 0.5,
        "centre of mass ({cx}, {cy})"
    );
}

fn assert_border_black(out: &[u8; 784]) {
    for i in 0..28 {
        for v in [out[i], out[27 * 28 + i], out[i * 28], out[i * 28 + 27]] {
            assert_eq!(v, 0, "border pixel lit");
        }
    }
}

#[test]
fn dark_digit_on_white_becomes_centred_bright_on_black() {
    let out = to_mnist(&ring(255, 0), 200, 300).unwrap();
    assert_eq!(*out.iter().max().unwrap(), 255);
    let (x0, y0, x1, y1) = ink_bounds(&out, 28, 28, 0).unwrap();
    let longer = (x1 - x0 + 1).max(y1 - y0 + 1);
    assert!((19..=21).contains(&longer), "longer side {longer}");
    assert_centred(&out);
    assert_border_black(&out);
    // Background stays black: most of the frame is empty.
    assert!(out.iter().filter(|&&v| v == 0).count() > 784 / 2);
}

#[test]
fn lopsided_digit_stays_inside_the_frame() {
    // A 7's mass sits high, so exact centring would push its tail onto the edge: the margin wins.
    let out = to_mnist(&seven(255, 0), 200, 300).unwrap();
    assert_border_black(&out);
    let (cx, cy) = center_of_mass(&out, 28, 28).unwrap();
    assert!(
        (cx - 14.0).abs() <= 0.5 && (cy - 14.0).abs() <= 1.5,
        "centre of mass ({cx}, {cy})"
    );
}

#[test]
fn polarity_does_not_matter() {
    let dark_on_white = to_mnist(&seven(255, 0), 200, 300).unwrap();
    let light_on_black = to_mnist(&seven(0, 255), 200, 300).unwrap();
    let grey_on_cream = to_mnist(&seven(240, 40), 200, 300).unwrap();
    assert_ne!(dark_on_white, to_mnist(&ring(255, 0), 200, 300).unwrap());
    for other in [light_on_black, grey_on_cream] {
        for (a, b) in dark_on_white.iter().zip(other.iter()) {
            assert!(a.abs_diff(*b) <= 3, "{a} vs {b}");
        }
    }
}

#[test]
fn thin_tall_bar_keeps_a_visible_stroke() {
    let mut img = canvas(100, 400, 255);
    for y in 50..350 {
        for x in 30..33 {
            img[y * 100 + x] = 0;
        }
    }
    let out = to_mnist(&img, 100, 400).unwrap();
    let (x0, y0, x1, y1) = ink_bounds(&out, 28, 28, 0).unwrap();
    assert!((19..=21).contains(&(y1 - y0 + 1)), "height {}", y1 - y0 + 1);
    assert!(x1 - x0 < 3, "a thin bar stays thin");
    assert_eq!(*out.iter().max().unwrap(), 255);
    assert_centred(&out);
}

#[test]
fn thin_wide_stroke_keeps_a_visible_stroke() {
    let mut img = canvas(600, 50, 255);
    for x in 10..590 {
        img[25 * 600 + x] = 0;
    }
    let out = to_mnist(&img, 600, 50).unwrap();
    let (x0, y0, x1, y1) = ink_bounds(&out, 28, 28, 0).unwrap();
    assert!((19..=21).contains(&(x1 - x0 + 1)));
    assert!(y1 - y0 < 3);
    assert_centred(&out);
}

#[test]
fn mnist_like_input_stays_roughly_the_same() {
    let mut img = canvas(28, 28, 0);
    for y in 0..28 {
        for x in 0..28 {
            let (dx, dy) = (x as f32 - 14.0, y as f32 - 14.0);
            let r = (dx * dx + dy * dy).sqrt();
            if (6.0..=10.0).contains(&r) {
                img[y * 28 + x] = 255;
            }
        }
    }
    let out = to_mnist(&img, 28, 28).unwrap();
    assert_centred(&out);
    let mean_diff: f32 = img
        .iter()
        .zip(out.iter())
        .map(|(a, b)| a.abs_diff(*b) as f32)
        .sum::<f32>()
        / 784.0;
    assert!(mean_diff < 25.0, "mean difference {mean_diff}");
}

#[test]
fn blank_pictures_have_no_ink() {
    for v in [255, 0, 128] {
        assert_eq!(
            to_mnist(&canvas(50, 40, v), 50, 40),
            Err(PreprocessError::NoInk),
            "uniform {v}"
        );
    }
}

#[test]
fn bad_sizes_are_reported() {
    assert_eq!(
        to_mnist(&[], 0, 0),
        Err(PreprocessError::EmptyImage {
            width: 0,
            height: 0
        })
    );
    assert_eq!(
        to_mnist(&[1, 2, 3], 0, 3),
        Err(PreprocessError::EmptyImage {
            width: 0,
            height: 3
        })
    );
    assert_eq!(
        to_mnist(&[0; 10], 4, 3),
        Err(PreprocessError::BufferSize {
            expected: 12,
            actual: 10
        })
    );
    assert!(matches!(
        to_mnist(&[0; 4], usize::MAX, 2),
        Err(PreprocessError::BufferSize { .. })
    ));
    assert_eq!(
        rgba_to_gray(&[0; 12], 2, 2),
        Err(PreprocessError::BufferSize {
            expected: 16,
            actual: 12
        })
    );
    assert_eq!(
        rgba_to_gray(&[], 0, 5),
        Err(PreprocessError::EmptyImage {
            width: 0,
            height: 5
        })
    );
    assert!(PreprocessError::NoInk.to_string().contains("blank"));
}

#[test]
fn tiny_pictures_do_not_panic() {
    for v in [0, 77, 255] {
        assert_eq!(to_mnist(&[v], 1, 1), Err(PreprocessError::NoInk));
    }
    // A single dark dot on a white 3×3 page becomes a centred dot.
    let mut img = canvas(3, 3, 255);
    img[4] = 0;
    let out = to_mnist(&img, 3, 3).unwrap();
    assert_centred(&out);
    for (w, h) in [(1, 5), (5, 1), (2, 2)] {
        let img: Vec<u8> = noise(w * h, 7).collect();
        let _ = to_mnist(&img, w, h);
    }
}

#[test]
fn random_noise_does_not_panic() {
    for seed in 1..20u64 {
        let (w, h) = (1 + (seed as usize * 37) % 90, 1 + (seed as usize * 53) % 70);
        let img: Vec<u8> = noise(w * h, seed).collect();
        if let Ok(out) = to_mnist(&img, w, h) {
            assert!(center_of_mass(&out, 28, 28).is_some());
        }
    }
}

#[test]
fn canvas_strokes_on_transparent_are_ink() {
    let (w, h) = (120, 120);
    let mut rgba = transparent(w, h);
    for y in 20..100 {
        for x in 55..65 {
            rgba[(y * w + x) * 4 + 3] = 255; // opaque black
        }
    }
    let gray = rgba_to_gray(&rgba, w, h).unwrap();
    assert_eq!(gray[0], 255, "transparent reads as white paper");
    assert_eq!(gray[50 * w + 60], 0);
    let out = to_mnist(&gray, w, h).unwrap();
    assert_centred(&out);
    // Colour converts by luminance: opaque pure green is brighter than pure blue.
    let g = rgba_to_gray(&[0, 255, 0, 255, 0, 0, 255, 255], 2, 1).unwrap();
    assert!(g[0] > g[1]);
}

#[test]
fn paper_grain_is_not_ink() {
    let (w, h) = (300, 300);
    let mut img: Vec<u8> = noise(w * h, 42).map(|r| 230 + r % 26).collect();
    for y in 100..200 {
        for x in 120..160 {
            img[y * w + x] = 20;
        }
    }
    let out = to_mnist(&img, w, h).unwrap();
    // The shape is 40×100, so it fills 8×20 in the frame; grain would spread the box wide.
    let (x0, y0, x1, y1) = ink_bounds(&out, 28, 28, 0).unwrap();
    assert!((19..=21).contains(&(y1 - y0 + 1)));
    assert!((7..=10).contains(&(x1 - x0 + 1)), "width {}", x1 - x0 + 1);
    assert_centred(&out);
    assert_border_black(&out);
}

#[test]
fn huge_picture_is_handled() {
    let (w, h) = (4000, 3000);
    let mut img = canvas(w, h, 250);
    for y in 500..2500 {
        for x in 1800..1830 {
            img[y * w + x] = 10;
        }
    }
    for x in 1500..2200 {
        for y in 500..530 {
            img[y * w + x] = 10;
        }
    }
    let out = to_mnist(&img, w, h).unwrap();
    assert_centred(&out);
}

#[test]
fn helpers_reject_mismatched_buffers() {
    assert_eq!(center_of_mass(&[0; 10], 28, 28), None);
    assert_eq!(center_of_mass(&[0; 4], 2, 2), None);
    assert_eq!(center_of_mass(&[0, 0, 0, 9], 2, 2), Some((1.0, 1.0)));
    assert_eq!(ink_bounds(&[0; 10], 28, 28, 0), None);
    assert_eq!(ink_bounds(&[0, 5, 0, 9, 0, 0], 3, 2, 0), Some((0, 0, 1, 1)));
    assert_eq!(ink_bounds(&[0, 5, 0, 9, 0, 0], 3, 2, 5), Some((0, 1, 0, 1)));
}
