//! Beer–Lambert injection of a gas enhancement into radiance.
//!
//! Each pixel's radiance is multiplied, band by band, by the transmittance ratio
//! `T(c)/T(0)` of its enhancement `c`: the gas LUT convolved to the cube's bands
//! ([`crate::target::convolve_lut`]), interpolated linearly in log radiance between the
//! LUT concentrations (the same formula as [`crate::target::transmittance_ratio`],
//! tabulated once so that a pixel costs one `exp` per band). Plumes made this way are
//! physically consistent with the detector's target, which is derived from the same LUT.
//!
//! The enhancement is "LUT-equivalent": no air-mass-factor rescaling for viewing and
//! solar geometry, as in the bundled truth scenes.

use crate::{BandModel, Error, GasLut, LineSource, Result};

/// Transmittance ratios of one gas on one cube's bands, ready to apply per pixel.
#[derive(Debug, Clone)]
pub struct GasTransmittance {
    concentrations_ppm_m: Vec<f64>,
    /// `[band][level]`: ln L(c_level) − ln L(0) per band; empty for bands the gas does
    /// not touch (ratio 1).
    log_ratio: Vec<Vec<f64>>,
}

/// Log-ratios below this in magnitude leave every f32 radiance unchanged (2⁻²⁶: the
/// product moves by less than half a unit in the last place of an f32).
const NO_CHANGE_LOG_RATIO: f64 = 1.0 / (1u64 << 26) as f64;

impl GasTransmittance {
    /// Tabulates the log-radiance ratios from radiance convolved to the bands
    /// (`convolved[level][band]`, as [`crate::target::convolve_lut`] returns it).
    ///
    /// Bands whose convolved radiance is not positive at every level (outside the LUT's
    /// wavelength range) get a ratio of 1.
    ///
    /// # Errors
    /// When there are fewer than two concentrations, they are not strictly increasing,
    /// or the rows do not all have the same number of bands.
    pub fn new(convolved: &[Vec<f64>], concentrations_ppm_m: &[f64]) -> Result<Self> {
        let c = concentrations_ppm_m;
        if c.len() < 2 || convolved.len() != c.len() {
            return Err(Error::Shape {
                what: format!(
                    "gas transmittance: convolved LUT rows (one per concentration, ≥ 2; {} concentrations)",
                    c.len()
                ),
                expected: c.len().max(2),
                got: convolved.len(),
            });
        }
        if c.windows(2)
            .any(|w| w[1].partial_cmp(&w[0]) != Some(std::cmp::Ordering::Greater))
        {
            return Err(Error::Invalid(format!(
                "gas transmittance: LUT concentrations {c:?} ppm·m are not strictly increasing"
            )));
        }
        let nb = convolved[0].len();
        if let Some(row) = convolved.iter().find(|r| r.len() != nb) {
            return Err(Error::Shape {
                what: "gas transmittance: bands in every convolved LUT row".into(),
                expected: nb,
                got: row.len(),
            });
        }
        // ln L at c = 0 by the same interpolation the ratios use.
        let k0 = c.partition_point(|&ci| ci <= 0.0).clamp(1, c.len() - 1) - 1;
        let t0 = (0.0 - c[k0]) / (c[k0 + 1] - c[k0]);
        let log_ratio = (0..nb)
            .map(|b| {
                if convolved.iter().any(|r| !(r[b] > 0.0 && r[b].is_finite())) {
                    return Vec::new();
                }
                let ln: Vec<f64> = convolved.iter().map(|r| r[b].ln()).collect();
                let ln0 = ln[k0] + t0 * (ln[k0 + 1] - ln[k0]);
                ln.iter().map(|v| v - ln0).collect()
            })
            .collect();
        Ok(Self {
            concentrations_ppm_m: c.to_vec(),
            log_ratio,
        })
    }

    /// Convolves `lut` to `bands` and tabulates the ratios.
    pub fn from_lut(lut: &GasLut, bands: &BandModel) -> Result<Self> {
        let convolved = crate::target::convolve_lut(lut, bands)?;
        Self::new(&convolved, &lut.concentrations_ppm_m)
    }

    /// Number of bands the table covers.
    pub fn bands(&self) -> usize {
        self.log_ratio.len()
    }

    fn segment(&self, c: f64) -> (usize, f64) {
        let cs = &self.concentrations_ppm_m;
        let k = cs.partition_point(|&ci| ci <= c).clamp(1, cs.len() - 1) - 1;
        (k, (c - cs[k]) / (cs[k + 1] - cs[k]))
    }

    /// Transmittance ratio T(c)/T(0) of every band at enhancement `c_ppm_m`.
    ///
    /// # Units
    /// `c_ppm_m` in ppm·m; the ratio is dimensionless.
    pub fn ratio(&self, c_ppm_m: f64, out: &mut [f64]) {
        let (k, t) = self.segment(c_ppm_m);
        for (o, lr) in out.iter_mut().zip(&self.log_ratio) {
            *o = if lr.is_empty() {
                1.0
            } else {
                (lr[k] + t * (lr[k + 1] - lr[k])).exp()
            };
        }
    }

