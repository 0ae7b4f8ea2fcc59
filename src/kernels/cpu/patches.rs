//! The patches strategy for a convolution (the second layer, K = 32·3·3 = 288), one image at a
//! time: im2col into the image's patch matrix `[K, P]`, then a matrix product with the weight.
//!
//! Image by image, each thread's patch matrix (139 KB for the second layer) stays in cache,
//! the output comes out in `[Cout, P]` = NCHW order with no transpose, and the gradients are
//! read in the order they arrive.

use super::conv::ConvDims;
use super::parallel::{for_each_chunk, for_each_chunk2, matmul, sum_over, Strided};

/// The output `[B, Cout, Ho, Wo]` and, with `keep`, every image's patch matrix for the
/// backward pass (`[B, K, P]`).
pub fn forward(
    x: &[f32],
    w: &[f32],
    b: &[f32],
    d: ConvDims,
    keep: bool,
) -> (Vec<f32>, Option<Vec<f32>>) {
    let (k, p, image_in) = (d.k(), d.p(), d.image_in());
    let convolve = |image: usize, out: &mut [f32], cols: &mut [f32]| {
        im2col(&x[image * image_in..][..image_in], cols, d);
        for (row, &bias) in out.chunks_exact_mut(p).zip(b) {
            row.fill(bias);
        }
        // out[Cout, P] += W[Cout, K] · cols[K, P]
        let (w, cols) = (Strided::rows(w, k), Strided::rows(cols, p));
        matmul(out, (d.c_out, p, k), w, cols, true);
    };
    let mut out = vec![0.0f32; d.batch * d.c_out * p];
    if !keep {
        for_each_chunk(&mut out, d.c_out * p, |image, out| {
            convolve(image, out, &mut vec![0.0f32; k * p]);
        });
        return (out, None);
    }
    let mut patches = vec![0.0f32; d.batch * k * p];
    for_each_chunk2(&mut out, d.c_out * p, &mut patches, k * p, convolve);
    (out, Some(patches))
}

/// Gradients of input and weight (each only when asked for) from the output's gradient `dy`;
/// `patches` is what `forward` kept.
pub fn backward(
    dy: &[f32],
    w: &[f32],
    patches: &[f32],
    d: ConvDims,
    [want_dx, want_dw]: [bool; 2],
) -> [Option<Vec<f32>>; 2] {
    let (k, p) = (d.k(), d.p());
    let dy_of = |image: usize| Strided::rows(&dy[image * d.c_out * p..][..d.c_out * p], p);
    let dw = want_dw.then(|| {
        sum_over(d.batch, d.c_out * k, |image, dw| {
            // dW[Cout, K] += dY[Cout, P] · colsᵀ[P, K]
            let cols = Strided::transposed(&patches[image * k * p..][..k * p], p);
            matmul(dw, (d.c_out, k, p), dy_of(image), cols, true);
        })
    });
    let dx = want_dx.then(|| {
        let mut dx = vec![0.0f32; d.batch * d.image_in()];
        for_each_chunk(&mut dx, d.image_in(), |image, dx| {
            // dCols[K, P] = Wᵀ[K, Cout] · dY[Cout, P], then back onto the pixels.
            let mut dcols = vec![0.0f32; k * p];
            let wt = Strided::transposed(w, k);
            matmul(&mut dcols, (k, p, d.c_out), wt, dy_of(image), false);
            col2im(&dcols, dx, d);
        });
        dx
    });
    [dx, dw]
}

/// One image's patch matrix `[K, P]`: row (ci, ky, kx), column (oy, ox) = x[ci, oy+ky, ox+kx].
fn im2col(x: &[f32], cols: &mut [f32], d: ConvDims) {
    let (wo, p) = (d.out_w(), d.p());
    for (row, dst) in cols.chunks_exact_mut(p).enumerate() {
        let (ci, ky, kx) = (row / (d.kh * d.kw), row / d.kw % d.kh, row % d.kw);
        let plane = &x[ci * d.h * d.w..][..d.h * d.w];
        for (oy, dst) in dst.chunks_exact_mut(wo).enumerate() {
            dst.copy_from_slice(&plane[(oy + ky) * d.w + kx..][..wo]);
        }
    }
}

/// One image's input gradient from its patch matrix's: each patch entry adds back into the
/// pixel it was copied from.
fn col2im(dcols: &[f32], dx: &mut [f32], d: ConvDims) {
    let (wo, p) = (d.out_w(), d.p());
    for (row, src) in dcols.chunks_exact(p).enumerate() {
        let (ci, ky, kx) = (row / (d.kh * d.kw), row / d.kw % d.kh, row % d.kw);
        let plane = &mut dx[ci * d.h * d.w..][..d.h * d.w];
        for (oy, g_row) in src.chunks_exact(wo).enumerate() {
            let shifted = &mut plane[(oy + ky) * d.w + kx..][..wo];
            shifted.iter_mut().zip(g_row).for_each(|(a, g)| *a += g);
        }
    }
}
