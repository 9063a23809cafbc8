//! Exponentially weighted background moments of one detector column: each folded block
//! of lines enters with weight 1 per pixel while everything before it is discounted by
//! `exp(−lines / memory)`, so the statistics follow a flight line that changes surface
//! without keeping any old line. The products of a block are formed by
//! [`MomentAccumulator::add_block`] about a fixed shift (the first pixel) and summed in
//! f64, so the covariance does not cancel catastrophically.

use crate::{bail, Result};
use plumewatch_core::detect::fixed::ColumnFilter;
use plumewatch_core::stats::{
    BackgroundStats, Cholesky, MomentAccumulator, Normalization, Regularization,
};

/// Weighted first and second moments of one column's background pixels.
#[derive(Debug, Clone)]
pub(crate) struct DecayingMoments {
    bands: usize,
    shift: Option<Vec<f64>>,
    /// Total weight (the effective number of pixels).
    weight: f64,
    /// Whether the past has been discounted (weights below 1).
    discounted: bool,
    sum: Vec<f64>,
    /// Lower triangle of Σ w (x − s)(x − s)ᵀ, row-major `bands × bands`.
    cross: Vec<f64>,
}

impl DecayingMoments {
    pub(crate) fn new(bands: usize) -> Self {
        Self {
            bands,
            shift: None,
            weight: 0.0,
            discounted: false,
            sum: vec![0.0; bands],
            cross: vec![0.0; bands * bands],
        }
    }

    /// Effective number of pixels.
    pub(crate) fn weight(&self) -> f64 {
        self.weight
    }

    /// Discounts everything so far by `factor` (in (0, 1]), then adds the pixels of
    /// `block` (`rows × bands`, band fastest) with weight 1 each.
    pub(crate) fn fold(&mut self, block: &[f32], factor: f64) -> Result<()> {
        let b = self.bands.max(1);
        if block.len() % b != 0 {
            bail!(
                "background rows: expected a multiple of {b} values, got {}",
                block.len()
            );
        }
        let rows: Vec<&[f32]> = block.chunks_exact(b).collect();
        self.fold_rows(&rows, factor)
    }

    /// [`DecayingMoments::fold`] for rows that are not side by side in memory (one
    /// column of the held lines), each `bands` values.
    pub(crate) fn fold_rows(&mut self, block: &[&[f32]], factor: f64) -> Result<()> {
        let rows = block.len();
        if factor < 1.0 {
            self.weight *= factor;
            self.discounted = true;
            self.sum.iter_mut().for_each(|v| *v *= factor);
            self.cross.iter_mut().for_each(|v| *v *= factor);
        }
        if rows == 0 {
            return Ok(());
        }
        let shift = self
            .shift
            .get_or_insert_with(|| block[0].iter().map(|&v| f64::from(v)).collect())
            .clone();
        // The block's products about the same shift, formed by the scan's accumulator.
        let mut acc = MomentAccumulator::with_shift(shift);
        acc.add_rows(block)?;
        let (_, sum, cross) = acc.sums();
        for (a, v) in self.cross.iter_mut().zip(cross) {
            *a += v;
        }
        for (a, v) in self.sum.iter_mut().zip(sum) {
            *a += v;
        }
        self.weight += rows as f64;
        Ok(())
    }

    /// The moments as an accumulator, while nothing has been forgotten yet (every
    /// folded row at weight 1: the warm-up's statistics); `None` before the first
    /// row or once the past has been discounted.
    pub(crate) fn undiscounted(&self) -> Result<Option<MomentAccumulator>> {
        let (Some(shift), false) = (&self.shift, self.discounted) else {
            return Ok(None);
        };
        Ok(Some(MomentAccumulator::from_sums(
            shift.clone(),
            self.weight as u64,
            self.sum.clone(),
            self.cross.clone(),
        )?))
    }

    /// The finished statistics (covariance divided by `weight − 1` for the sample
    /// normalisation, by `weight` for the population one; regularised as asked).
    pub(crate) fn stats(
        &self,
        norm: Normalization,
        reg: Regularization,
    ) -> Result<BackgroundStats> {
        let b = self.bands;
        let w = self.weight;
        let Some(shift) = &self.shift else {
            bail!("background statistics over zero pixels");
        };
        if w <= b as f64 + 1.0 {
            bail!("background statistics over {w:.0} pixels for {b} bands");
        }
        let m: Vec<f64> = self.sum.iter().map(|v| v / w).collect();
        let div = match norm {
            Normalization::Population => w,
            Normalization::Sample => w - 1.0,
        };
        let mut cov = vec![0.0; b * b];
        for i in 0..b {
            for j in 0..=i {
                let v = (self.cross[i * b + j] - w * m[i] * m[j]) / div;
                cov[i * b + j] = v;
                cov[j * b + i] = v;
            }
        }
        let reg = match reg {
            // The fourth moment is not kept; a blend is the stream's shrinkage.
            Regularization::LedoitWolf => Regularization::DiagonalBlend { alpha: 0.01 },
            r => r,
        };
        reg.apply(&mut cov, b, w, None)?;
        let cholesky = Cholesky::factor(&cov, b)?;
        Ok(BackgroundStats {
            count: w.round() as u64,
            mean: m.iter().zip(shift).map(|(a, s)| a + s).collect(),
            covariance: cov,
            cholesky,
        })
    }

