//! Pixel-level scores: ROC and precision–recall curves of a score map against a truth
//! mask.

use crate::{Error, Result};

/// A curve as parallel x and y lists.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct Curve {
    /// x values.
    pub x: Vec<f64>,
    /// y values.
    pub y: Vec<f64>,
}

/// Pixel-level scores of one score map.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PixelScores {
    /// Area under the ROC curve (probability that a random plume pixel scores above a
    /// random background pixel; ties count one half).
    pub roc_auc: f64,
    /// Area under the precision–recall curve (average precision).
    pub pr_auc: f64,
    /// Plume (positive) pixels scored.
    pub positives: usize,
    /// Background (negative) pixels scored.
    pub negatives: usize,
    /// ROC curve: x = false-positive rate, y = true-positive rate (thinned to ≤ 200 points).
    pub roc: Curve,
    /// PR curve: x = recall, y = precision (thinned to ≤ 200 points).
    pub pr: Curve,
}

fn thin(c: Curve, n: usize) -> Curve {
    if c.x.len() <= n {
        return c;
    }
    let step = c.x.len().div_ceil(n);
    let mut out = Curve::default();
    for i in (0..c.x.len()).step_by(step) {
        out.x.push(c.x[i]);
        out.y.push(c.y[i]);
    }
    if out.x.last() != c.x.last() {
        out.x.push(*c.x.last().unwrap_or(&0.0));
        out.y.push(*c.y.last().unwrap_or(&0.0));
    }
    out
}

/// ROC and PR statistics of `scores` (higher = more plume-like) against `truth`
/// (`true` = plume pixel). Pixels with a non-finite score or `valid[i] == false` are left
/// out.
///
/// # Errors
/// When the lengths differ or there is no positive or no negative pixel to score.
pub fn pixel_scores(scores: &[f32], truth: &[bool], valid: Option<&[bool]>) -> Result<PixelScores> {
    if scores.len() != truth.len() || valid.is_some_and(|v| v.len() != truth.len()) {
        return Err(Error::Shape {
            what: "score map and truth mask pixels".into(),
            expected: truth.len(),
            got: scores.len(),
        });
    }
    let mut pairs: Vec<(f32, bool)> = scores
        .iter()
        .zip(truth)
        .enumerate()
        .filter(|(i, (s, _))| s.is_finite() && valid.is_none_or(|v| v[*i]))
        .map(|(_, (s, t))| (*s, *t))
        .collect();
    let pos = pairs.iter().filter(|p| p.1).count();
    let neg = pairs.len() - pos;
    if pos == 0 || neg == 0 {
        return Err(Error::Invalid(format!(
            "pixel scores: {pos} plume and {neg} background pixels with valid scores (expected at least one of each)"
        )));
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut roc = Curve {
        x: vec![0.0],
        y: vec![0.0],
    };
    let mut pr = Curve::default();
    let (mut auc, mut ap) = (0.0, 0.0);
    let mut i = 0;
    while i < pairs.len() {
        let s = pairs[i].0;
        let (tp0, fp0) = (tp, fp);
        while i < pairs.len() && pairs[i].0 == s {
            if pairs[i].1 {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        let (x0, y0) = (fp0 as f64 / neg as f64, tp0 as f64 / pos as f64);
        let (x1, y1) = (fp as f64 / neg as f64, tp as f64 / pos as f64);
        auc += (x1 - x0) * (y0 + y1) / 2.0;
        let precision = tp as f64 / (tp + fp) as f64;
        ap += (y1 - y0) * precision;
        roc.x.push(x1);
        roc.y.push(y1);
        pr.x.push(y1);
        pr.y.push(precision);
    }
    Ok(PixelScores {
        roc_auc: auc,
        pr_auc: ap,
        positives: pos,
        negatives: neg,
        roc: thin(roc, 200),
        pr: thin(pr, 200),
    })
}
