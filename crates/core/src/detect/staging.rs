//! Staging: reading the window (and saturation screening) bands of blocks of columns
//! into one contiguous buffer per group, with each pixel's output and statistics flags.

use crate::mask::{censored_lines, CensorRule, Saturation};
use crate::{LineSource, Result};
use rayon::prelude::*;

/// How one pixel's values, read in the window bands and then the extra saturation
/// bands, become window values and flags.
pub(super) struct PixelReader {
    /// Window bands (the first `nb` values read).
    pub(super) nb: usize,
    /// Values read per pixel.
    pub(super) nr: usize,
    /// Positions of the saturation bands among the values read, as runs of adjacent
    /// positions (a few slices to scan instead of a gather per band).
    pub(super) sat_runs: Vec<std::ops::Range<usize>>,
    pub(super) saturation: Option<Saturation>,
}

impl PixelReader {
    /// (has output: all window values finite, saturated).
    pub(super) fn flags(&self, px: &[f32]) -> (bool, bool) {
        // Folds without early exit: branch-free, vectorised.
        let ok = px[..self.nb].iter().fold(true, |a, v| a & v.is_finite());
        let saturated = match self.saturation {
            Some(s) => self.sat_runs.iter().fold(false, |a, r| {
                a | px[r.clone()]
                    .iter()
                    .fold(false, |a, &v| a | (v > s.threshold))
            }),
            None => false,
        };
        (ok, saturated)
    }
}

/// Sorted positions as runs of adjacent positions.
pub(super) fn runs(mut pos: Vec<usize>) -> Vec<std::ops::Range<usize>> {
    pos.sort_unstable();
    pos.dedup();
    let mut out: Vec<std::ops::Range<usize>> = Vec::new();
    for p in pos {
        match out.last_mut() {
            Some(r) if r.end == p => r.end = p + 1,
            _ => out.push(p..p + 1),
        }
    }
    out
}

/// Flags of one group: output where the window values are finite and the line is not
/// censored; statistics where also not saturated and not excluded by the user.
#[allow(clippy::too_many_arguments)]
pub(super) fn group_flags(
    px: &[f32],
    ok: &[bool],
    saturated: &[bool],
    lines: usize,
    c0: usize,
    c1: usize,
    samples: usize,
    exclude: Option<&[bool]>,
    censor: CensorRule,
) -> (Vec<bool>, Vec<bool>) {
    let width = c1 - c0;
    let mut has_output = ok.to_vec();
    let mut in_stats: Vec<bool> = (0..lines * width)
        .map(|r| {
            let (l, w) = (r / width, r % width);
            let excluded = exclude.is_some_and(|e| e[l * samples + c0 + w]);
            ok[r] && !saturated[r] && !excluded
        })
        .collect();
    let censored = censored_lines(px, lines, censor);
    for (l, &c) in censored.iter().enumerate() {
        if c {
            has_output[l * width..(l + 1) * width].fill(false);
            in_stats[l * width..(l + 1) * width].fill(false);
        }
    }
    (has_output, in_stats)
}

/// Reads samples `cols` of every line into per-group buffers (`groups` are (first
/// column in the block, width); group rows in line order, then sample) with each
/// pixel's flags; lines in parallel.
#[allow(clippy::too_many_arguments)]
pub(super) fn read_block(
    src: &dyn LineSource,
    read_bands: &[usize],
    reader: &PixelReader,
    cols: std::ops::Range<usize>,
    groups: &[(usize, usize)],
    buf: &mut [f32],
    ok: &mut [bool],
    sat: &mut [bool],
) -> Result<()> {
    let (nb, nr) = (reader.nb, reader.nr);
    let lines = ok.len() / cols.len().max(1);
    const LINES_PER_TASK: usize = 32;
    // Task t owns lines [t·LPT, (t+1)·LPT) of every group: split each group's slices
    // into those line ranges and hand every task its slice of each group.
    let tasks = lines.div_ceil(LINES_PER_TASK);
    let mut per_task: Vec<Vec<GroupLines<'_>>> = (0..tasks)
        .map(|_| Vec::with_capacity(groups.len()))
        .collect();
    let (mut rb, mut ro, mut rs) = (buf, ok, sat);
    for &(_, gw) in groups {
        let (gb, tb) = rb.split_at_mut(lines * gw * nb);
        let (go, to) = ro.split_at_mut(lines * gw);
        let (gs, ts) = rs.split_at_mut(lines * gw);
        (rb, ro, rs) = (tb, to, ts);
        for (t, ((b, o), s)) in gb
            .chunks_mut(LINES_PER_TASK * gw * nb)
            .zip(go.chunks_mut(LINES_PER_TASK * gw))
            .zip(gs.chunks_mut(LINES_PER_TASK * gw))
            .enumerate()
        {
            per_task[t].push((b, o, s));
        }
    }
    let width = cols.len();
    per_task
        .into_par_iter()
        .enumerate()
        .try_for_each(|(t, mut parts)| -> Result<()> {
            let mut line = vec![0f32; width * nr];
            let l0 = t * LINES_PER_TASK;
            for l in l0..(l0 + LINES_PER_TASK).min(lines) {
                src.read_line_cols(l, cols.clone(), read_bands, &mut line)?;
                for (&(gc0, gw), (b, o, s)) in groups.iter().zip(parts.iter_mut()) {
                    let r0 = (l - l0) * gw;
                    let src_px = &line[gc0 * nr..(gc0 + gw) * nr];
                    for (w, px) in src_px.chunks_exact(nr).enumerate() {
                        let r = r0 + w;
                        b[r * nb..(r + 1) * nb].copy_from_slice(&px[..nb]);
                        (o[r], s[r]) = reader.flags(px);
                    }
                }
            }
            Ok(())
        })
}

/// One task's share of one group in [`read_block`]: window values, output flags and
/// saturation flags of a range of lines.
pub(super) type GroupLines<'a> = (&'a mut [f32], &'a mut [bool], &'a mut [bool]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saturation_runs_flag_exactly_the_screening_positions() {
        assert_eq!(runs(vec![6, 1, 2, 5, 9, 2, 10]), vec![1..3, 5..7, 9..11]);
        assert!(runs(Vec::new()).is_empty());
        let reader = PixelReader {
            nb: 4,
            nr: 7,
            sat_runs: runs(vec![1, 2, 5, 6]),
            saturation: Some(Saturation {
                threshold: 10.0,
                ..Saturation::default()
            }),
        };
        let base = [1.0f32; 7];
        assert_eq!(reader.flags(&base), (true, false));
        for p in 0..7 {
            let mut px = base;
            px[p] = 11.0;
            let screened = [1, 2, 5, 6].contains(&p);
            assert_eq!(reader.flags(&px), (true, screened), "position {p}");
        }
        let mut px = base;
        px[2] = f32::NAN;
        assert_eq!(reader.flags(&px), (false, false));
        px[2] = 1.0;
        px[6] = f32::NAN;
        assert_eq!(reader.flags(&px), (true, false), "NaN outside the window");
    }
}
