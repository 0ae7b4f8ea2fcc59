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
pub fn forward(x: &[f32], dims: [usize; 4]) -> (Vec<f32>, Vec<u8>) {
    let [batch, channels, h, w] = dims;
    let [_, _, ho, wo] = output_shape(dims);
    pool_planes(batch * channels, [ho, wo], w, |plane| {
        &x[plane * h * w..][..h * w]
    })
}

/// Pools `planes` planes, each `source(i)` with rows every `stride` values, into `[planes, ho,
/// wo]` outputs and their winners, the planes in parallel.
pub fn pool_planes<P: AsRef<[f32]>>(
    planes: usize,
    [ho, wo]: [usize; 2],
    stride: usize,
    source: impl Fn(usize) -> P + Sync + Send,
) -> (Vec<f32>, Vec<u8>) {
    let mut out = vec![0.0f32; planes * ho * wo];
    let mut winner = vec![NO_GRADIENT; out.len()];
    for_each_chunk2(&mut out, ho * wo, &mut winner, ho * wo, |i, out, winner| {
        pool_plane(source(i).as_ref(), stride, wo, out, winner);
    });
    (out, winner)
}

/// Pools one plane whose rows start every `stride` values into `out` (`wo` values a row), and
/// records the winners.
pub(super) fn pool_plane(
    src: &[f32],
    stride: usize,
    wo: usize,
    out: &mut [f32],
    winner: &mut [u8],
) {
    let rows = out.chunks_exact_mut(wo).zip(winner.chunks_exact_mut(wo));
    for (oy, (out, winner)) in rows.enumerate() {
        let top = &src[2 * oy * stride..][..2 * wo];
        let bottom = &src[(2 * oy + 1) * stride..][..2 * wo];
        for ox in 0..wo {
            // The first of the largest, without branches (random data mispredicts them).
            let (top_best, top_at) = pick((top[2 * ox], 0), (top[2 * ox + 1], 1));
            let (bottom_best, bottom_at) = pick((bottom[2 * ox], 2), (bottom[2 * ox + 1], 3));
            let (best, at) = pick((top_best, top_at), (bottom_best, bottom_at));
            // ReLU: a non-positive maximum becomes 0 and passes no gradient back.
            (out[ox], winner[ox]) = if best > 0.0 {
                (best, at)
            } else {
                (0.0, NO_GRADIENT)
            };
        }
    }
}

/// `b` if it is larger than `a`, else `a`: with `a` first in the window, the first of the
/// largest.
#[inline(always)]
fn pick(a: (f32, u8), b: (f32, u8)) -> (f32, u8) {
    if b.0 > a.0 {
        b
    } else {
        a
    }
}

/// The outputs of one pooled plane (`wo` values a row) that pass a gradient back: their index
/// in the plane and the (row, column) of the input that won.
pub fn winners(winner: &[u8], wo: usize) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
    // Rows and columns by counting, not dividing: this runs for every pooled value.
    winner
        .chunks_exact(wo)
        .enumerate()
        .flat_map(move |(oy, row)| {
            let passed = row.iter().enumerate().filter(|(_, &at)| at != NO_GRADIENT);
            passed.map(move |(ox, &at)| {
                let at = usize::from(at);
                (oy * wo + ox, 2 * oy + at / 2, 2 * ox + at % 2)
            })
        })
}

/// Per channel, the sum of the pooled gradient `dy` that passes back through the winners: the
/// bias gradient of a convolution fused with this pooling (`[B, C, ho, wo]` planes).
pub fn passed_sums(dy: &[f32], winner: &[u8], channels: usize, [ho, wo]: [usize; 2]) -> Vec<f32> {
    let q = ho * wo;
    let mut sums = vec![0.0f32; channels];
    let planes = dy.chunks_exact(q).zip(winner.chunks_exact(q));
    for (plane, (dy, winner)) in planes.enumerate() {
        sums[plane % channels] += winners(winner, wo).map(|(i, _, _)| dy[i]).sum::<f32>();
    }
    sums
}

/// The input's gradient: each output's gradient goes to the input that won its window.
pub fn backward(dy: &[f32], winner: &[u8], dims: [usize; 4]) -> Vec<f32> {
    let [batch, channels, h, w] = dims;
    let [_, _, ho, wo] = output_shape(dims);
    let mut dx = vec![0.0f32; batch * channels * h * w];
    for_each_chunk(&mut dx, h * w, |plane, dst| {
        let base = plane * ho * wo;
        for (i, y, x) in winners(&winner[base..][..ho * wo], wo) {
            dst[y * w + x] = dy[base + i];
        }
    });
    dx
}
