//! Unit absorption targets: a gas LUT convolved to a sensor's bands.
//!
//! The method is the published one of mag1c (Foote et al. 2020,
//! `generate_template_from_bands`), reproduced exactly:
//!
//! 1. each band's spectral response is a Gaussian centred on the band centre with
//!    σ = FWHM / (2·√(2·ln 2)), evaluated on the LUT's fine wavelength grid and
//!    normalised to sum to 1 over that grid (a band whose response underflows to zero
//!    everywhere stays all-zero);
//! 2. each LUT radiance row is resampled to the bands with that response;
//! 3. the natural log of the resampled radiance is taken (0 where the radiance is not
//!    positive) and a straight line in concentration is fitted per band by least squares
//!    over every LUT concentration; the slope is the unit absorption, 1/(ppm·m).
//!
//! Bands far outside the LUT's wavelength range therefore get exactly 0, and bands just
//! outside it get the value of the Gaussian tail that reaches into the LUT, as in mag1c.
//! Use [`select_window`] to keep only bands that the LUT really covers.

use crate::{BandModel, Error, GasLut, Result};

/// σ of a Gaussian in units of its FWHM: 1 / (2·√(2·ln 2)).
const SIGMA_PER_FWHM: f64 = 0.424_660_900_144_009_5;

/// Relative weight, as −ln, below which a fine-grid point is left out of a band's
/// response: e⁻⁴⁰ ≈ 4e-18 of the largest weight, below f64 resolution of the sums.
/// Relative to the largest weight *on the grid*, so a band centred outside the LUT
/// keeps the tail that reaches into it (as the reference implementation does).
const NEGLIGIBLE_LOG_WEIGHT: f64 = 40.0;

/// A gas's unit absorption spectrum on a sensor's bands: the matched-filter target.
///
/// # Units
/// `absorption_per_ppm_m[b]` is d ln L / dc for band `b`, in 1/(ppm·m); negative where
/// the gas absorbs (radiance falls as the enhancement rises). mag1c writes the same
/// numbers multiplied by 1e5.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Gas name, e.g. `"ch4"`.
    pub gas: String,
    /// The bands the target is defined on (centre and FWHM, nm).
    pub bands: BandModel,
    /// Unit absorption per band, 1/(ppm·m), one value per band of `bands`.
    pub absorption_per_ppm_m: Vec<f64>,
}

impl Target {
    /// Number of bands.
    pub fn len(&self) -> usize {
        self.absorption_per_ppm_m.len()
    }

    /// True when the target has no bands.
    pub fn is_empty(&self) -> bool {
        self.absorption_per_ppm_m.is_empty()
    }

    /// The target restricted to the given band indices (0-based, into `self.bands`).
    ///
    /// Errors when an index is out of range.
    pub fn subset(&self, indices: &[usize]) -> Result<Self> {
        if let Some(&i) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(Error::Invalid(format!(
                "target {}: band index {i} is outside 0..{}",
                self.gas,
                self.len()
            )));
        }
        Ok(Self {
            gas: self.gas.clone(),
            bands: self.bands.subset(indices),
            absorption_per_ppm_m: indices
                .iter()
                .map(|&i| self.absorption_per_ppm_m[i])
                .collect(),
        })
    }
}

/// The Gaussian spectral response of every band on the LUT's fine grid, normalised to
/// sum 1, stored sparsely as (first fine index, weights).
fn band_responses(wavelength_nm: &[f64], bands: &BandModel) -> Vec<(usize, Vec<f64>)> {
    bands
        .center_nm
        .iter()
        .zip(&bands.fwhm_nm)
        .map(|(&center, &fwhm)| {
            let sigma = fwhm * SIGMA_PER_FWHM;
            let var = sigma * sigma;
            let denom = (2.0 * std::f64::consts::PI * var).sqrt();
            // Distance from the centre to the nearest fine-grid point: the largest weight.
            let d_min = if center < wavelength_nm[0] {
                wavelength_nm[0] - center
            } else if center > wavelength_nm[wavelength_nm.len() - 1] {
                center - wavelength_nm[wavelength_nm.len() - 1]
            } else {
                0.0
            };
            let half = (d_min * d_min + 2.0 * NEGLIGIBLE_LOG_WEIGHT * var).sqrt();
            let start = wavelength_nm.partition_point(|&w| w < center - half);
            let end = wavelength_nm.partition_point(|&w| w <= center + half);
            let mut weights: Vec<f64> = wavelength_nm[start..end]
                .iter()
                .map(|&w| {
                    let d = w - center;
                    (-(d * d) / (2.0 * var)).exp() / denom
                })
                .collect();
            let sum: f64 = weights.iter().sum();
            if sum > 0.0 {
                weights.iter_mut().for_each(|v| *v /= sum);
            }
            (start, weights)
        })
        .collect()
}