    /// Multiplies one line (`samples × bands.len()`, band fastest, the bands given by
    /// their indices into this table) by the transmittance ratio of each sample's
    /// enhancement. Samples with enhancement 0 (or not finite) are left as they are, and
    /// NaN radiance (no data) stays NaN.
    ///
    /// # Errors
    /// When the buffer sizes disagree or a band index is outside the table.
    pub fn apply_line(
        &self,
        line: &mut [f32],
        bands: &[usize],
        enhancement_ppm_m: &[f32],
    ) -> Result<()> {
        let nb = bands.len();
        if line.len() != enhancement_ppm_m.len() * nb {
            return Err(Error::Shape {
                what: "radiance line values (samples × bands)".into(),
                expected: enhancement_ppm_m.len() * nb,
                got: line.len(),
            });
        }
        if let Some(&b) = bands.iter().find(|&&b| b >= self.log_ratio.len()) {
            return Err(Error::Invalid(format!(
                "band index {b} is outside the gas transmittance table ({} bands)",
                self.log_ratio.len()
            )));
        }
        if nb == 0 {
            return Ok(());
        }
        for (px, &c) in line.chunks_exact_mut(nb).zip(enhancement_ppm_m) {
            if c == 0.0 || !c.is_finite() {
                continue;
            }
            let (k, t) = self.segment(c as f64);
            for (v, &b) in px.iter_mut().zip(bands) {
                let lr = &self.log_ratio[b];
                if !lr.is_empty() {
                    let x = lr[k] + t * (lr[k + 1] - lr[k]);
                    // |x| < 2⁻²⁶ moves v by less than half a unit in its last place, so
                    // the f32 result is v itself: skip the exponential (plume tails
                    // cover far more pixels than plume cores).
                    if x.abs() >= NO_CHANGE_LOG_RATIO {
                        *v = (*v as f64 * x.exp()) as f32;
                    }
                }
            }
        }
        Ok(())
    }
}

/// A cube with a gas enhancement injected on the fly: reads lines of `inner` and applies
/// the Beer–Lambert transmittance of `enhancement_ppm_m` (`lines × samples`, row major).
///
/// Lets the detectors run on an injected copy of a cube without writing it to disk.
pub struct InjectedCube<'a, S: LineSource + ?Sized> {
    inner: &'a S,
    transmittance: &'a GasTransmittance,
    enhancement_ppm_m: &'a [f32],
}

impl<'a, S: LineSource + ?Sized> InjectedCube<'a, S> {
    /// Wraps `inner`.
    ///
    /// # Errors
    /// When the enhancement raster or the transmittance table does not match the cube.
    pub fn new(
        inner: &'a S,
        transmittance: &'a GasTransmittance,
        enhancement_ppm_m: &'a [f32],
    ) -> Result<Self> {
        if enhancement_ppm_m.len() != inner.lines() * inner.samples() {
            return Err(Error::Shape {
                what: "enhancement raster pixels (lines × samples)".into(),
                expected: inner.lines() * inner.samples(),
                got: enhancement_ppm_m.len(),
            });
        }
        if transmittance.bands() != inner.bands() {
            return Err(Error::Shape {
                what: "gas transmittance bands (one per cube band)".into(),
                expected: inner.bands(),
                got: transmittance.bands(),
            });
        }
        Ok(Self {
            inner,
            transmittance,
            enhancement_ppm_m,
        })
    }
}

impl<S: LineSource + ?Sized> InjectedCube<'_, S> {
    /// Applies the plumes' transmittance to samples `cols` of line `line`, read into
    /// `out` for `bands`.
    fn inject(
        &self,
        line: usize,
        cols: std::ops::Range<usize>,
        bands: &[usize],
        out: &mut [f32],
    ) -> Result<()> {
        let row = line * self.inner.samples();
        let enh = &self.enhancement_ppm_m[row + cols.start..row + cols.end];
        self.transmittance.apply_line(out, bands, enh)
    }
}

impl<S: LineSource + ?Sized> LineSource for InjectedCube<'_, S> {
    fn lines(&self) -> usize {
        self.inner.lines()
    }
    fn samples(&self) -> usize {
        self.inner.samples()
    }
    fn bands(&self) -> usize {
        self.inner.bands()
    }
    fn read_line(&self, line: usize, bands: &[usize], out: &mut [f32]) -> Result<()> {
        self.inner.read_line(line, bands, out)?;
        self.inject(line, 0..self.inner.samples(), bands, out)
    }
    fn read_line_cols(
        &self,
        line: usize,
        cols: std::ops::Range<usize>,
        bands: &[usize],
        out: &mut [f32],
    ) -> Result<()> {
        self.inner.read_line_cols(line, cols.clone(), bands, out)?;
        self.inject(line, cols, bands, out)
    }
    fn cheap_column_reads(&self) -> bool {
        self.inner.cheap_column_reads()
    }
}
