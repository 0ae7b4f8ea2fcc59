//! Parallel loops and the matrix product: every core natively, one thread in the browser
//! (wasm has no threads without cross-origin isolation).

/// Runs `f(index, chunk)` over consecutive `len`-sized chunks of `data`.
pub fn for_each_chunk<T, F>(data: &mut [T], len: usize, f: F)
where
    T: Send,
    F: Fn(usize, &mut [T]) + Sync + Send,
{
    #[cfg(feature = "native")]
    {
        use rayon::prelude::*;
        data.par_chunks_mut(len)
            .enumerate()
            .for_each(|(i, c)| f(i, c));
    }
    #[cfg(not(feature = "native"))]
    data.chunks_mut(len).enumerate().for_each(|(i, c)| f(i, c));
}

/// `for_each_chunk` over two buffers chunked alike.
pub fn for_each_chunk2<A, B, F>(a: &mut [A], b: &mut [B], len: usize, f: F)
where
    A: Send,
    B: Send,
    F: Fn(usize, &mut [A], &mut [B]) + Sync + Send,
{
    #[cfg(feature = "native")]
    {
        use rayon::prelude::*;
        let pairs = a.par_chunks_mut(len).zip(b.par_chunks_mut(len));
        pairs.enumerate().for_each(|(i, (a, b))| f(i, a, b));
    }
    #[cfg(not(feature = "native"))]
    a.chunks_mut(len)
        .zip(b.chunks_mut(len))
        .enumerate()
        .for_each(|(i, (a, b))| f(i, a, b));
}

/// A matrix operand: its values with a (row stride, column stride), so a transpose is free.
#[derive(Clone, Copy)]
pub struct Strided<'a>(pub &'a [f32], pub isize, pub isize);

impl<'a> Strided<'a> {
    /// A row-major matrix with `cols` columns.
    pub fn rows(values: &'a [f32], cols: usize) -> Self {
        Strided(values, cols as isize, 1)
    }
    /// The transpose of a row-major matrix with `cols` columns.
    pub fn transposed(values: &'a [f32], cols: usize) -> Self {
        Strided(values, 1, cols as isize)
    }
    fn fits(&self, rows: usize, cols: usize) -> bool {
        let last = (rows as isize - 1) * self.1 + (cols as isize - 1) * self.2;
        (0..self.0.len() as isize).contains(&last)
    }
}

/// `dst[m, n] = lhs[m, k] · rhs[k, n]`, `dst` row-major.
pub fn matmul(dst: &mut [f32], (m, n, k): (usize, usize, usize), lhs: Strided, rhs: Strided) {
    assert!(dst.len() >= m * n, "matmul: destination too small");
    assert!(
        lhs.fits(m, k) && rhs.fits(k, n),
        "matmul: operand too small"
    );
    #[cfg(feature = "native")]
    let parallelism = gemm::Parallelism::Rayon(0);
    #[cfg(not(feature = "native"))]
    let parallelism = gemm::Parallelism::None;
    // SAFETY: the assertions above keep every index gemm reads or writes inside the slices.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            false,
            lhs.0.as_ptr(),
            lhs.2,
            lhs.1,
            rhs.0.as_ptr(),
            rhs.2,
            rhs.1,
            0.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}
