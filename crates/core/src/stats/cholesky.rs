//! Cholesky factor of a covariance with solves (faer, sequential).

use crate::{Error, Result};
use faer::{MatMut, MatRef, Par};

/// Cholesky factor `L` (lower, `C = L Lᵀ`) of a symmetric positive-definite matrix, in
/// f64, with solves. Factorisation and solves are faer's, sequential (the matrices
/// are small: the bands of one gas window).
#[derive(Debug, Clone, PartialEq)]
pub struct Cholesky {
    n: usize,
    /// Column-major `n × n`, lower triangle.
    l: Vec<f64>,
}

impl Cholesky {
    /// Factors the symmetric `n × n` matrix `a` (row-major; only the lower triangle is
    /// read). Fails with [`Error::Numerical`] when `a` is not positive definite.
    pub fn factor(a: &[f64], n: usize) -> Result<Self> {
        if a.len() != n * n {
            return Err(Error::Shape {
                what: "matrix values".into(),
                expected: n * n,
                got: a.len(),
            });
        }
        // Row-major lower == column-major upper; transpose into column-major lower.
        let mut l = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                l[j * n + i] = a[i * n + j];
            }
        }
        let mut mem = faer::dyn_stack::MemBuffer::new(
            faer::linalg::cholesky::llt::factor::cholesky_in_place_scratch::<f64>(
                n,
                Par::Seq,
                Default::default(),
            ),
        );
        let stack = faer::dyn_stack::MemStack::new(&mut mem);
        let mat = MatMut::from_column_major_slice_mut(&mut l, n, n);
        faer::linalg::cholesky::llt::factor::cholesky_in_place(
            mat,
            Default::default(),
            Par::Seq,
            stack,
            Default::default(),
        )
        .map_err(|e| {
            Error::Numerical(format!(
                "background covariance ({n} × {n}) is not positive definite ({e:?}); \
                 use more pixels (a larger --group), fewer bands, or regularisation"
            ))
        })?;
        for j in 0..n {
            for i in 0..j {
                l[j * n + i] = 0.0;
            }
        }
        Ok(Self { n, l })
    }

    /// Dimension.
    pub fn dim(&self) -> usize {
        self.n
    }

    /// The factor as a faer matrix view.
    pub fn l(&self) -> MatRef<'_, f64> {
        MatRef::from_column_major_slice(&self.l, self.n, self.n)
    }

    /// Solves `C x = v` in place.
    pub fn solve_in_place(&self, v: &mut [f64]) {
        let n = self.n;
        let rhs = MatMut::from_column_major_slice_mut(v, n, 1);
        let mut mem = faer::dyn_stack::MemBuffer::new(faer::dyn_stack::StackReq::EMPTY);
        let stack = faer::dyn_stack::MemStack::new(&mut mem);
        faer::linalg::cholesky::llt::solve::solve_in_place(self.l(), rhs, Par::Seq, stack);
    }

    /// Solves `L y = v` in place (whitening: `‖y‖² = vᵀ C⁻¹ v`).
    pub fn solve_lower_in_place(&self, v: &mut [f64]) {
        let n = self.n;
        let rhs = MatMut::from_column_major_slice_mut(v, n, 1);
        faer::linalg::triangular_solve::solve_lower_triangular_in_place(self.l(), rhs, Par::Seq);
    }

    /// `C⁻¹ v` as a new vector.
    pub fn solve(&self, v: &[f64]) -> Vec<f64> {
        let mut x = v.to_vec();
        self.solve_in_place(&mut x);
        x
    }
}