    /// The column's matched filter for the unit absorption `a`, with the outlier
    /// scaling of [`plumewatch_core::detect::outlier`] when `outlier_scaling`.
    pub(crate) fn filter(
        &self,
        norm: Normalization,
        reg: Regularization,
        unit_absorption: &[f64],
        outlier_scaling: bool,
    ) -> Result<ColumnFilter> {
        Ok(ColumnFilter::of_background_scaled(
            &self.stats(norm, reg)?,
            unit_absorption,
            outlier_scaling,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pixels(n: usize, b: usize, seed: u64) -> Vec<f32> {
        let mut rng = plumewatch_core::rng::SeededRng::new(seed);
        (0..n * b)
            .map(|i| 10.0 + (i % b) as f32 + rng.normal() as f32)
            .collect()
    }

    /// Without discounting the decaying moments are the plain moments of all pixels.
    #[test]
    fn undiscounted_folds_equal_the_plain_statistics() {
        let b = 5;
        let px = pixels(200, b, 3);
        let mut d = DecayingMoments::new(b);
        for block in px.chunks(b * 16) {
            d.fold(block, 1.0).unwrap();
        }
        let mut acc = MomentAccumulator::new(b);
        acc.add_block(&px, None).unwrap();
        let plain =
            BackgroundStats::from_moments(&acc, Normalization::Sample, Regularization::None, None)
                .unwrap();
        let mine = d
            .stats(Normalization::Sample, Regularization::None)
            .unwrap();
        for (a, e) in mine.mean.iter().zip(&plain.mean) {
            assert!((a - e).abs() < 1e-9, "{a} {e}");
        }
        for (a, e) in mine.covariance.iter().zip(&plain.covariance) {
            assert!((a - e).abs() < 1e-9, "{a} {e}");
        }
    }

    /// One undiscounted fold is, as an accumulator, exactly the moments of its pixels
    /// (the stream reuses the warm-up's first statistics for its emission rates); once
    /// the past is discounted there is no such accumulator.
    #[test]
    fn one_undiscounted_fold_is_the_accumulator_of_its_pixels() {
        let b = 4;
        let px = pixels(300, b, 9);
        let mut d = DecayingMoments::new(b);
        assert!(d.undiscounted().unwrap().is_none(), "no pixels yet");
        d.fold(&px, 1.0).unwrap();
        let mine = d.undiscounted().unwrap().expect("nothing forgotten");
        let mut acc = MomentAccumulator::new(b);
        acc.add_block(&px, None).unwrap();
        assert_eq!(mine.count(), acc.count());
        assert_eq!(mine.sums(), acc.sums(), "bit for bit");
        d.fold(&px[..b * 10], 0.9).unwrap();
        assert!(
            d.undiscounted().unwrap().is_none(),
            "the past was discounted"
        );
    }

    /// After a change of surface the statistics forget the old one at the set rate: a
    /// mean that jumps by 100 is followed to within exp(−k) of the jump after k
    /// memory lengths.
    #[test]
    fn discounted_statistics_follow_a_change_of_surface() {
        let b = 3;
        let mut d = DecayingMoments::new(b);
        let memory = 50.0f64;
        let old = pixels(500, b, 5);
        for line in old.chunks(b) {
            d.fold(line, (-1.0 / memory).exp()).unwrap();
        }
        let new: Vec<f32> = pixels(150, b, 6).iter().map(|v| v + 100.0).collect();
        for line in new.chunks(b) {
            d.fold(line, (-1.0 / memory).exp()).unwrap();
        }
        let s = d
            .stats(Normalization::Sample, Regularization::None)
            .unwrap();
        // 150 lines = 3 memory lengths: the old surface keeps weight e^-3 = 5 %.
        let lag = 110.0 - s.mean[0];
        assert!((lag - 100.0 * (-3.0f64).exp()).abs() < 1.5, "lag {lag}");
    }
}