/// Checks the LUT and that the band model is not empty.
fn check_inputs(lut: &GasLut, bands: &BandModel) -> Result<()> {
    lut.validate()?;
    if bands.is_empty() {
        return Err(Error::Invalid(format!(
            "unit absorption for {}: the sensor band model has no bands",
            lut.gas
        )));
    }
    if bands.center_nm.len() != bands.fwhm_nm.len() {
        return Err(Error::Shape {
            what: "band model FWHM values (one per band)".into(),
            expected: bands.center_nm.len(),
            got: bands.fwhm_nm.len(),
        });
    }
    Ok(())
}

/// LUT radiance convolved to the bands with each band's normalised Gaussian response.
///
/// The simulator uses it for Beer–Lambert injection (see [`transmittance_ratio`]).
///
/// # Units
/// Same radiance units as the LUT (µW cm⁻² sr⁻¹ nm⁻¹).
///
/// # Array order
/// `[concentration][band]`, concentrations as in `lut.concentrations_ppm_m`.
pub fn convolve_lut(lut: &GasLut, bands: &BandModel) -> Result<Vec<Vec<f64>>> {
    check_inputs(lut, bands)?;
    let responses = band_responses(&lut.wavelength_nm, bands);
    Ok(lut
        .radiance
        .iter()
        .map(|row| {
            responses
                .iter()
                .map(|(start, w)| {
                    row[*start..][..w.len()]
                        .iter()
                        .zip(w)
                        .map(|(r, w)| r * w)
                        .sum()
                })
                .collect()
        })
        .collect())
}

/// The unit absorption spectrum of `lut`'s gas on `bands` (mag1c's method, see the
/// module documentation).
///
/// # Units
/// 1/(ppm·m); negative where the gas absorbs.
///
/// # Errors
/// When the LUT is inconsistent (see [`GasLut::new`]) or `bands` is empty.
///
/// # Example
/// A grey Beer–Lambert absorber, L(c) = L0·exp(k·c), gives back k in every band:
/// ```
/// use plumewatch_core::{unit_absorption, BandModel, GasLut};
/// let k: f64 = -2.5e-6; // 1/(ppm·m)
/// let wl: Vec<f64> = (0..4001).map(|i| 2000.0 + 0.1 * i as f64).collect();
/// let conc = vec![0.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0];
/// let radiance = conc.iter().map(|c| wl.iter().map(|w| 1e-4 * w * (k * c).exp()).collect()).collect();
/// let lut = GasLut::new("grey", conc, wl, radiance)?;
/// let bands = BandModel::new(vec![2200.0, 2300.0], vec![6.0, 8.5])?;
/// let target = unit_absorption(&lut, &bands)?;
/// assert!(target.absorption_per_ppm_m.iter().all(|a| ((a - k) / k).abs() < 1e-10));
/// # Ok::<(), plumewatch_core::Error>(())
/// ```
pub fn unit_absorption(lut: &GasLut, bands: &BandModel) -> Result<Target> {
    let convolved = convolve_lut(lut, bands)?;
    let c = &lut.concentrations_ppm_m;
    let n = c.len() as f64;
    let c_mean = c.iter().sum::<f64>() / n;
    let sxx: f64 = c.iter().map(|ci| (ci - c_mean) * (ci - c_mean)).sum();
    let mut log_rad = vec![0.0; c.len()];
    let absorption_per_ppm_m = (0..bands.len())
        .map(|b| {
            for (k, row) in convolved.iter().enumerate() {
                let v = row[b];
                log_rad[k] = if v > 0.0 { v.ln() } else { 0.0 };
            }
            let y_mean = log_rad.iter().sum::<f64>() / n;
            c.iter()
                .zip(&log_rad)
                .map(|(ci, yi)| (ci - c_mean) * (yi - y_mean))
                .sum::<f64>()
                / sxx
        })
        .collect();
    Ok(Target {
        gas: lut.gas.clone(),
        bands: bands.clone(),
        absorption_per_ppm_m,
    })
}

