//! Plumes that grow across lines: the pixels of each line above the growth threshold
//! form runs, a run joins every component whose runs of the last few lines it touches
//! (union–find), and a component is *quiet* once no run has joined it for a number of
//! lines. The tracker only decides when a plume is complete and where it lies; the
//! plume itself is then segmented and analysed by the scan's own code on the lines
//! around it.

/// A tracked component.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Component {
    /// First line with a run.
    pub first: usize,
    /// Last line with a run.
    pub last: usize,
    /// Leftmost sample of any run.
    pub c0: usize,
    /// Rightmost sample of any run (inclusive).
    pub c1: usize,
    /// Some pixel is above the seed threshold.
    pub seeded: bool,
    /// Pixels in its runs.
    pub pixels: usize,
}

#[derive(Debug, Clone, Copy)]
struct Run {
    line: usize,
    c0: usize,
    c1: usize,
    comp: usize,
}

/// Union–find over components; only roots carry live extents.
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    /// Gap in pixels (and lines) that still joins two runs (the closing bridges
    /// `2 · closing radius`).
    gap: usize,
    parent: Vec<usize>,
    comps: Vec<Component>,
    /// Runs of the last `gap + 1` lines.
    recent: Vec<Run>,
    /// Roots still open.
    open: Vec<usize>,
}

