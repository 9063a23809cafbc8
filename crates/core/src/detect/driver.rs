//! The detection driver: a whole cube through the detector, column groups or tiles in
//! blocks that fit a memory budget, or one global group, into [`DetectionMaps`].

use super::fixed::{ColumnFilters, PixelFlags};
use super::group::{detect_group_f32, PixelOutputs};
use super::staging::{group_flags, read_block, runs, PixelReader};
use super::{tile_ranges, Algorithm, DetectParams, Grouping};
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
/// each group is centred and filtered in place in that buffer. Tiles: as column
/// groups, one per tile column, each split down-track into its tiles (detected in
/// parallel, each with its own statistics). Global statistics: lines are read in
/// parallel and the one group's pixel loops run in parallel.
/// `progress(n)` is called with the number of columns (or, for global statistics,
/// lines) finished since the last call.
///
/// # Memory
/// Column groups and tiles: the window bands of one block of columns (whole groups or
/// tile columns, about 128 MiB of f32, at least one) plus the four output maps; sources
/// without cheap sample-range reads (GDAL) are first staged whole. Global statistics:
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
    if let Grouping::Tiles(n) = params.grouping {
        if n > lines || n > samples {
            return Err(Error::Invalid(format!(
                "statistics tiles:{n}: {n} × {n} tiles need at least {n} lines and {n} samples, and the scene has {lines} lines × {samples} samples (expected fewer tiles)"
            )));
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
        Grouping::Columns(_) | Grouping::Tiles(_) => 0.0,
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
        Grouping::Columns(_) | Grouping::Tiles(_) => {
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
            let plan = block_plan(params.grouping, lines, samples, nb, block_bytes);
            detect_columns(
                input,
                source,
                &bands,
                &reader,
                &plan,
                params,
                progress,
                &mut maps,
                kept.as_mut(),
            )?;
        }
    }
    Ok((maps, kept))
}

/// A block's sample range and its column strips (first column in the block, width).
type Block = (std::ops::Range<usize>, Vec<(usize, usize)>);

/// How [`detect_columns`] walks a scene: blocks of adjacent columns that fit the
/// memory budget, the column strips of each block, and the split of every strip
/// down-track into statistics groups.
struct BlockPlan {
    /// Sample range of each block, with its strips (first column in the block, width).
    blocks: Vec<Block>,
    /// Line ranges of the statistics groups of every strip: all lines for column
    /// groups, one range per tile row for tiles.
    rows: Vec<std::ops::Range<usize>>,
}

/// The [`BlockPlan`] of `grouping`: column groups of `g` columns (the last one
/// narrower) in blocks of [`block_columns`]; tiles as strips of [`tile_ranges`]
/// columns, as many whole strips per block as fit `block_bytes` (at least one), each
/// split into the tile rows. `Global` is one tile.
fn block_plan(
    grouping: Grouping,
    lines: usize,
    samples: usize,
    nb: usize,
    block_bytes: usize,
) -> BlockPlan {
    let n = match grouping {
        Grouping::Columns(g) => {
            let block_cols = block_columns(lines, samples, nb, g, block_bytes);
            let blocks = (0..samples)
                .step_by(block_cols)
                .map(|b0| {
                    let width = block_cols.min(samples - b0);
                    let groups = (0..width)
                        .step_by(g)
                        .map(|gc0| (gc0, g.min(width - gc0)))
                        .collect();
                    (b0..b0 + width, groups)
                })
                .collect();
            return BlockPlan {
                blocks,
                rows: std::iter::once(0..lines).collect(),
            };
        }
        Grouping::Tiles(n) => n,
        Grouping::Global => 1,
    };
    let per_column = (lines * nb * std::mem::size_of::<f32>()).max(1);
    let mut blocks: Vec<Block> = Vec::new();
    for strip in tile_ranges(samples, n) {
        match blocks.last_mut() {
            Some((cols, groups)) if (strip.end - cols.start) * per_column <= block_bytes => {
                groups.push((strip.start - cols.start, strip.len()));
                cols.end = strip.end;
            }
            _ => blocks.push((strip.clone(), vec![(0, strip.len())])),
        }
    }
    BlockPlan {
        blocks,
        rows: tile_ranges(lines, n),
    }
}

