//! Growing one tree: features cut into at most 255 bins, gradient histograms summed over fixed
//! row chunks in a fixed order (the same whatever the number of threads), the best split per
//! leaf, and leaves split best-first (leaf-wise, as LightGBM grows them) up to the leaf limit.

use rayon::prelude::*;

use super::settings::Settings;
use super::trees::{Node, RegressionTree};
use crate::engine::features::matrix::{Data, N_FEATURES};

/// Per feature, the thresholds between bins: a value `v` falls in the bin of the first
/// threshold `>= v` (the last bin if none).
pub(super) fn bin_edges(train: &Data, s: &Settings, seed: u64) -> Vec<Vec<f64>> {
    let sample = train.sample(s.bin_rows, seed ^ 0xb175);
    let max_bin = s.max_bin.clamp(2, 256);
    sample
        .cols
        .par_iter()
        .map(|c| {
            let mut sorted = c.clone();
            sorted.sort_unstable_by(|a, b| a.total_cmp(b));
            let mut v = sorted.clone();
            v.dedup();
            if v.len() <= max_bin {
                // Few distinct values: one bin each, split halfway between neighbours.
                v.windows(2).map(|w| w[0] + (w[1] - w[0]) / 2.0).collect()
            } else {
                // Quantiles of the sample's values.
                let n = sorted.len();
                let mut edges: Vec<f64> = (1..max_bin).map(|b| sorted[b * n / max_bin]).collect();
                edges.dedup();
                // The top value needs no edge of its own.
                if edges.last() == sorted.last() {
                    edges.pop();
                }
                edges
            }
        })
        .collect()
}

/// Rows binned, row-major: the 14 bins of a row sit together, so a histogram pass reads each
/// row once.
pub(super) fn bin_rows(x: &Data, edges: &[Vec<f64>]) -> Vec<[u8; N_FEATURES]> {
    (0..x.n())
        .into_par_iter()
        .map(|i| {
            std::array::from_fn(|j| {
                let v = x.cols[j][i];
                edges[j].partition_point(|&t| t < v) as u8
            })
        })
        .collect()
}

/// The deepest tree a saved model may hold (31 leaves grow at most 30 levels).
pub(super) const MAX_DEPTH: usize = 256;

#[derive(Clone, Copy, Default)]
struct Cell {
    g: f64,
    h: f64,
    n: u32,
}

const BINS: usize = 256;
type Hist = Vec<Cell>;

/// Rows per partial histogram. Fixed, so sums do not depend on the thread count.
const CHUNK: usize = 4096;

fn add_rows(hist: &mut [Cell], rows: &[u32], binned: &[[u8; N_FEATURES]], gh: &[(f64, f64)]) {
    for &r in rows {
        let (g, h) = gh[r as usize];
        for (j, &b) in binned[r as usize].iter().enumerate() {
            let c = &mut hist[j * BINS + b as usize];
            c.g += g;
            c.h += h;
            c.n += 1;
        }
    }
}

fn histogram(rows: &[u32], binned: &[[u8; N_FEATURES]], gh: &[(f64, f64)]) -> Hist {
    let empty = || vec![Cell::default(); N_FEATURES * BINS];
    if rows.len() <= CHUNK {
        let mut h = empty();
        add_rows(&mut h, rows, binned, gh);
        return h;
    }
    let parts: Vec<Hist> = rows
        .par_chunks(CHUNK)
        .map(|c| {
            let mut h = empty();
            add_rows(&mut h, c, binned, gh);
            h
        })
        .collect();
    let mut out = empty();
    for p in parts {
        for (o, c) in out.iter_mut().zip(p) {
            o.g += c.g;
            o.h += c.h;
            o.n += c.n;
        }
    }
    out
}

fn subtract(parent: &Hist, child: &Hist) -> Hist {
    parent
        .iter()
        .zip(child)
        .map(|(p, c)| Cell {
            g: p.g - c.g,
            h: p.h - c.h,
            n: p.n - c.n,
        })
        .collect()
}

#[derive(Clone, Copy)]
struct Split {
    gain: f64,
    feature: usize,
    bin: usize,
}

fn score(g: f64, h: f64, lambda: f64) -> f64 {
    g * g / (h + lambda)
}

/// The best split of a leaf, if any gains.
fn best_split(hist: &Hist, total: Cell, s: &Settings) -> Option<Split> {
    let parent = score(total.g, total.h, s.lambda);
    let mut best: Option<Split> = None;
    for j in 0..N_FEATURES {
        let mut left = Cell::default();
        for b in 0..BINS - 1 {
            let c = hist[j * BINS + b];
            left.g += c.g;
            left.h += c.h;
            left.n += c.n;
            let right_n = total.n - left.n;
            if right_n < s.min_leaf_rows.max(1) {
                break;
            }
            if left.n < s.min_leaf_rows || c.n == 0 {
                continue;
            }
            let (rg, rh) = (total.g - left.g, total.h - left.h);
            if left.h < s.min_leaf_hessian || rh < s.min_leaf_hessian {
                continue;
            }
            let gain = score(left.g, left.h, s.lambda) + score(rg, rh, s.lambda) - parent;
            if gain > 1e-12 && best.is_none_or(|b| gain > b.gain) {
                best = Some(Split {
                    gain,
                    feature: j,
                    bin: b,
                });
            }
        }
    }
    best
}

