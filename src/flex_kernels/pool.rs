//! 2×2 max pooling with stride 2 followed by ReLU, forward and backward, on f32 slices in NCHW.
//! Odd rows and columns at the edge are dropped, as burn and Keras do.

use super::parallel::{for_each_chunk, for_each_chunk2};

/// Marks a pooled value that ReLU zeroed, so no gradient flows back through it.
const NO_GRADIENT: u8 = u8::MAX;

/// `[B, C, H/2, W/2]` for an input `[B, C, H, W]`.
pub fn output_shape([batch, channels, h, w]: [usize; 4]) -> [usize; 4] {
    [batch, channels, h / 2, w / 2]
}

/// The output `[B, C, H/2, W/2]` and, per output, which of its four inputs won (0..4, row-major
/// in the window) or `NO_GRADIENT`.
pub fn forward(x: &[f32], [batch, channels, h, w]: [usize; 4]) -> (Vec<f32>, Vec<u8>) {
    let (ho, wo) = (h / 2, w / 2);
    let mut out = vec![0.0f32; batch * channels * ho * wo];
    let mut winner = vec![NO_GRADIENT; out.len()];
    for_each_chunk2(&mut out, &mut winner, ho * wo, |plane, out, winner| {
        let src = &x[plane * h * w..][..h * w];
        for oy in 0..ho {
            let (top, bottom) = (&src[2 * oy * w..][..w], &src[(2 * oy + 1) * w..][..w]);
            for ox in 0..wo {
                let four = [
                    top[2 * ox],
                    top[2 * ox + 1],
                    bottom[2 * ox],
                    bottom[2 * ox + 1],
                ];
                let (mut best, mut at) = (four[0], 0u8);
                for (i, &v) in four.iter().enumerate().skip(1) {
                    if v > best {
                        (best, at) = (v, i as u8);
                    }
                }
                // ReLU: a non-positive maximum becomes 0 and passes no gradient back.
                let i = oy * wo + ox;
                (out[i], winner[i]) = if best > 0.0 {
                    (best, at)
                } else {
                    (0.0, NO_GRADIENT)
                };
            }
        }
    });
    (out, winner)
}

/// The input's gradient: each output's gradient goes to the input that won its window.
pub fn backward(dy: &[f32], winner: &[u8], [batch, channels, h, w]: [usize; 4]) -> Vec<f32> {
    let (ho, wo) = (h / 2, w / 2);
    let mut dx = vec![0.0f32; batch * channels * h * w];
    for_each_chunk(&mut dx, h * w, |plane, dst| {
        let base = plane * ho * wo;
        for oy in 0..ho {
            for ox in 0..wo {
                let (i, at) = (base + oy * wo + ox, winner[base + oy * wo + ox]);
                if at != NO_GRADIENT {
                    let (y, x) = (2 * oy + usize::from(at / 2), 2 * ox + usize::from(at % 2));
                    dst[y * w + x] = dy[i];
                }
            }
        }
    });
    dx
}
