//! The direct convolution's inner loops over a whole (wide) plane, for all of a kernel's taps at
//! once: each output value is loaded and stored once, not once per tap.
//!
//! Written as eight-lane blocks so the compiler vectorises them (with `simd128` on wasm). On
//! x86-64 the same loops are compiled again for AVX2 + FMA and picked at run time: a plain
//! build targets the baseline x86-64 (4-wide, no fused multiply-add), 3× slower here.

/// `out[j] += Σₜ weights[t] · src[shifts[t] + j]` for every `j` in `out`.
pub fn multiply_add<const T: usize>(
    out: &mut [f32],
    src: &[f32],
    shifts: [usize; T],
    weights: [f32; T],
) {
    #[cfg(target_arch = "x86_64")]
    if fma::available() {
        // SAFETY: the CPU has AVX2 and FMA, checked just above.
        return unsafe { fma::multiply_add(out, src, shifts, weights) };
    }
    multiply_add_lanes(out, src, shifts, weights, |a, x, acc| acc + a * x);
}

/// `[Σⱼ g[j] · src[shifts[t] + j] for each t]`.
pub fn dots<const T: usize>(g: &[f32], src: &[f32], shifts: [usize; T]) -> [f32; T] {
    #[cfg(target_arch = "x86_64")]
    if fma::available() {
        // SAFETY: the CPU has AVX2 and FMA, checked just above.
        return unsafe { fma::dots(g, src, shifts) };
    }
    dots_lanes(g, src, shifts, |a, x, acc| acc + a * x)
}

/// `dst[j] += Σᵢ gᵢ · rowᵢ[j]` for every `j` in `dst`, for rows `(gᵢ, rowᵢ)` at least as long.
pub fn add_rows(dst: &mut [f32], rows: &[(f32, &[f32])]) {
    #[cfg(target_arch = "x86_64")]
    if fma::available() {
        // SAFETY: the CPU has AVX2 and FMA, checked just above.
        return unsafe { fma::add_rows(dst, rows) };
    }
    add_rows_lanes(dst, rows, |a, x, acc| acc + a * x);
}

const LANES: usize = 8;
/// `add_rows` keeps this many sums in registers while it goes through the rows.
const BLOCK: usize = 4 * LANES;

#[inline(always)]
fn multiply_add_lanes<const T: usize>(
    out: &mut [f32],
    src: &[f32],
    shifts: [usize; T],
    weights: [f32; T],
    fmadd: impl Fn(f32, f32, f32) -> f32,
) {
    let n = out.len();
    let rows = shifts.map(|s| &src[s..][..n]);
    let mut blocks = out.chunks_exact_mut(LANES);
    for (b, block) in blocks.by_ref().enumerate() {
        let mut acc: [f32; LANES] = block.try_into().unwrap();
        for t in 0..T {
            let x: &[f32; LANES] = rows[t][b * LANES..][..LANES].try_into().unwrap();
            for l in 0..LANES {
                acc[l] = fmadd(weights[t], x[l], acc[l]);
            }
        }
        block.copy_from_slice(&acc);
    }
    let done = n - blocks.into_remainder().len();
    for j in done..n {
        for t in 0..T {
            out[j] = fmadd(weights[t], rows[t][j], out[j]);
        }
    }
}

#[inline(always)]
fn dots_lanes<const T: usize>(
    g: &[f32],
    src: &[f32],
    shifts: [usize; T],
    fmadd: impl Fn(f32, f32, f32) -> f32,
) -> [f32; T] {
    let n = g.len();
    let rows = shifts.map(|s| &src[s..][..n]);
    // Eight running sums per tap: one sum would have to be added to in order.
    let mut sums = [[0.0f32; LANES]; T];
    let blocks = g.chunks_exact(LANES);
    let done = n - blocks.remainder().len();
    for (b, block) in blocks.enumerate() {
        for t in 0..T {
            let x: &[f32; LANES] = rows[t][b * LANES..][..LANES].try_into().unwrap();
            for l in 0..LANES {
                sums[t][l] = fmadd(block[l], x[l], sums[t][l]);
            }
        }
    }
    let mut totals = sums.map(|s| s.iter().sum::<f32>());
    for j in done..n {
        for t in 0..T {
            totals[t] = fmadd(g[j], rows[t][j], totals[t]);
        }
    }
    totals
}

#[inline(always)]
fn add_rows_lanes(dst: &mut [f32], rows: &[(f32, &[f32])], fmadd: impl Fn(f32, f32, f32) -> f32) {
    let n = dst.len();
    let mut blocks = dst.chunks_exact_mut(BLOCK);
    for (b, block) in blocks.by_ref().enumerate() {
        let mut acc: [f32; BLOCK] = block.try_into().unwrap();
        for &(g, row) in rows {
            let x: &[f32; BLOCK] = row[b * BLOCK..][..BLOCK].try_into().unwrap();
            for l in 0..BLOCK {
                acc[l] = fmadd(g, x[l], acc[l]);
            }
        }
        block.copy_from_slice(&acc);
    }
    let done = n - blocks.into_remainder().len();
    for &(g, row) in rows {
        for j in done..n {
            dst[j] = fmadd(g, row[j], dst[j]);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod fma {
    pub fn available() -> bool {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn multiply_add<const T: usize>(
        out: &mut [f32],
        src: &[f32],
        shifts: [usize; T],
        weights: [f32; T],
    ) {
        super::multiply_add_lanes(out, src, shifts, weights, |a, x, acc| a.mul_add(x, acc));
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dots<const T: usize>(g: &[f32], src: &[f32], shifts: [usize; T]) -> [f32; T] {
        super::dots_lanes(g, src, shifts, |a, x, acc| a.mul_add(x, acc))
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn add_rows(dst: &mut [f32], rows: &[(f32, &[f32])]) {
        super::add_rows_lanes(dst, rows, |a, x, acc| a.mul_add(x, acc))
    }
}
