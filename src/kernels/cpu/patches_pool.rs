//! A patches-strategy convolution (the second layer, K = 288) with the 2×2 max pooling and ReLU
//! after it, in one pass. Pooling throws most of a convolution's outputs away, and this pass
//! skips computing them:
//! - forward, only the outputs a pooling window reads: the second layer's 11×11 map loses its
//!   last row and column, so 100 of 121 outputs (−17%);
//! - backward, only the winners. The pooled gradient reaches one input of each 2×2 window, and
//!   none where ReLU zeroed the window, so at most a quarter of the outputs carry a gradient:
//!   the weight and input gradients each cost a quarter of a matrix product or less (measured
//!   in training, about a seventh).
//!
//! The patch matrix is position-major (`[P, K]`: one row per output pixel), so each winner reads
//! one contiguous patch and adds one contiguous patch gradient.

use super::conv::ConvDims;
use super::parallel::{
    for_each_chunk, for_each_chunk2, for_each_chunk3, matmul, sum_over, Strided,
};
use super::pool::{passed_sums, pool_plane, winners};
use super::simd::add_rows;

impl ConvDims {
    /// Rows and columns of the convolution's output that a pooling window reads.
    fn pooled_region(&self) -> [usize; 2] {
        [self.out_h() / 2 * 2, self.out_w() / 2 * 2]
    }
    /// `f(offset in an input image, offset in the patch)` for each contiguous run of `kw`
    /// values in the patch of output pixel `at` of the pooled region.
    #[inline(always)]
    fn patch_runs(&self, at: usize, mut f: impl FnMut(usize, usize)) {
        let [_, rw] = self.pooled_region();
        let (oy, ox) = (at / rw, at % rw);
        for ci in 0..self.c_in {
            for ky in 0..self.kh {
                f(
                    (ci * self.h + oy + ky) * self.w + ox,
                    (ci * self.kh + ky) * self.kw,
                );
            }
        }
    }
}

/// `[B, Cout, Ho/2, Wo/2]`, the pooled output and its winners (`pool::forward`'s, for the
/// convolution's output), and with `keep` every image's patch matrix for the backward pass.
pub fn forward(
    x: &[f32],
    w: &[f32],
    b: &[f32],
    d: ConvDims,
    keep: bool,
) -> (Vec<f32>, Vec<u8>, Option<Vec<f32>>) {
    let (k, image_in) = (d.k(), d.image_in());
    let [rh, rw] = d.pooled_region();
    let (p, q) = (rh * rw, rh * rw / 4);
    let convolve = |image: usize, out: &mut [f32], winner: &mut [u8], cols: &mut [f32]| {
        let x = &x[image * image_in..][..image_in];
        match d.kw {
            3 => im2col::<3>(x, cols, d),
            _ => im2col::<0>(x, cols, d),
        }
        // conv[Cout, P] = W[Cout, K] · colsᵀ[K, P] + bias
        let mut conv = vec![0.0f32; d.c_out * p];
        for (row, &bias) in conv.chunks_exact_mut(p).zip(b) {
            row.fill(bias);
        }
        let (w, cols) = (Strided::rows(w, k), Strided::transposed(cols, k));
        matmul(&mut conv, (d.c_out, p, k), w, cols, true);
        let planes = conv.chunks_exact(p).zip(out.chunks_exact_mut(q));
        for ((conv, out), winner) in planes.zip(winner.chunks_exact_mut(q)) {
            pool_plane(conv, rw, rw / 2, out, winner);
        }
    };
    let pooled = d.batch * d.c_out * q;
    let (mut out, mut winner) = (vec![0.0f32; pooled], vec![0u8; pooled]);
    if !keep {
        for_each_chunk2(
            &mut out,
            d.c_out * q,
            &mut winner,
            d.c_out * q,
            |i, out, winner| {
                convolve(i, out, winner, &mut vec![0.0f32; p * k]);
            },
        );
        return (out, winner, None);
    }
    let mut patches = vec![0.0f32; d.batch * p * k];
    let chunks = [d.c_out * q, d.c_out * q, p * k];
    for_each_chunk3((&mut out, &mut winner, &mut patches), chunks, convolve);
    (out, winner, Some(patches))
}

