//! The detection driver: a whole cube through the detector, column groups in blocks
//! that fit a memory budget or one global group, into [`DetectionMaps`].

use super::fixed::{ColumnFilters, PixelFlags};
use super::group::{detect_group_f32, PixelOutputs};
use super::staging::{group_flags, read_block, runs, PixelReader};
use super::{Algorithm, DetectParams, Grouping};
use crate::raster::NODATA;
use crate::stats::MomentAccumulator;
use crate::VecCube;
use crate::{Error, LineSource, Result};
use rayon::prelude::*;
use std::time::{Duration, Instant};

/// What to detect in a cube: the source, its bands and the gas target.
pub struct CubeInput<'a> {
    /// The radiance cube.
    pub source: &'a dyn LineSource,
    /// Cube band indices (0-based) of the gas window.
    pub window_bands: &'a [usize],
    /// Unit absorption per window band, 1/(ppm·m).
    pub unit_absorption: &'a [f64],
    /// Cube band indices screened for saturation (ignored unless
    /// [`DetectParams::saturation`] is set).
    pub saturation_bands: &'a [usize],
    /// Optional user mask, `lines × samples`, true = leave out of the statistics.
    pub exclude: Option<&'a [bool]>,
}

/// Per-pixel maps of a whole cube, `lines × samples` each (line-major).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DetectionMaps {
    /// Down-track lines.
    pub lines: usize,
    /// Cross-track samples.
    pub samples: usize,
    /// Enhancement, ppm·m.
    pub enhancement: Vec<f32>,
    /// Albedo factor, dimensionless.
    pub albedo: Vec<f32>,
    /// Noise-equivalent enhancement, ppm·m.
    pub sigma: Vec<f32>,
    /// z-score (ACE: signed ACE score).
    pub z: Vec<f32>,
    /// Wall time of the phases that produced the maps.
    pub timings: DetectTimings,
}

/// Wall time of the phases of [`detect_cube`].
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DetectTimings {
    /// Reading the window and screening bands into memory, with each pixel's flags.
    pub read: Duration,
    /// Statistics, detectors and placing the groups' outputs in the maps.
    pub compute: Duration,
}

