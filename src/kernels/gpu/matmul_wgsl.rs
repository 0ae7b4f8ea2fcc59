//! The WGSL of a matrix product for the dense layers, written out for its sizes and strides:
//! `c[m, n] = Σ_k a[m, k] · b[k, n] (+ bias[n])`. Each invocation keeps a block of up to 4×4
//! results in registers, so each value it reads serves four products (SwiftShader ran burn's
//! product of the first dense layer at 0.13 GFLOP/s; see `conv_pool_wgsl.rs` on unrolling).

use std::fmt::Write;

use super::ENTRY;

/// A product's sizes, and where `a` and `b` keep element (row, column): `a` at
/// `row·a_row + column·a_col`, likewise `b`; `c` is written row-major.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Product {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub a_row: usize,
    pub a_col: usize,
    pub b_row: usize,
    pub b_col: usize,
    pub bias: bool,
}

impl Product {
    fn block(size: usize) -> usize {
        [4, 2, 1]
            .into_iter()
            .find(|b| size.is_multiple_of(*b))
            .unwrap_or(1)
    }

    /// Rows and columns of `c` per invocation.
    fn blocks(&self) -> (usize, usize) {
        (Self::block(self.m), Self::block(self.n))
    }

    pub fn invocations(&self) -> usize {
        let (r, c) = self.blocks();
        self.m / r * (self.n / c)
    }

    /// Bindings: `a`, `b`, then `bias` when there is one, then `c`.
    pub fn wgsl(&self) -> String {
        let Product {
            m: _,
            n,
            k,
            a_row,
            a_col,
            b_row,
            b_col,
            bias,
        } = *self;
        let (rows, cols) = self.blocks();
        let mut s = String::from(
            "@group(0) @binding(0) var<storage, read> a: array<f32>;\n\
             @group(0) @binding(1) var<storage, read> b: array<f32>;\n",
        );
        if bias {
            s += "@group(0) @binding(2) var<storage, read> bias: array<f32>;\n";
        }
        let _ = writeln!(
            s,
            "@group(0) @binding({}) var<storage, read_write> c: array<f32>;",
            if bias { 3 } else { 2 }
        );
        s += ENTRY;
        let _ = write!(
            s,
            "    if (i >= {}u) {{ return; }}
    // Column blocks fastest: neighbouring lanes read the same rows of a.
    let n0 = (i % {}u) * {cols}u;
    let m0 = (i / {}u) * {rows}u;
",
            self.invocations(),
            n / cols,
            n / cols
        );
        for r in 0..rows {
            for c in 0..cols {
                let _ = writeln!(s, "    var c{r}_{c} = 0.0;");
            }
        }
        let _ = writeln!(s, "    for (var kk = 0u; kk < {k}u; kk++) {{");
        for r in 0..rows {
            let _ = writeln!(
                s,
                "        let a{r} = a[(m0 + {r}u) * {a_row}u + kk * {a_col}u];"
            );
        }
        for c in 0..cols {
            let _ = writeln!(
                s,
                "        let b{c} = b[kk * {b_row}u + (n0 + {c}u) * {b_col}u];"
            );
        }
        for r in 0..rows {
            for c in 0..cols {
                let _ = writeln!(s, "        c{r}_{c} += a{r} * b{c};");
            }
        }
        s += "    }\n";
        for r in 0..rows {
            for c in 0..cols {
                let plus = if bias {
                    format!(" + bias[n0 + {c}u]")
                } else {
                    String::new()
                };
                let _ = writeln!(s, "    c[(m0 + {r}u) * {n}u + n0 + {c}u] = c{r}_{c}{plus};");
            }
        }
        s += "}\n";
        s
    }
}