/// A leaf being grown: its rows (a range of the shared index), sums and histogram.
struct Open {
    node: usize,
    start: usize,
    end: usize,
    total: Cell,
    hist: Hist,
    split: Option<Split>,
}

fn totals(hist: &Hist) -> Cell {
    // Every row falls in one bin of feature 0.
    hist[..BINS].iter().fold(Cell::default(), |a, c| Cell {
        g: a.g + c.g,
        h: a.h + c.h,
        n: a.n + c.n,
    })
}

/// Grow one tree on the gradients and add its output to each train row's margin.
pub(super) fn grow(
    binned: &[[u8; N_FEATURES]],
    edges: &[Vec<f64>],
    gh: &[(f64, f64)],
    s: &Settings,
    margin: &mut [f64],
) -> RegressionTree {
    let n = binned.len();
    let mut index: Vec<u32> = (0..n as u32).collect();
    let mut scratch: Vec<u32> = Vec::with_capacity(n);
    let mut nodes = vec![Node {
        feature: None,
        threshold: 0.0,
        left: 0,
        right: 0,
        value: 0.0,
        cover: n as f64,
    }];
    let hist = histogram(&index, binned, gh);
    let total = totals(&hist);
    let split = best_split(&hist, total, s);
    let mut open = vec![Open {
        node: 0,
        start: 0,
        end: n,
        total,
        hist,
        split,
    }];
    let mut done: Vec<Open> = Vec::new();
    while open.len() + done.len() < s.max_leaves.max(2) {
        // The open leaf with the largest gain (the first of equals).
        let Some(pick) = open
            .iter()
            .enumerate()
            .filter_map(|(i, o)| o.split.map(|sp| (i, sp.gain)))
            .fold(None, |best: Option<(usize, f64)>, (i, g)| match best {
                Some((_, bg)) if bg >= g => best,
                _ => Some((i, g)),
            })
            .map(|(i, _)| i)
        else {
            break;
        };
        let leaf = open.remove(pick);
        let Some(sp) = leaf.split else {
            done.push(leaf);
            continue;
        };
        // Stable partition of the leaf's rows: left then right, each in row order. Branch
        // free: every row is written to both places and only one cursor moves.
        let rows = &mut index[leaf.start..leaf.end];
        scratch.clear();
        scratch.resize(rows.len(), 0);
        let mut w = 0;
        for k in 0..rows.len() {
            let r = rows[k];
            let left = (binned[r as usize][sp.feature] as usize) <= sp.bin;
            rows[w] = r;
            scratch[k - w] = r;
            w += left as usize;
        }
        let right = rows.len() - w;
        rows[w..].copy_from_slice(&scratch[..right]);
        let mid = leaf.start + w;
        let (l, r) = (nodes.len(), nodes.len() + 1);
        nodes[leaf.node].feature = Some(sp.feature);
        nodes[leaf.node].threshold = edges[sp.feature][sp.bin];
        nodes[leaf.node].left = l;
        nodes[leaf.node].right = r;
        for cover in [w, leaf.end - mid] {
            nodes.push(Node {
                feature: None,
                threshold: 0.0,
                left: 0,
                right: 0,
                value: 0.0,
                cover: cover as f64,
            });
        }
        // Histogram the smaller child; the larger is the parent's minus it.
        let left_small = w <= leaf.end - mid;
        let small = if left_small {
            &index[leaf.start..mid]
        } else {
            &index[mid..leaf.end]
        };
        let hs = histogram(small, binned, gh);
        let hl = subtract(&leaf.hist, &hs);
        let (hl, hr) = if left_small { (hs, hl) } else { (hl, hs) };
        for (node, start, end, hist) in [(l, leaf.start, mid, hl), (r, mid, leaf.end, hr)] {
            let total = totals(&hist);
            let split = best_split(&hist, total, s);
            open.push(Open {
                node,
                start,
                end,
                total,
                hist,
                split,
            });
        }
        // A leaf that cannot split is finished; keep it out of the search.
        let (still, finished): (Vec<Open>, Vec<Open>) =
            open.into_iter().partition(|o| o.split.is_some());
        open = still;
        done.extend(finished);
    }
    for leaf in open.iter().chain(&done) {
        let value = -s.eta * leaf.total.g / (leaf.total.h + s.lambda);
        nodes[leaf.node].value = value;
        for &r in &index[leaf.start..leaf.end] {
            margin[r as usize] += value;
        }
    }
    RegressionTree { nodes }
}
