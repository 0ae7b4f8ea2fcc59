//! Parallel loops, natively on every core and in the browser on one thread (wasm has no
//! threads without cross-origin isolation), and the matrix product.

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

/// `for_each_chunk` over two buffers at once: chunk `i` of `a` (`len_a` long) with chunk `i`
/// of `b` (`len_b` long).
pub fn for_each_chunk2<A, B, F>(a: &mut [A], len_a: usize, b: &mut [B], len_b: usize, f: F)
where
    A: Send,
    B: Send,
    F: Fn(usize, &mut [A], &mut [B]) + Sync + Send,
{
    #[cfg(feature = "native")]
    {
        use rayon::prelude::*;
        let pairs = a.par_chunks_mut(len_a).zip(b.par_chunks_mut(len_b));
        pairs.enumerate().for_each(|(i, (a, b))| f(i, a, b));
    }
    #[cfg(not(feature = "native"))]
    a.chunks_mut(len_a)
        .zip(b.chunks_mut(len_b))
        .enumerate()
        .for_each(|(i, (a, b))| f(i, a, b));
}

/// `for_each_chunk` over three buffers at once: chunk `i` of each, `lens` long.
pub fn for_each_chunk3<A, B, C, F>(
    (a, b, c): (&mut [A], &mut [B], &mut [C]),
    [len_a, len_b, len_c]: [usize; 3],
    f: F,
) where
    A: Send,
    B: Send,
    C: Send,
    F: Fn(usize, &mut [A], &mut [B], &mut [C]) + Sync + Send,
{
    let mut ab: Vec<(&mut [A], &mut [B])> = a.chunks_mut(len_a).zip(b.chunks_mut(len_b)).collect();
    for_each_chunk2(&mut ab, 1, c, len_c, |i, ab, c| {
        let (a, b) = &mut ab[0];
        f(i, a, b, c)
    });
}

/// `Σᵢ` of what `add(i, sum)` adds into a `len`-long sum, for `i` in `0..items`.
///
/// The items are cut into a fixed number of groups, each summed on its own and the group sums
/// added in order, so the result is the same on any number of threads (and in the browser).
pub fn sum_over<F>(items: usize, len: usize, add: F) -> Vec<f32>
where
    F: Fn(usize, &mut [f32]) + Sync + Send,
{
    const GROUPS: usize = 8;
    let per_group = items.div_ceil(GROUPS).max(1);
    let mut partial = vec![0.0f32; GROUPS * len];
    for_each_chunk(&mut partial, len, |group, sum| {
        let start = (group * per_group).min(items);
        (start..(start + per_group).min(items)).for_each(|i| add(i, sum));
    });
    let mut total = vec![0.0f32; len];
    for sum in partial.chunks_exact(len) {
        total.iter_mut().zip(sum).for_each(|(t, s)| *t += s);
    }
    total
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

/// `dst[m, n] = lhs[m, k] · rhs[k, n]`, or `+=` with `accumulate`; `dst` row-major. On the
/// calling thread: the kernels call it from their own parallel loops, one image at a time.
pub fn matmul(
    dst: &mut [f32],
    (m, n, k): (usize, usize, usize),
    lhs: Strided,
    rhs: Strided,
    accumulate: bool,
) {
    assert!(dst.len() >= m * n, "matmul: destination too small");
    assert!(
        lhs.fits(m, k) && rhs.fits(k, n),
        "matmul: operand too small"
    );
    // SAFETY: the assertions above keep every index gemm reads or writes inside the slices.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.0.as_ptr(),
            lhs.2,
            lhs.1,
            rhs.0.as_ptr(),
            rhs.2,
            rhs.1,
            if accumulate { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}