/// Gradients of input, weight and bias (each only when asked for) from the pooled output's;
/// `patches` and `winner` are what `forward` gave.
pub fn backward(
    dy: &[f32],
    w: &[f32],
    patches: &[f32],
    winner: &[u8],
    d: ConvDims,
    [want_dx, want_dw, want_db]: [bool; 3],
) -> [Option<Vec<f32>>; 3] {
    let k = d.k();
    let [rh, rw] = d.pooled_region();
    let (p, q) = (rh * rw, rh * rw / 4);
    // The gradients that reach plane (image, co) of the convolution: (value, output pixel).
    let reaching = |image: usize, co: usize| {
        let plane = (image * d.c_out + co) * q;
        let winners = winners(&winner[plane..][..q], rw / 2);
        winners.map(move |(i, y, x)| (dy[plane + i], y * rw + x))
    };
    let db = want_db.then(|| passed_sums(dy, winner, d.c_out, [rh / 2, rw / 2]));
    let dw = want_dw.then(|| {
        sum_over(d.batch, d.c_out * k, |image, dw| {
            // dW[co] += Σ g · patch of the winner
            let cols = &patches[image * p * k..][..p * k];
            let mut rows = Vec::with_capacity(q);
            for (co, dw) in dw.chunks_exact_mut(k).enumerate() {
                rows.clear();
                rows.extend(reaching(image, co).map(|(g, at)| (g, &cols[at * k..][..k])));
                add_rows(dw, &rows);
            }
        })
    });
    let dx = want_dx.then(|| {
        let mut dx = vec![0.0f32; d.batch * d.image_in()];
        for_each_chunk(&mut dx, d.image_in(), |image, dx| {
            // The gradients reaching each output pixel, grouped by pixel (a counting sort):
            // pixel `at`'s are (co, g) in reached[start[at]..start[at + 1]].
            let mut start = vec![0usize; p + 1];
            for co in 0..d.c_out {
                reaching(image, co).for_each(|(_, at)| start[at + 1] += 1);
            }
            for at in 0..p {
                start[at + 1] += start[at];
            }
            let (mut next, mut reached) = (start.clone(), vec![(0usize, 0.0f32); start[p]]);
            for co in 0..d.c_out {
                for (g, at) in reaching(image, co) {
                    reached[next[at]] = (co, g);
                    next[at] += 1;
                }
            }
            // A pixel's patch gradient, Σ g · W[co], goes back onto the pixels it was read from.
            let (mut patch, mut rows) = (vec![0.0f32; k], Vec::with_capacity(d.c_out));
            for (at, range) in start.windows(2).enumerate().filter(|(_, r)| r[0] < r[1]) {
                rows.clear();
                let pixel = &reached[range[0]..range[1]];
                rows.extend(pixel.iter().map(|&(co, g)| (g, &w[co * k..][..k])));
                patch.fill(0.0);
                add_rows(&mut patch, &rows);
                match d.kw {
                    3 => add_patch::<3>(&patch, dx, at, d),
                    _ => add_patch::<0>(&patch, dx, at, d),
                }
            }
        });
        dx
    });
    [dx, dw, db]
}

// The patch runs are 3 values long in the model. With the length a constant `KW`, copying or
// adding a run is three moves or adds; with a length known only at run time (`KW` = 0), a
// call to memcpy per run, most of the time the im2col takes.

/// One image's position-major patch matrix over the pooled region: row (oy, ox), column
/// (ci, ky, kx) = x[ci, oy+ky, ox+kx].
fn im2col<const KW: usize>(x: &[f32], cols: &mut [f32], d: ConvDims) {
    let kw = if KW == 0 { d.kw } else { KW };
    for (at, patch) in cols.chunks_exact_mut(d.k()).enumerate() {
        d.patch_runs(at, |pixel, tap| {
            patch[tap..][..kw].copy_from_slice(&x[pixel..][..kw]);
        });
    }
}

/// Adds the gradient of output pixel `at`'s patch back onto the input pixels it was read from.
fn add_patch<const KW: usize>(patch: &[f32], dx: &mut [f32], at: usize, d: ConvDims) {
    let kw = if KW == 0 { d.kw } else { KW };
    d.patch_runs(at, |pixel, tap| {
        let (dst, src) = (&mut dx[pixel..][..kw], &patch[tap..][..kw]);
        dst.iter_mut().zip(src).for_each(|(a, g)| *a += g);
    });
}