/// Indices (0-based) of the bands whose centres lie in the window `[lo_nm, hi_nm]`,
/// after checking that the LUT covers every one of them.
///
/// # Errors
/// When the window is empty or reversed, when no band centre falls inside it, or when
/// a band inside it lies outside the LUT's wavelength range (its target would be a
/// Gaussian tail, not a measurement of the gas).
pub fn select_window(
    lut: &GasLut,
    bands: &BandModel,
    lo_nm: f64,
    hi_nm: f64,
) -> Result<Vec<usize>> {
    if !(lo_nm.is_finite() && hi_nm.is_finite() && lo_nm < hi_nm) {
        return Err(Error::Invalid(format!(
            "window {lo_nm}–{hi_nm} nm: expected two finite wavelengths, the first smaller"
        )));
    }
    let (lut_lo, lut_hi) = lut.wavelength_range_nm();
    if hi_nm < lut_lo || lo_nm > lut_hi {
        return Err(Error::Invalid(format!(
            "window {lo_nm}–{hi_nm} nm lies outside the {} LUT's wavelength range \
             {lut_lo:.2}–{lut_hi:.2} nm; choose a window inside it",
            lut.gas
        )));
    }
    let indices = bands.indices_in_window(lo_nm, hi_nm);
    if indices.is_empty() {
        return Err(Error::Invalid(format!(
            "window {lo_nm}–{hi_nm} nm contains no band centre of the sensor ({} bands, {:.2}–{:.2} nm)",
            bands.len(),
            bands.center_nm.iter().copied().fold(f64::INFINITY, f64::min),
            bands.center_nm.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        )));
    }
    if let Some(&i) = indices
        .iter()
        .find(|&&i| bands.center_nm[i] < lut_lo || bands.center_nm[i] > lut_hi)
    {
        return Err(Error::Invalid(format!(
            "window {lo_nm}–{hi_nm} nm: band {} at {:.2} nm lies outside the {} LUT's wavelength \
             range {lut_lo:.2}–{lut_hi:.2} nm; narrow the window to that range",
            i + 1,
            bands.center_nm[i],
            lut.gas
        )));
    }
    Ok(indices)
}

/// Transmittance ratio T(c)/T(0) per band at enhancement `c_ppm_m`, from radiance
/// convolved to the bands ([`convolve_lut`]).
///
/// ln L is interpolated linearly in concentration between the LUT concentrations
/// (linearly extrapolated from the last two beyond the last one, and from the first two
/// below the first one); the ratio is `exp(ln L(c) − ln L(0))`. Bands whose convolved
/// radiance is not positive (outside the LUT) get 1 (no absorption).
///
/// # Units
/// `c_ppm_m` in ppm·m; the result is dimensionless, in (0, 1] for c ≥ 0 where the gas
/// absorbs.
///
/// # Panics
/// When `convolved` does not have one row per concentration, there are fewer than two
/// concentrations, or a row is shorter than `out` (a programming error: both come from
/// the same [`GasLut`]).
pub fn transmittance_ratio(
    convolved: &[Vec<f64>],
    concentrations_ppm_m: &[f64],
    c_ppm_m: f64,
    out: &mut [f64],
) {
    let c = concentrations_ppm_m;
    assert!(
        c.len() >= 2 && convolved.len() == c.len(),
        "transmittance_ratio: {} convolved rows for {} concentrations (need ≥ 2, equal)",
        convolved.len(),
        c.len()
    );
    let segment = |x: f64| -> (usize, f64) {
        // Index k of the segment [c_k, c_k+1] used for x, and the weight of c_k+1.
        let k = c.partition_point(|&ci| ci <= x).clamp(1, c.len() - 1) - 1;
        (k, (x - c[k]) / (c[k + 1] - c[k]))
    };
    let (k1, t1) = segment(c_ppm_m);
    let (k0, t0) = segment(0.0);
    for (b, o) in out.iter_mut().enumerate() {
        let l = |k: usize| convolved[k][b];
        if (0..c.len()).any(|k| l(k) <= 0.0) {
            *o = 1.0;
            continue;
        }
        let ln_at = |k: usize, t: f64| {
            let (a, z) = (l(k).ln(), l(k + 1).ln());
            a + t * (z - a)
        };
        *o = (ln_at(k1, t1) - ln_at(k0, t0)).exp();
    }
}
