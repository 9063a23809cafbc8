//! Which pixels the background statistics may use, and which get no output.
//!
//! - **No data**: a pixel with any non-finite value in the bands used (sources return
//!   NaN for their no-data value) gets no output and is left out of the statistics.
//! - **Saturation** (mag1c's `get_saturation_mask`): a pixel with any radiance above a
//!   threshold (default 6.0 µW cm⁻² sr⁻¹ nm⁻¹) in 1945–2485 nm is left out of the
//!   statistics but is still filtered with the statistics of the others.
//! - **Censored lines** (mag1c's `get_censor_mask`): lines that repeat the previous
//!   line exactly over a whole column group (dropped frames filled by the ground
//!   system) and their neighbours get no output and are left out of the statistics.
//!   mag1c also always censors the first and last line of every column group; that
//!   quirk is reproduced only by [`CensorRule::Mag1cExact`] (for parity tests).

/// How censored lines are found in a column group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CensorRule {
    /// No line is censored.
    None,
    /// mag1c's rule without its edge quirk: where line `i + 1` equals line `i` in every
    /// sample and band of the group, lines `i − 1 … i + 2` are censored.
    #[default]
    Repeated,
    /// mag1c 1.2.0 exactly: [`CensorRule::Repeated`] plus the first and last line.
    Mag1cExact,
}

/// Saturation screening (mag1c's defaults: threshold 6.0, window 1945–2485 nm).
///
/// # Units
/// `threshold` in µW cm⁻² sr⁻¹ nm⁻¹, window in nm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Saturation {
    /// Radiance above which a band counts as saturated.
    pub threshold: f32,
    /// Lower wavelength of the screened window, nm.
    pub window_lo_nm: f64,
    /// Upper wavelength of the screened window, nm.
    pub window_hi_nm: f64,
}

impl Default for Saturation {
    fn default() -> Self {
        Self {
            threshold: 6.0,
            window_lo_nm: 1945.0,
            window_hi_nm: 2485.0,
        }
    }
}

impl Saturation {
    /// True when any of `values` (the pixel's radiance in the screened bands) exceeds
    /// the threshold.
    pub fn is_saturated(&self, values: &[f32]) -> bool {
        values.iter().any(|&v| v > self.threshold)
    }
}

/// Censored lines of one column group.
///
/// `group` holds the group's pixels line by line (`lines × width × bands`, band
/// fastest); returns one flag per line.
pub fn censored_lines<T: PartialEq + Copy>(
    group: &[T],
    lines: usize,
    rule: CensorRule,
) -> Vec<bool> {
    let mut out = vec![false; lines];
    if rule == CensorRule::None || lines == 0 {
        return out;
    }
    let per_line = group.len() / lines;
    // repeat[i]: line i + 1 equals line i everywhere (mag1c: np.diff == 0, all).
    let repeat: Vec<bool> = (0..lines.saturating_sub(1))
        .map(|i| {
            let a = &group[i * per_line..(i + 1) * per_line];
            let b = &group[(i + 1) * per_line..(i + 2) * per_line];
            a == b
        })
        .collect();
    for (i, flag) in out.iter_mut().enumerate() {
        // mag1c ORs four shifted copies of `repeat`: [0,0]+r[:-1], r[1:]+[0,0],
        // [1]+r, r+[1]. Index i is set by r[i-2], r[i+1], r[i-1], r[i].
        let r = |k: isize| -> bool { k >= 0 && (k as usize) < repeat.len() && repeat[k as usize] };
        let i = i as isize;
        *flag = r(i - 2) || r(i + 1) || r(i - 1) || r(i);
    }
    if rule == CensorRule::Mag1cExact {
        out[0] = true;
        out[lines - 1] = true;
    }
    out
}

/// Indices of the bands screened for saturation (centres in the window of `sat`).
pub fn saturation_bands(wavelength_nm: &[f64], sat: &Saturation) -> Vec<usize> {
    crate::bands::bands_in_window(wavelength_nm, None, sat.window_lo_nm, sat.window_hi_nm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_line_censors_its_neighbours() {
        // 8 lines, one value each; line 4 repeats line 3.
        let g = [1.0f32, 2.0, 3.0, 4.0, 4.0, 6.0, 7.0, 8.0];
        let c = censored_lines(&g, 8, CensorRule::Repeated);
        assert_eq!(c, [false, false, true, true, true, true, false, false]);
        let m = censored_lines(&g, 8, CensorRule::Mag1cExact);
        assert_eq!(m, [true, false, true, true, true, true, false, true]);
        let n = censored_lines(&g, 8, CensorRule::None);
        assert!(n.iter().all(|&x| !x));
    }

    #[test]
    fn saturation_threshold() {
        let s = Saturation::default();
        assert!(s.is_saturated(&[0.1, 6.5]));
        assert!(!s.is_saturated(&[0.1, 5.9]));
    }
}