/// Runs detection over a whole cube.
///
/// Column groups: blocks of adjacent columns are processed in parallel; each block
/// reads its samples of every line straight into one contiguous buffer per group
/// (sources without cheap sample-range reads are first read once into memory), and
/// each group is centred and filtered in place in that buffer. Global statistics:
/// lines are read in parallel and the one group's pixel loops run in parallel.
/// `progress(n)` is called with the number of columns (or, for global statistics,
/// lines) finished since the last call.
///
/// # Memory
/// Column groups: the window bands of one block of columns (whole groups, about
/// 128 MiB of f32, at least one group) plus the four output maps; sources without
/// cheap sample-range reads (GDAL) are first staged whole. Global statistics:
/// the window bands of the whole cube.
pub fn detect_cube(
    input: &CubeInput<'_>,
    params: &DetectParams,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<DetectionMaps> {
    Ok(detect_cube_in_blocks(input, params, progress, BLOCK_BYTES, false)?.0)
}

/// [`detect_cube`] that also returns the per-column matched filters its statistics
/// give ([`ColumnFilters`]: estimate once, apply many), for the matched filter and the
/// albedo-corrected matched filter with column groups of one; `None` for other
/// detectors and groupings. The filters rest on exactly the pixels the maps' statistics
/// rest on (saturation, censored lines and the exclusion mask included), so applying
/// a column's filter to its own pixels gives the maps' values.
pub fn detect_cube_with_filters(
    input: &CubeInput<'_>,
    params: &DetectParams,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(DetectionMaps, Option<ColumnFilters>)> {
    let keep = matches!(
        params.algorithm,
        Algorithm::MatchedFilter | Algorithm::AlbedoMatchedFilter
    ) && params.grouping == Grouping::Columns(1);
    let (maps, kept) = detect_cube_in_blocks(input, params, progress, BLOCK_BYTES, keep)?;
    let filters = match kept {
        Some(k) => Some(ColumnFilters::from_moments(
            k.moments,
            k.flags,
            input.window_bands.len(),
            input.unit_absorption,
            &k.saturation_positions,
            params,
        )?),
        None => None,
    };
    Ok((maps, filters))
}

/// A column group's range, outputs and pixel flags (empty unless statistics are kept).
type GroupResult = ((usize, usize), PixelOutputs, Vec<u8>);

/// What [`detect_cube_with_filters`] keeps of the statistics.
struct Kept {
    /// Moments of each column's background pixels (staged band positions: the window
    /// first, then the saturation bands).
    moments: Vec<Option<MomentAccumulator>>,
    /// Per pixel (map order): [`PixelFlags`] bits.
    flags: Vec<u8>,
    /// Positions of the saturation bands among the staged values.
    saturation_positions: Vec<usize>,
}

/// [`detect_cube`] with column blocks of at most `block_bytes` of window values.
fn detect_cube_in_blocks(
    input: &CubeInput<'_>,
    params: &DetectParams,
    progress: &(dyn Fn(u64) + Sync),
    block_bytes: usize,
    keep: bool,
) -> Result<(DetectionMaps, Option<Kept>)> {
    params.validate()?;
    let src = input.source;
    let (lines, samples) = (src.lines(), src.samples());
    let nb = input.window_bands.len();
    if nb == 0 {
        return Err(Error::Invalid(
            "the gas window holds no bands of this cube".into(),
        ));
    }
    if input.unit_absorption.len() != nb {
        return Err(Error::Shape {
            what: "unit absorption values (one per window band)".into(),
            expected: nb,
            got: input.unit_absorption.len(),
        });
    }
    if let Some(ex) = input.exclude {
        if ex.len() != lines * samples {
            return Err(Error::Shape {
                what: "exclusion mask values (lines × samples)".into(),
                expected: lines * samples,
                got: ex.len(),
            });
        }
    }
    if let Some(&b) = input
        .window_bands
        .iter()
        .chain(input.saturation_bands)
        .find(|&&b| b >= src.bands())
    {
        return Err(Error::Invalid(format!(
            "band index {b} is outside the cube's {} bands",
            src.bands()
        )));
    }
    // Bands to read: the window, then the saturation bands not already in it.
    let mut read_bands = input.window_bands.to_vec();
    let mut sat_pos = Vec::new();
    if params.saturation.is_some() {
        for &b in input.saturation_bands {
            match read_bands.iter().position(|&x| x == b) {
                Some(p) => sat_pos.push(p),
                None => {
                    read_bands.push(b);
                    sat_pos.push(read_bands.len() - 1);
                }
            }
        }
    }
    let reader = PixelReader {
        nb,
        nr: read_bands.len(),
        sat_runs: runs(sat_pos.clone()),
        saturation: params.saturation,
    };
    // Column groups overwrite every value: zeros cost no pass over the maps here (the
    // pages are first touched by the parallel copy of the groups' outputs).
    let fill = match params.grouping {
        Grouping::Columns(_) => 0.0,
        Grouping::Global => NODATA,
    };
    let mut maps = DetectionMaps {
        lines,
        samples,
        enhancement: vec![fill; lines * samples],
        albedo: vec![fill; lines * samples],
        sigma: vec![fill; lines * samples],
        z: vec![fill; lines * samples],
        timings: DetectTimings::default(),
    };
    if lines == 0 || samples == 0 {
        return Ok((maps, None));
    }
    let mut kept = keep.then(|| Kept {
        moments: vec![None; samples],
        flags: vec![0; lines * samples],
        saturation_positions: sat_pos,
    });
    match params.grouping {
        Grouping::Global => {
            detect_global(input, &read_bands, &reader, params, &mut maps)?;
            progress(lines as u64);
        }
        Grouping::Columns(g) => {
            // Sources without cheap sample-range reads are read once into memory (in
            // parallel), then by sample ranges from there.
            let staged;
            let (source, bands): (&dyn LineSource, Vec<usize>) = if src.cheap_column_reads() {
                (src, read_bands.clone())
            } else {
                let t = Instant::now();
                staged = VecCube::from_source(src, &read_bands)?;
                maps.timings.read += t.elapsed();
                (&staged, (0..read_bands.len()).collect())
            };
            detect_columns(
                input,
                source,
                &bands,
                &reader,
                g,
                params,
                progress,
                &mut maps,
                block_bytes,
                kept.as_mut(),
            )?;
        }
    }
    Ok((maps, kept))
}

/// Column groups. Columns are processed in blocks of whole groups that fit a memory
/// budget: each block is first read line by line (lines in parallel, every read a long
/// run of adjacent samples per band, which the hardware prefetchers stream) into one
/// contiguous buffer per group, then its groups are detected in parallel.
#[allow(clippy::too_many_arguments)]
fn detect_columns(
    input: &CubeInput<'_>,
    src: &dyn LineSource,
    read_bands: &[usize],
    reader: &PixelReader,
    g: usize,
    params: &DetectParams,
    progress: &(dyn Fn(u64) + Sync),
    maps: &mut DetectionMaps,
    block_bytes: usize,
    mut kept: Option<&mut Kept>,
) -> Result<()> {
    let (lines, samples) = (maps.lines, maps.samples);
    let nb = reader.nb;
    let block_cols = block_columns(lines, samples, nb, g, block_bytes);
    let mut buf: Vec<f32> = Vec::new();
    let mut ok: Vec<bool> = Vec::new();
    let mut sat: Vec<bool> = Vec::new();
    for b0 in (0..samples).step_by(block_cols) {
        let b1 = (b0 + block_cols).min(samples);
        let width = b1 - b0;
        // Every value is overwritten by the read: reuse the buffer without clearing it.
        // Its pages are zero-filled on first touch, by the parallel readers.
        if buf.len() < lines * width * nb {
            buf = vec![0.0; lines * width * nb];
        }
        ok.resize(lines * width, false);
        sat.resize(lines * width, false);
        let groups: Vec<(usize, usize)> = (0..width)
            .step_by(g)
            .map(|gc0| (gc0, g.min(width - gc0)))
            .collect();
        let t_read = Instant::now();
        read_block(
            src,
            read_bands,
            reader,
            b0..b1,
            &groups,
            &mut buf[..lines * width * nb],
            &mut ok[..lines * width],
            &mut sat[..lines * width],
        )?;
        let t_compute = Instant::now();
        maps.timings.read += t_compute - t_read;
        // One contiguous slice per group (rows in line order, then sample).
        let mut parts = Vec::with_capacity(groups.len());
        let mut rest: &mut [f32] = &mut buf[..lines * width * nb];
        for &(gc0, gw) in &groups {
            let (px, tail) = rest.split_at_mut(lines * gw * nb);
            rest = tail;
            parts.push((gc0, gw, px));
        }
        let (ok, sat) = (&ok[..], &sat[..]);
        let keep = kept.is_some();
        let results: Vec<Result<GroupResult>> = parts
            .into_par_iter()
            .map(|(gc0, gw, px)| {
                let rows = lines * gc0..lines * (gc0 + gw);
                let (c0, c1) = (b0 + gc0, b0 + gc0 + gw);
                let (has_output, in_stats) = group_flags(
                    px,
                    &ok[rows.clone()],
                    &sat[rows],
                    lines,
                    c0,
                    c1,
                    samples,
                    input.exclude,
                    params.censor,
                );
                // Pixels barred from the statistics whatever their values: censored
                // lines (finite but without output) and the user's exclusions.
                let flags = if keep {
                    (0..lines * gw)
                        .map(|r| {
                            let (l, w) = (r / gw, r % gw);
                            let mut f = 0u8;
                            if ok[lines * gc0 + r] && !has_output[r] {
                                f |= PixelFlags::CENSORED;
                            }
                            if input.exclude.is_some_and(|e| e[l * samples + c0 + w]) {
                                f |= PixelFlags::EXCLUDED;
                            }
                            f
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                let res = detect_group_f32(
                    px,
                    nb,
                    &has_output,
                    &in_stats,
                    input.unit_absorption,
                    params,
                    false,
                )?;
                progress(gw as u64);
                Ok(((c0, c1), res, flags))
            })
            .collect();
        let mut results = results.into_iter().collect::<Result<Vec<_>>>()?;
        if let Some(k) = kept.as_deref_mut() {
            for ((c0, c1), res, flags) in &mut results {
                // Groups of one column (the only grouping that keeps statistics).
                if *c1 == *c0 + 1 {
                    k.moments[*c0] = res.moments.take();
                    for (l, f) in flags.iter().enumerate() {
                        k.flags[l * samples + *c0] = *f;
                    }
                }
            }
        }
        let results: Vec<((usize, usize), PixelOutputs)> =
            results.into_iter().map(|(c, r, _)| (c, r)).collect();
        place_group_outputs(maps, &results);
        maps.timings.compute += t_compute.elapsed();
    }
    // Returning the buffer's pages to the system takes milliseconds per 100 MiB: off the
    // caller's path.
    rayon::spawn(move || drop(buf));
    Ok(())
}

/// Copies groups' outputs (rows of their columns `c0..c1`, in line order) into the
/// maps: lines in parallel, each line's row written left to right from every group.
fn place_group_outputs(maps: &mut DetectionMaps, results: &[((usize, usize), PixelOutputs)]) {
    let samples = maps.samples;
    let rows = maps
        .enhancement
        .par_chunks_mut(samples)
        .zip(maps.albedo.par_chunks_mut(samples))
        .zip(maps.sigma.par_chunks_mut(samples))
        .zip(maps.z.par_chunks_mut(samples));
    rows.enumerate().for_each(|(l, (((e, a), s), z))| {
        for &((c0, c1), ref out) in results {
            let j = l * (c1 - c0);
            let n = c1 - c0;
            e[c0..c1].copy_from_slice(&out.enhancement[j..j + n]);
            a[c0..c1].copy_from_slice(&out.albedo[j..j + n]);
            s[c0..c1].copy_from_slice(&out.sigma[j..j + n]);
            z[c0..c1].copy_from_slice(&out.z[j..j + n]);
        }
    });
}

/// Columns per block of [`detect_columns`]: whole groups, as many as fit
/// `block_bytes` of window values (at least one group), split evenly.
fn block_columns(lines: usize, samples: usize, nb: usize, g: usize, block_bytes: usize) -> usize {
    let per_column = (lines * nb * std::mem::size_of::<f32>()).max(1);
    let fit = (block_bytes / per_column).max(1);
    let fit = (g * (fit / g)).max(g).min(samples.max(1));
    let blocks = samples.div_ceil(fit);
    let even = samples.div_ceil(blocks);
    (g * even.div_ceil(g)).max(g)
}

/// Window values held in memory per block of [`detect_columns`].
const BLOCK_BYTES: usize = 128 << 20;

/// One set of statistics for the whole scene; lines read in parallel.
fn detect_global(
    input: &CubeInput<'_>,
    read_bands: &[usize],
    reader: &PixelReader,
    params: &DetectParams,
    maps: &mut DetectionMaps,
) -> Result<()> {
    let (lines, samples) = (maps.lines, maps.samples);
    let nb = reader.nb;
    let t_read = Instant::now();
    let mut px = vec![0f32; lines * samples * nb];
    let mut ok = vec![false; lines * samples];
    let mut sat = vec![false; lines * samples];
    // One group of every column: its rows are the pixels in line order, then sample.
    read_block(
        input.source,
        read_bands,
        reader,
        0..samples,
        &[(0, samples)],
        &mut px,
        &mut ok,
        &mut sat,
    )?;
    let t_compute = Instant::now();
    maps.timings.read = t_compute - t_read;
    let (has_output, in_stats) = group_flags(
        &px,
        &ok,
        &sat,
        lines,
        0,
        samples,
        samples,
        input.exclude,
        params.censor,
    );
    let out = detect_group_f32(
        &mut px,
        nb,
        &has_output,
        &in_stats,
        input.unit_absorption,
        params,
        true,
    )?;
    maps.enhancement = out.enhancement;
    maps.albedo = out.albedo;
    maps.sigma = out.sigma;
    maps.z = out.z;
    maps.timings.compute = t_compute.elapsed();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Algorithm;
    use crate::mask::Saturation;

    /// Blocks of any size (one group per block, uneven blocks, one block) give the same
    /// maps, bit for bit, with no-data pixels, a censored line, saturation screening
    /// bands outside the window and groups that do not divide the columns.
    #[test]
    fn column_blocks_do_not_change_the_result() {
        let (lines, samples, bands) = (60usize, 7usize, 6usize);
        let mut seed = 11u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) as f64 / (1u64 << 31) as f64) as f32
        };
        let mut data: Vec<f32> = (0..lines * samples * bands)
            .map(|i| 10.0 + (i % bands) as f32 + next())
            .collect();
        data[(3 * samples + 4) * bands + 1] = f32::NAN;
        // A saturated pixel (screening band 5 only).
        data[(7 * samples + 1) * bands + 5] = 100.0;
        let (l9, l10) = (9 * samples * bands, 10 * samples * bands);
        let copy = data[l9..l10].to_vec();
        data[l10..l10 + samples * bands].copy_from_slice(&copy);
        let cube = VecCube::new(lines, samples, bands, data).unwrap();
        let window: Vec<usize> = (0..4).collect();
        let ua = vec![-1e-5, -2e-5, -4e-5, -1e-5];
        let input = CubeInput {
            source: &cube,
            window_bands: &window,
            unit_absorption: &ua,
            saturation_bands: &[3, 5],
            exclude: None,
        };
        let per_column = lines * window.len() * 4;
        for algorithm in [Algorithm::MatchedFilter, Algorithm::Mag1c] {
            for g in [1, 2, 3] {
                let params = DetectParams {
                    algorithm,
                    grouping: Grouping::Columns(g),
                    saturation: Some(Saturation {
                        threshold: 50.0,
                        ..Saturation::default()
                    }),
                    ..DetectParams::default()
                };
                let whole = detect_cube_in_blocks(&input, &params, &|_| {}, usize::MAX, false)
                    .unwrap()
                    .0;
                assert_eq!(whole.enhancement[3 * samples + 4], NODATA);
                for budget in [1, per_column * g, per_column * (g + 1), per_column * 5] {
                    let b = detect_cube_in_blocks(&input, &params, &|_| {}, budget, false)
                        .unwrap()
                        .0;
                    for (name, x, y) in [
                        ("enhancement", &b.enhancement, &whole.enhancement),
                        ("albedo", &b.albedo, &whole.albedo),
                        ("sigma", &b.sigma, &whole.sigma),
                        ("z", &b.z, &whole.z),
                    ] {
                        assert!(
                            x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits()),
                            "{algorithm:?}, group {g}, budget {budget}: {name} differs"
                        );
                    }
                }
            }
        }
    }
}