impl Tracker {
    pub(crate) fn new(gap: usize) -> Self {
        Self {
            gap,
            ..Self::default()
        }
    }

    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    fn union(&mut self, a: usize, b: usize) -> usize {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return ra;
        }
        let (keep, gone) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.parent[gone] = keep;
        let g = self.comps[gone];
        let k = &mut self.comps[keep];
        k.first = k.first.min(g.first);
        k.last = k.last.max(g.last);
        k.c0 = k.c0.min(g.c0);
        k.c1 = k.c1.max(g.c1);
        k.seeded |= g.seeded;
        k.pixels += g.pixels;
        self.open.retain(|&r| r != gone);
        keep
    }

    /// Adds line `line`: `hot[s]` above the growth threshold, `seed[s]` above the seed
    /// threshold.
    pub(crate) fn push_line(&mut self, line: usize, hot: &[bool], seed: &[bool]) {
        let gap = self.gap;
        self.recent.retain(|r| r.line + gap + 1 >= line);
        let mut s = 0;
        let n = hot.len();
        let mut new_runs = Vec::new();
        while s < n {
            if !hot[s] {
                s += 1;
                continue;
            }
            let c0 = s;
            let mut seeded = false;
            while s < n && hot[s] {
                seeded |= seed[s];
                s += 1;
            }
            let c1 = s - 1;
            let id = self.comps.len();
            self.parent.push(id);
            self.comps.push(Component {
                first: line,
                last: line,
                c0,
                c1,
                seeded,
                pixels: c1 - c0 + 1,
            });
            self.open.push(id);
            let mut root = id;
            // Runs join 8-connected runs of the line before; seeded runs also join
            // seeded components across gaps the closing bridges (`gap` pixels or
            // lines). Unseeded noise is not bridged: at the growth threshold about 2 %
            // of pixels are hot, and bridged noise would percolate across the swath.
            let mut touching = Vec::new();
            let n_recent = self.recent.len();
            for k in 0..n_recent + new_runs.len() {
                let r = if k < n_recent {
                    self.recent[k]
                } else {
                    new_runs[k - n_recent]
                };
                let adjacent = r.line + 1 == line && r.c0 <= c1 + 1 && c0 <= r.c1 + 1;
                let bridged = seeded
                    && r.c0 <= c1 + gap + 1
                    && c0 <= r.c1 + gap + 1
                    && self.comps[self.parent_root(r.comp)].seeded;
                if adjacent || bridged {
                    touching.push(r.comp);
                }
            }
            for other in touching {
                root = self.union(root, other);
            }
            new_runs.push(Run {
                line,
                c0,
                c1,
                comp: root,
            });
        }
        self.recent.extend(new_runs);
    }

    /// Removes and returns the components whose last run is more than `quiet` lines
    /// before `line`, or that have been open for more than `longest` lines.
    pub(crate) fn take_quiet(
        &mut self,
        line: usize,
        quiet: usize,
        longest: usize,
    ) -> Vec<Component> {
        let mut out = Vec::new();
        let mut keep = Vec::with_capacity(self.open.len());
        let open = std::mem::take(&mut self.open);
        let mut done = Vec::new();
        for r in open {
            let c = self.comps[r];
            if c.last + quiet < line || c.first + longest < line {
                out.push(c);
                done.push(r);
            } else {
                keep.push(r);
            }
        }
        if !done.is_empty() {
            // Later runs must not join a finished component.
            let roots: Vec<usize> = self
                .recent
                .iter()
                .map(|run| self.parent_root(run.comp))
                .collect();
            let mut i = 0;
            self.recent.retain(|_| {
                i += 1;
                !done.contains(&roots[i - 1])
            });
        }
        self.open = keep;
        self.compact();
        out
    }

    fn parent_root(&self, mut i: usize) -> usize {
        while self.parent[i] != i {
            i = self.parent[i];
        }
        i
    }

    /// Every open component (at the end of the input).
    pub(crate) fn take_all(&mut self) -> Vec<Component> {
        self.take_quiet(usize::MAX / 2, 0, 0)
    }

    /// The open components.
    pub(crate) fn open_components(&self) -> Vec<Component> {
        self.open.iter().map(|&r| self.comps[r]).collect()
    }

    /// Earliest first line of an open component.
    pub(crate) fn oldest_open_line(&self) -> Option<usize> {
        self.open.iter().map(|&r| self.comps[r].first).min()
    }

    /// Drops the union–find entries no open component or recent run refers to, so
    /// memory stays bounded over a long flight.
    fn compact(&mut self) {
        if !self.open.is_empty() || !self.recent.is_empty() {
            if self.comps.len() < 4096 {
                return;
            }
            // Rebuild with only the live roots.
            let live: Vec<usize> = {
                let mut v: Vec<usize> = self.open.clone();
                for r in &self.recent {
                    v.push(self.parent_root(r.comp));
                }
                v.sort_unstable();
                v.dedup();
                v
            };
            let mut map = std::collections::HashMap::new();
            let (mut parent, mut comps) = (Vec::new(), Vec::new());
            for &r in &live {
                map.insert(r, comps.len());
                parent.push(comps.len());
                comps.push(self.comps[r]);
            }
            let roots: Vec<usize> = self
                .recent
                .iter()
                .map(|run| self.parent_root(run.comp))
                .collect();
            for (run, root) in self.recent.iter_mut().zip(roots) {
                run.comp = map[&root];
            }
            self.open = self.open.iter().map(|r| map[r]).collect();
            self.parent = parent;
            self.comps = comps;
            return;
        }
        self.parent.clear();
        self.comps.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(s: &str) -> (Vec<bool>, Vec<bool>) {
        (
            s.chars().map(|c| c != '.').collect(),
            s.chars().map(|c| c == '#').collect(),
        )
    }

    #[test]
    fn runs_join_across_lines_and_close_when_quiet() {
        let rows = [
            "..++....++", // two separate starts
            "...#+...+.",
            "....++.#+.", // seeded runs joined through the gap of one pixel
            "..........",
            "..........",
            "..........",
        ];
        let mut t = Tracker::new(2);
        let mut closed = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            let (h, s) = line(r);
            t.push_line(i, &h, &s);
            closed.extend(t.take_quiet(i, 2, 100));
        }
        assert_eq!(closed.len(), 1, "{closed:?}");
        let c = closed[0];
        assert_eq!((c.first, c.last, c.c0, c.c1), (0, 2, 2, 9));
        assert!(c.seeded);
        assert_eq!(c.pixels, 11);
        assert!(t.take_all().is_empty());
    }

    #[test]
    fn unseeded_noise_is_not_bridged_to_a_plume() {
        let rows = ["..#+.+....", "..++..+...", ".........."];
        let mut t = Tracker::new(2);
        for (i, r) in rows.iter().enumerate() {
            let (h, s) = line(r);
            t.push_line(i, &h, &s);
        }
        let mut all = t.take_all();
        all.sort_by_key(|c| c.c0);
        assert_eq!(all.len(), 2, "{all:?}");
        assert!(all[0].seeded && !all[1].seeded);
        assert_eq!((all[1].c0, all[1].c1, all[1].pixels), (5, 6, 2));
    }

    #[test]
    fn far_apart_runs_stay_separate_and_long_plumes_are_cut() {
        let mut t = Tracker::new(1);
        let (h, s) = line("+........+");
        for i in 0..10 {
            t.push_line(i, &h, &s);
        }
        assert_eq!(t.oldest_open_line(), Some(0));
        let cut = t.take_quiet(10, 3, 5);
        assert_eq!(cut.len(), 2);
        assert!(cut.iter().all(|c| !c.seeded && c.last == 9));
    }
}
