//! Gas absorption look-up tables: modelled at-sensor radiance on a fine wavelength grid
//! for several column enhancements of one gas.
//!
//! A [`GasLut`] is plain data; the I/O crate loads it from an ENVI file and a small JSON
//! sidecar (`plumewatch_io::gas_lut`), so more gases are added as data, not code.

use crate::{Error, Result};

/// Column mass per ppm·m of CH4: kg/m² for a 1 ppm·m enhancement, the one conversion
/// from enhancement to mass used by quantification and simulation.
///
/// `1e-6 m × P·M/(R·T)` with P = 101 325 Pa, M = 0.016043 kg/mol, R = 8.314462618 J/(mol K),
/// T = 273.15 K (the value of the shared scenes' `truth_sources.json`).
///
/// # Units
/// kg m⁻² per ppm·m.
pub const PPM_M_TO_KG_M2: f64 = 7.157_589_809_239_604e-7;

/// Column mass per ppm·m for a gas of molar mass `molar_mass_kg_mol` (kg/mol), at
/// 273.15 K and 101 325 Pa ([`PPM_M_TO_KG_M2`] is its value for CH4).
///
/// # Units
/// Returns kg/m² per ppm·m.
pub fn ppm_m_to_kg_m2(molar_mass_kg_mol: f64) -> f64 {
    1e-6 * 101_325.0 * molar_mass_kg_mol / (8.314_462_618 * 273.15)
}

/// A gas absorption look-up table: modelled at-sensor radiance on a fine wavelength grid
/// for several column enhancements.
///
/// # Units
/// - `concentrations_ppm_m`: column enhancement over the background atmosphere, ppm·m.
/// - `wavelength_nm`: fine-grid wavelengths, nm, strictly increasing.
/// - `radiance`: µW cm⁻² sr⁻¹ nm⁻¹ (only ratios and logarithmic slopes are used, so the
///   absolute level does not matter).
///
/// # Array order
/// `radiance[k][j]` is the radiance at concentration `concentrations_ppm_m[k]` and
/// wavelength `wavelength_nm[j]`.
#[derive(Debug, Clone, PartialEq)]
pub struct GasLut {
    /// Gas name in lower case, e.g. `"ch4"`.
    pub gas: String,
    /// Column enhancement of each LUT entry, ppm·m.
    pub concentrations_ppm_m: Vec<f64>,
    /// Fine wavelength grid, nm.
    pub wavelength_nm: Vec<f64>,
    /// Radiance `[concentration][fine wavelength]`, µW cm⁻² sr⁻¹ nm⁻¹.
    pub radiance: Vec<Vec<f64>>,
}

impl GasLut {
    /// Builds a LUT after checking it: at least two concentrations, finite and strictly
    /// increasing; at least two fine wavelengths, finite and strictly increasing; one
    /// radiance row per concentration with one finite value per wavelength.
    pub fn new(
        gas: impl Into<String>,
        concentrations_ppm_m: Vec<f64>,
        wavelength_nm: Vec<f64>,
        radiance: Vec<Vec<f64>>,
    ) -> Result<Self> {
        let lut = Self {
            gas: gas.into(),
            concentrations_ppm_m,
            wavelength_nm,
            radiance,
        };
        lut.validate()?;
        Ok(lut)
    }

    /// Checks the invariants listed at [`GasLut::new`] (useful after building the struct
    /// literally).
    pub fn validate(&self) -> Result<()> {
        let gas = &self.gas;
        if gas.trim().is_empty() {
            return Err(Error::Invalid("gas LUT: the gas name is empty".into()));
        }
        check_increasing(
            &self.concentrations_ppm_m,
            &format!("gas LUT {gas}: concentrations (ppm·m)"),
        )?;
        check_increasing(
            &self.wavelength_nm,
            &format!("gas LUT {gas}: wavelengths (nm)"),
        )?;
        if self.radiance.len() != self.concentrations_ppm_m.len() {
            return Err(Error::Shape {
                what: format!("gas LUT {gas}: radiance rows (one per concentration)"),
                expected: self.concentrations_ppm_m.len(),
                got: self.radiance.len(),
            });
        }
        for (k, row) in self.radiance.iter().enumerate() {
            if row.len() != self.wavelength_nm.len() {
                return Err(Error::Shape {
                    what: format!(
                        "gas LUT {gas}: radiance values at {} ppm·m (one per wavelength)",
                        self.concentrations_ppm_m[k]
                    ),
                    expected: self.wavelength_nm.len(),
                    got: row.len(),
                });
            }
            if let Some((j, v)) = row.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(Error::Invalid(format!(
                    "gas LUT {gas}: radiance at {} ppm·m, {} nm is {v}; expected a finite number",
                    self.concentrations_ppm_m[k], self.wavelength_nm[j]
                )));
            }
        }
        Ok(())
    }

    /// First and last wavelength of the fine grid, nm.
    pub fn wavelength_range_nm(&self) -> (f64, f64) {
        (
            self.wavelength_nm.first().copied().unwrap_or(f64::NAN),
            self.wavelength_nm.last().copied().unwrap_or(f64::NAN),
        )
    }
}

/// Errors unless `values` has at least two entries, all finite and strictly increasing.
fn check_increasing(values: &[f64], what: &str) -> Result<()> {
    if values.len() < 2 {
        return Err(Error::Invalid(format!(
            "{what}: {} value(s); expected at least 2",
            values.len()
        )));
    }
    if let Some(v) = values.iter().find(|v| !v.is_finite()) {
        return Err(Error::Invalid(format!(
            "{what}: {v} is not a finite number"
        )));
    }
    if let Some(i) = (1..values.len()).find(|&i| values[i] <= values[i - 1]) {
        return Err(Error::Invalid(format!(
            "{what}: value {} ({}) is not greater than the one before ({}); expected strictly increasing values",
            i + 1,
            values[i],
            values[i - 1]
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_unsorted_concentrations_and_ragged_rows() {
        let wl = vec![1.0, 2.0, 3.0];
        let e = GasLut::new("ch4", vec![0.0, 0.0], wl.clone(), vec![vec![1.0; 3]; 2]);
        assert!(e.unwrap_err().to_string().contains("strictly increasing"));
        let e = GasLut::new(
            "ch4",
            vec![0.0, 1.0],
            wl.clone(),
            vec![vec![1.0; 3], vec![1.0]],
        );
        assert!(e.unwrap_err().to_string().contains("one per wavelength"));
        let ok = GasLut::new("ch4", vec![0.0, 1.0], wl, vec![vec![1.0; 3]; 2]).unwrap();
        assert_eq!(ok.wavelength_range_nm(), (1.0, 3.0));
    }

    #[test]
    fn conversion_constant_from_ideal_gas() {
        assert!((ppm_m_to_kg_m2(0.016043) / PPM_M_TO_KG_M2 - 1.0).abs() < 1e-6);
    }
}
