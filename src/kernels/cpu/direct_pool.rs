//! A direct-strategy convolution (the first layer) with the 2×2 max pooling and ReLU after it,
//! in one pass: each convolution plane is pooled while it is still in cache, so the full-size
//! activation (11 MB at batch 128 for the first layer) and its gradient are never written.
//!

use super::conv::ConvDims;
use super::direct;
use super::pool::{self, passed_sums, pool_planes, winners};

/// `[B, Cout, Ho/2, Wo/2]`.
fn output_shape(d: ConvDims) -> [usize; 4] {
    pool::output_shape(d.output_shape())
}

/// The pooled output and its winners, as `pool::forward` gives them for the convolution's output.
pub fn forward(x: &[f32], w: &[f32], b: &[f32], d: ConvDims) -> (Vec<f32>, Vec<u8>) {
    let [batch, c_out, ho, wo] = output_shape(d);
    // A wide plane's rows start every W values (see `conv.rs`).
    pool_planes(batch * c_out, [ho, wo], d.w, |plane| {
        direct::plane(x, w, b, d, plane)
    })
}

/// Gradients of input, weight and bias (each only when asked for) from the pooled output's.
/// They are the convolution's, for an output gradient that is zero except at the winners:
/// scattering it into wide planes and running the direct strategy's vectorised loops beats
/// visiting only the winners, a quarter of the outputs, one by one.
pub fn backward(
    dy: &[f32],
    x: &[f32],
    w: &[f32],
    winner: &[u8],
    d: ConvDims,
    [want_dx, want_dw, want_db]: [bool; 3],
) -> [Option<Vec<f32>>; 3] {
    let [_, _, ho, wo] = output_shape(d);
    let q = ho * wo;
    let unpooled = |plane: usize| {
        let mut wide = vec![0.0f32; d.wide()];
        let dy = &dy[plane * q..][..q];
        for (i, y, x) in winners(&winner[plane * q..][..q], wo) {
            wide[y * d.w + x] = dy[i];
        }
        wide
    };
    let db = want_db.then(|| passed_sums(dy, winner, d.c_out, [ho, wo]));
    let dw = want_dw.then(|| direct::weight_grad(x, d, unpooled));
    let dx = want_dx.then(|| direct::input_grad(w, d, unpooled));
    [dx, dw, db]
}