/// Column groups and tiles. Columns are processed in blocks of whole column strips
/// (column groups, or the columns of one tile column) that fit a memory budget: each
/// block is first read line by line (lines in parallel, every read a long run of
/// adjacent samples per band, which the hardware prefetchers stream) into one
/// contiguous buffer per strip, then its strips are detected in parallel. A strip's
/// rows are in line order, so each tile of a strip is a contiguous part of its buffer,
/// detected in place (tiles in parallel).
#[allow(clippy::too_many_arguments)]
fn detect_columns(
    input: &CubeInput<'_>,
    src: &dyn LineSource,
    read_bands: &[usize],
    reader: &PixelReader,
    plan: &BlockPlan,
    params: &DetectParams,
    progress: &(dyn Fn(u64) + Sync),
    maps: &mut DetectionMaps,
    mut kept: Option<&mut Kept>,
) -> Result<()> {
    let (lines, samples) = (maps.lines, maps.samples);
    let nb = reader.nb;
    let mut buf: Vec<f32> = Vec::new();
    let mut ok: Vec<bool> = Vec::new();
    let mut sat: Vec<bool> = Vec::new();
    for (cols, groups) in &plan.blocks {
        let (b0, b1) = (cols.start, cols.end);
        let width = b1 - b0;
        // Every value is overwritten by the read: reuse the buffer without clearing it.
        // Its pages are zero-filled on first touch, by the parallel readers.
        if buf.len() < lines * width * nb {
            buf = vec![0.0; lines * width * nb];
        }
        ok.resize(lines * width, false);
        sat.resize(lines * width, false);
        let t_read = Instant::now();
        read_block(
            src,
            read_bands,
            reader,
            b0..b1,
            groups,
            &mut buf[..lines * width * nb],
            &mut ok[..lines * width],
            &mut sat[..lines * width],
        )?;
        let t_compute = Instant::now();
        maps.timings.read += t_compute - t_read;
        // One contiguous slice per strip (rows in line order, then sample).
        let mut parts = Vec::with_capacity(groups.len());
        let mut rest: &mut [f32] = &mut buf[..lines * width * nb];
        for &(gc0, gw) in groups {
            let (px, tail) = rest.split_at_mut(lines * gw * nb);
            rest = tail;
            parts.push((gc0, gw, px));
        }
        let (ok, sat) = (&ok[..], &sat[..]);
        let keep = kept.is_some();
        // Few large tiles split their pixel loops over threads instead.
        let tasks = groups.len() * plan.rows.len();
        let parallel_tiles = plan.rows.len() > 1 && tasks < rayon::current_num_threads();
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
                let res = if plan.rows.len() == 1 {
                    detect_group_f32(
                        px,
                        nb,
                        &has_output,
                        &in_stats,
                        input.unit_absorption,
                        params,
                        false,
                    )?
                } else {
                    let strip = Strip {
                        px,
                        width: gw,
                        has_output: &has_output,
                        in_stats: &in_stats,
                    };
                    detect_tiles(strip, &plan.rows, nb, input, params, parallel_tiles)?
                };
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

/// One column strip of a block: its pixels (rows in line order, then sample) and
/// their flags.
struct Strip<'a> {
    px: &'a mut [f32],
    width: usize,
    has_output: &'a [bool],
    in_stats: &'a [bool],
}

/// Detects the tiles of one strip (line ranges `rows`, in order), each with its own
/// statistics, in parallel; their outputs, concatenated, are the strip's in line
/// order. A tile without enough usable pixels (a nodata collar) gets no output.
fn detect_tiles(
    strip: Strip<'_>,
    rows: &[std::ops::Range<usize>],
    nb: usize,
    input: &CubeInput<'_>,
    params: &DetectParams,
    parallel: bool,
) -> Result<PixelOutputs> {
    let w = strip.width;
    let mut tiles = Vec::with_capacity(rows.len());
    let mut rest = strip.px;
    for r in rows {
        let (px, tail) = rest.split_at_mut(r.len() * w * nb);
        rest = tail;
        let flags = r.start * w..r.end * w;
        tiles.push((px, &strip.has_output[flags.clone()], &strip.in_stats[flags]));
    }
    let outputs = tiles
        .into_par_iter()
        .map(|(px, has_output, in_stats)| {
            detect_group_f32(
                px,
                nb,
                has_output,
                in_stats,
                input.unit_absorption,
                params,
                parallel,
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let n = strip.has_output.len();
    let mut out = PixelOutputs {
        enhancement: Vec::with_capacity(n),
        albedo: Vec::with_capacity(n),
        sigma: Vec::with_capacity(n),
        z: Vec::with_capacity(n),
        moments: None,
    };
    for t in outputs {
        out.enhancement.extend(t.enhancement);
        out.albedo.extend(t.albedo);
        out.sigma.extend(t.sigma);
        out.z.extend(t.z);
    }
    Ok(out)
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

    /// Window bands of the tile scenes and their unit absorption, 1/(ppm·m).
    const TILE_BANDS: usize = 8;

    fn tile_unit_absorption() -> Vec<f64> {
        (0..TILE_BANDS)
            .map(|b| -1e-5 * (1.0 + (b % 3) as f64))
            .collect()
    }

    /// Background mean spectrum (radiance) of the left (`0`) and right (`1`) half of
    /// the tile scenes: the right half is a surface of another spectral shape, about
    /// one noise standard deviation away from the left in every band.
    fn half_mean(half: usize) -> Vec<f64> {
        (0..TILE_BANDS)
            .map(|b| {
                let left = 10.0 + 2.0 * (b as f64).sin();
                match half {
                    0 => left,
                    _ => left * (1.0 - 0.004 * (1.0 + (b % 3) as f64)) + 0.025 * (b as f64).cos(),
                }
            })
            .collect()
    }

    /// A scene whose left half (samples below `samples / 2`) and right half have
    /// different backgrounds: their own mean spectrum and their own noise covariance
    /// (band-dependent noise plus a component common to all bands, of opposite sign
    /// and size in the two halves). Band fastest, `lines × samples × TILE_BANDS`.
    fn two_half_scene(lines: usize, samples: usize, seed: u64) -> Vec<f32> {
        let mut rng = crate::rng::SeededRng::new(seed);
        let means = [half_mean(0), half_mean(1)];
        let mut data = Vec::with_capacity(lines * samples * TILE_BANDS);
        for _ in 0..lines {
            for s in 0..samples {
                let half = usize::from(s >= samples / 2);
                let common = rng.normal();
                for (b, m) in means[half].iter().enumerate() {
                    let own = rng.normal();
                    let v = match half {
                        0 => m + 0.05 * own + 0.025 * common,
                        _ => m + 0.025 * (1.0 + b as f64 / 4.0) * own - 0.075 * common,
                    };
                    data.push(v as f32);
                }
            }
        }
        data
    }

    /// A tile-test cube with every band in the window and the tile target.
    struct TileScene {
        cube: VecCube,
        window: Vec<usize>,
        ua: Vec<f64>,
    }

    impl TileScene {
        fn new(data: Vec<f32>, lines: usize, samples: usize) -> Self {
            Self {
                cube: VecCube::new(lines, samples, TILE_BANDS, data).unwrap(),
                window: (0..TILE_BANDS).collect(),
                ua: tile_unit_absorption(),
            }
        }

        fn input(&self) -> CubeInput<'_> {
            CubeInput {
                source: &self.cube,
                window_bands: &self.window,
                unit_absorption: &self.ua,
                saturation_bands: &[],
                exclude: None,
            }
        }
    }

    fn detect_scene(
        data: &[f32],
        lines: usize,
        samples: usize,
        params: &DetectParams,
    ) -> DetectionMaps {
        let scene = TileScene::new(data.to_vec(), lines, samples);
        detect_cube(&scene.input(), params, &|_| {}).unwrap()
    }

    /// Mean of `values` over the pixels of lines `rows` and samples `cols`.
    fn block_mean(
        values: &[f32],
        samples: usize,
        rows: std::ops::Range<usize>,
        cols: std::ops::Range<usize>,
    ) -> f64 {
        let mut sum = 0.0;
        let mut n = 0usize;
        for l in rows {
            for s in cols.clone() {
                sum += f64::from(values[l * samples + s]);
                n += 1;
            }
        }
        sum / n as f64
    }

    #[test]
    fn tile_ranges_give_the_remainder_to_the_last_tile() {
        assert_eq!(tile_ranges(10, 4), vec![0..2, 2..4, 4..6, 6..10]);
        assert_eq!(tile_ranges(8, 2), vec![0..4, 4..8]);
        assert_eq!(tile_ranges(5, 1), vec![0..5]);
        assert!(tile_ranges(5, 0).is_empty());
    }

    /// Physics: the matched filter's response to the background is zero on average
    /// where the statistics are those of the pixels it is applied to. Two halves of
    /// different background (mean and covariance) split down-track: tiles that each
    /// lie in one half give a mean response of zero in every tile; one global set of
    /// statistics leaves each half with a bias (its mean minus the scene's, seen
    /// through the filter). A plume of known enhancement added to four pixels is
    /// recovered by the tiles with that amplitude.
    #[test]
    fn tiles_zero_the_background_response_of_each_half_and_recover_a_plume() {
        let (lines, samples) = (160usize, 40usize);
        let data = two_half_scene(lines, samples, 5);
        let base = DetectParams {
            algorithm: Algorithm::MatchedFilter,
            precision: crate::detect::Precision::F64,
            ..DetectParams::default()
        };
        let tiles = detect_scene(
            &data,
            lines,
            samples,
            &DetectParams {
                grouping: Grouping::Tiles(2),
                ..base.clone()
            },
        );
        let global = detect_scene(
            &data,
            lines,
            samples,
            &DetectParams {
                grouping: Grouping::Global,
                ..base.clone()
            },
        );
        let (h, w) = (lines / 2, samples / 2);
        for (rows, cols) in [
            (0..h, 0..w),
            (0..h, w..samples),
            (h..lines, 0..w),
            (h..lines, w..samples),
        ] {
            let sigma = block_mean(&tiles.sigma, samples, rows.clone(), cols.clone());
            let m = block_mean(&tiles.enhancement, samples, rows.clone(), cols.clone());
            assert!(
                m.abs() < 1e-6 * sigma,
                "tile {rows:?} × {cols:?}: mean response {m} ppm·m (sigma {sigma})"
            );
        }
        for cols in [0..w, w..samples] {
            let sigma = block_mean(&global.sigma, samples, 0..lines, cols.clone());
            let m = block_mean(&global.enhancement, samples, 0..lines, cols.clone());
            // Far beyond the standard error of a mean of `lines × w` pixels.
            let standard_error = sigma / ((lines * w) as f64).sqrt();
            assert!(
                m.abs() > 20.0 * standard_error && m.abs() > 0.5 * sigma,
                "global statistics, samples {cols:?}: mean response {m} ppm·m is not biased (sigma {sigma})"
            );
        }
        // The plume: 4 pixels of the top-left tile, enhancement 12 sigma (Beer–Lambert
        // to first order: x + α a ⊙ μ with the left background mean μ).
        let sigma = f64::from(tiles.sigma[3 * samples + 3]);
        let alpha = 12.0 * sigma;
        let ua = tile_unit_absorption();
        let mean = half_mean(0);
        let plume = [(20usize, 5usize), (21, 5), (20, 6), (50, 12)];
        let mut injected = data.clone();
        for &(l, s) in &plume {
            for b in 0..TILE_BANDS {
                injected[(l * samples + s) * TILE_BANDS + b] += (alpha * ua[b] * mean[b]) as f32;
            }
        }
        for algorithm in [
            Algorithm::MatchedFilter,
            Algorithm::AlbedoMatchedFilter,
            Algorithm::Mag1c,
        ] {
            let maps = detect_scene(
                &injected,
                lines,
                samples,
                &DetectParams {
                    algorithm,
                    grouping: Grouping::Tiles(2),
                    exclude_z: Some(5.0),
                    ..base.clone()
                },
            );
            let found: f64 = plume
                .iter()
                .map(|&(l, s)| f64::from(maps.enhancement[l * samples + s]))
                .sum::<f64>()
                / plume.len() as f64;
            // The mean of 4 pixels' noise has a sigma of sigma / 2.
            assert!(
                (found - alpha).abs() < 1.5 * sigma,
                "{algorithm:?}: plume of {alpha:.0} ppm·m recovered as {found:.0} (sigma {sigma:.0})"
            );
        }
    }

    /// Nodata collars: pixels whose window values are NaN (the readers turn a cube's
    /// nodata or ignore value into NaN) are left out of every tile's statistics and
    /// get no output; a tile that is entirely collar gets no output and no error. The
    /// other pixels of a tile with a collar get exactly what their tile's valid
    /// pixels alone give.
    #[test]
    fn nodata_collar_is_left_out_of_tile_statistics_for_every_detector() {
        let (lines, samples) = (120usize, 30usize);
        let mut data = two_half_scene(lines, samples, 9);
        // The whole top-left tile, and a 10 × 6 corner of the bottom-right one.
        let collar = |l: usize, s: usize| (l < 60 && s < 15) || (l >= 110 && s >= 24);
        for l in 0..lines {
            for s in 0..samples {
                if collar(l, s) {
                    data[(l * samples + s) * TILE_BANDS..(l * samples + s + 1) * TILE_BANDS]
                        .fill(f32::NAN);
                }
            }
        }
        let ua = tile_unit_absorption();
        for algorithm in [
            Algorithm::MatchedFilter,
            Algorithm::AlbedoMatchedFilter,
            Algorithm::Ace,
            Algorithm::Mag1c,
        ] {
            let params = DetectParams {
                algorithm,
                precision: crate::detect::Precision::F64,
                grouping: Grouping::Tiles(2),
                ..DetectParams::default()
            };
            let maps = detect_scene(&data, lines, samples, &params);
            for l in 0..lines {
                for s in 0..samples {
                    let i = l * samples + s;
                    let e = maps.enhancement[i];
                    if collar(l, s) {
                        assert_eq!(e, NODATA, "{algorithm:?}: collar pixel ({l}, {s})");
                        assert!(crate::raster::nodata_to_nan(e).is_nan());
                        assert_eq!(maps.sigma[i], NODATA);
                    } else {
                        assert!(e.is_finite() && e != NODATA, "{algorithm:?}: ({l}, {s})");
                    }
                }
            }
            // The bottom-right tile from its valid pixels only (line order, then sample).
            let mut px = Vec::new();
            let mut at = Vec::new();
            for l in 60..lines {
                for s in 15..samples {
                    if !collar(l, s) {
                        let p = (l * samples + s) * TILE_BANDS;
                        px.extend(data[p..p + TILE_BANDS].iter().map(|&v| f64::from(v)));
                        at.push(l * samples + s);
                    }
                }
            }
            let flags = vec![true; at.len()];
            let alone =
                crate::detect::detect_pixels(&px, TILE_BANDS, &flags, &flags, &ua, &params, false)
                    .unwrap();
            for (k, &i) in at.iter().enumerate() {
                for (name, got, want) in [
                    ("enhancement", maps.enhancement[i], alone.enhancement[k]),
                    ("sigma", maps.sigma[i], alone.sigma[k]),
                    ("z", maps.z[i], alone.z[k]),
                ] {
                    let tol = 1e-5 * want.abs().max(1.0);
                    assert!(
                        (got - want).abs() <= tol,
                        "{algorithm:?}: {name} at pixel {i}: {got} with the collar, {want} without"
                    );
                }
            }
        }
    }

    #[test]
    fn tiles_are_validated_against_the_scene() {
        let scene = TileScene::new(two_half_scene(10, 6, 1), 10, 6);
        let input = scene.input();
        for (n, what) in [(0, "at least 1"), (7, "6 samples")] {
            let params = DetectParams {
                grouping: Grouping::Tiles(n),
                ..DetectParams::default()
            };
            let e = detect_cube(&input, &params, &|_| {})
                .unwrap_err()
                .to_string();
            assert!(e.contains(what), "tiles:{n}: {e}");
        }
        // Tiles too small for a covariance (6 to 8 pixels for 8 bands): no output, no
        // error.
        let params = DetectParams {
            grouping: Grouping::Tiles(3),
            ..DetectParams::default()
        };
        let maps = detect_cube(&input, &params, &|_| {}).unwrap();
        assert!(maps.enhancement.iter().all(|&v| v == NODATA));
    }

    /// Tiles in blocks of any size give the same maps, bit for bit, and one tile is
    /// the global statistics.
    #[test]
    fn tile_blocks_do_not_change_the_result() {
        let (lines, samples) = (64usize, 24usize);
        let scene = TileScene::new(two_half_scene(lines, samples, 3), lines, samples);
        let input = scene.input();
        let per_column = lines * TILE_BANDS * 4;
        for algorithm in [Algorithm::MatchedFilter, Algorithm::Mag1c] {
            let params = DetectParams {
                algorithm,
                grouping: Grouping::Tiles(3),
                ..DetectParams::default()
            };
            let whole = detect_cube_in_blocks(&input, &params, &|_| {}, usize::MAX, false)
                .unwrap()
                .0;
            for budget in [1, per_column * 8, per_column * 17] {
                let b = detect_cube_in_blocks(&input, &params, &|_| {}, budget, false)
                    .unwrap()
                    .0;
                assert!(
                    b.enhancement
                        .iter()
                        .zip(&whole.enhancement)
                        .all(|(p, q)| p.to_bits() == q.to_bits()),
                    "{algorithm:?}, budget {budget}"
                );
            }
            let one = DetectParams {
                grouping: Grouping::Tiles(1),
                ..params.clone()
            };
            let global = DetectParams {
                grouping: Grouping::Global,
                ..params.clone()
            };
            let (t, g) = (
                detect_cube(&input, &one, &|_| {}).unwrap(),
                detect_cube(&input, &global, &|_| {}).unwrap(),
            );
            for (x, y) in t.enhancement.iter().zip(&g.enhancement) {
                assert!(
                    (x - y).abs() <= 1e-3 * y.abs().max(1.0),
                    "{algorithm:?}: {x} vs {y}"
                );
            }
        }
    }
}
