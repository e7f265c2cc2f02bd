//! Exact TreeSHAP (Lundberg et al. 2018, Algorithm 2, path-dependent): each feature's Shapley
//! share of one tree's output, where a feature left out is averaged over the train rows that
//! reached each node (the node covers). Polynomial in the depth; the test checks it against
//! the Shapley formula summed over all 2^14 feature subsets.

use super::trees::RegressionTree;
use crate::engine::features::matrix::N_FEATURES;

#[derive(Clone, Copy)]
struct Step {
    /// The feature split on; `usize::MAX` for the root's placeholder.
    feature: usize,
    /// Share of the covers that flows this way when the feature is left out.
    zero: f64,
    /// 1 if the row flows this way when the feature is known, else 0.
    one: f64,
    weight: f64,
}

fn extend(path: &mut Vec<Step>, zero: f64, one: f64, feature: usize) {
    let d = path.len();
    path.push(Step {
        feature,
        zero,
        one,
        weight: if d == 0 { 1.0 } else { 0.0 },
    });
    let scale = (d + 1) as f64;
    for i in (0..d).rev() {
        path[i + 1].weight += one * path[i].weight * (i + 1) as f64 / scale;
        path[i].weight = zero * path[i].weight * (d - i) as f64 / scale;
    }
}

/// Undo step `k`'s extension, as if it had never been on the path.
fn unwind(path: &mut Vec<Step>, k: usize) {
    let d = path.len() - 1;
    let (one, zero) = (path[k].one, path[k].zero);
    let scale = (d + 1) as f64;
    let mut next = path[d].weight;
    for i in (0..d).rev() {
        if one != 0.0 {
            let w = path[i].weight;
            path[i].weight = next * scale / ((i + 1) as f64 * one);
            next = w - path[i].weight * zero * (d - i) as f64 / scale;
        } else {
            path[i].weight = path[i].weight * scale / (zero * (d - i) as f64);
        }
    }
    for i in k..d {
        path[i].feature = path[i + 1].feature;
        path[i].zero = path[i + 1].zero;
        path[i].one = path[i + 1].one;
    }
    path.pop();
}

/// The total weight the path would have with step `k` unwound.
fn unwound_sum(path: &[Step], k: usize) -> f64 {
    let d = path.len() - 1;
    let (one, zero) = (path[k].one, path[k].zero);
    let scale = (d + 1) as f64;
    let mut next = path[d].weight;
    let mut total = 0.0;
    for i in (0..d).rev() {
        if one != 0.0 {
            let t = next * scale / ((i + 1) as f64 * one);
            total += t;
            next = path[i].weight - t * zero * (d - i) as f64 / scale;
        } else {
            total += path[i].weight / zero / ((d - i) as f64 / scale);
        }
    }
    total
}

#[allow(clippy::too_many_arguments)]
fn recurse(
    tree: &RegressionTree,
    row: &[f64; N_FEATURES],
    phi: &mut [f64; N_FEATURES],
    node: usize,
    parent: &[Step],
    zero: f64,
    one: f64,
    feature: usize,
) {
    let mut path = parent.to_vec();
    extend(&mut path, zero, one, feature);
    let n = &tree.nodes[node];
    let Some(f) = n.feature else {
        for i in 1..path.len() {
            let w = unwound_sum(&path, i);
            let s = path[i];
            phi[s.feature] += w * (s.one - s.zero) * n.value;
        }
        return;
    };
    let (hot, cold) = if row[f] <= n.threshold {
        (n.left, n.right)
    } else {
        (n.right, n.left)
    };
    let (mut in_zero, mut in_one) = (1.0, 1.0);
    if let Some(k) = path.iter().position(|s| s.feature == f) {
        in_zero = path[k].zero;
        in_one = path[k].one;
        unwind(&mut path, k);
    }
    let share = |c: usize| tree.nodes[c].cover / n.cover;
    recurse(tree, row, phi, hot, &path, share(hot) * in_zero, in_one, f);
    recurse(tree, row, phi, cold, &path, share(cold) * in_zero, 0.0, f);
}

/// Add one tree's SHAP values for `row` to `phi`.
pub fn add(tree: &RegressionTree, row: &[f64; N_FEATURES], phi: &mut [f64; N_FEATURES]) {
    if tree.nodes.len() > 1 {
        recurse(tree, row, phi, 0, &[], 1.0, 1.0, usize::MAX);
    }
}

/// The tree's output averaged over the train rows (by the leaf covers): its SHAP bias.
pub fn expected(tree: &RegressionTree) -> f64 {
    let root = tree.nodes.first().map_or(1.0, |n| n.cover);
    tree.nodes
        .iter()
        .filter(|n| n.feature.is_none())
        .map(|n| n.value * n.cover / root)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::super::trees::Node;
    use super::*;

    /// The tree's output when only the features in `known` (a bit set) are known: unknown
    /// splits average their children by cover (the same "value of a coalition" TreeSHAP uses).
    fn value(tree: &RegressionTree, row: &[f64; N_FEATURES], known: u32, node: usize) -> f64 {
        let n = &tree.nodes[node];
        match n.feature {
            None => n.value,
            Some(f) if known & (1 << f) != 0 => {
                let next = if row[f] <= n.threshold {
                    n.left
                } else {
                    n.right
                };
                value(tree, row, known, next)
            }
            Some(_) => {
                let (l, r) = (&tree.nodes[n.left], &tree.nodes[n.right]);
                (l.cover * value(tree, row, known, n.left)
                    + r.cover * value(tree, row, known, n.right))
                    / n.cover
            }
        }
    }

    /// Shapley values by their definition, over all 2^14 coalitions.
    fn brute(tree: &RegressionTree, row: &[f64; N_FEATURES]) -> [f64; N_FEATURES] {
        let m = N_FEATURES;
        let v: Vec<f64> = (0..1u32 << m).map(|s| value(tree, row, s, 0)).collect();
        let fact = |k: usize| (1..=k).map(|i| i as f64).product::<f64>();
        std::array::from_fn(|i| {
            (0..1u32 << m)
                .filter(|s| s & (1 << i) == 0)
                .map(|s| {
                    let k = s.count_ones() as usize;
                    fact(k) * fact(m - k - 1) / fact(m) * (v[(s | 1 << i) as usize] - v[s as usize])
                })
                .sum()
        })
    }

    fn split(feature: usize, threshold: f64, left: usize, right: usize, cover: f64) -> Node {
        Node {
            feature: Some(feature),
            threshold,
            left,
            right,
            value: 0.0,
            cover,
        }
    }

    fn leaf(value: f64, cover: f64) -> Node {
        Node {
            feature: None,
            threshold: 0.0,
            left: 0,
            right: 0,
            value,
            cover,
        }
    }

    /// A tree that splits on feature 2 twice on one path (the case `unwind` exists for), and
    /// on features 0 and 5 elsewhere, with uneven covers.
    fn tree() -> RegressionTree {
        RegressionTree {
            nodes: vec![
                split(2, 0.5, 1, 2, 100.0),
                split(0, 0.3, 3, 4, 60.0),
                split(5, 0.7, 5, 6, 40.0),
                split(2, 0.2, 7, 8, 25.0),
                leaf(0.4, 35.0),
                leaf(-0.3, 10.0),
                split(2, 0.9, 9, 10, 30.0),
                leaf(1.5, 5.0),
                leaf(-1.0, 20.0),
                leaf(0.25, 18.0),
                leaf(-0.6, 12.0),
            ],
        }
    }

    #[test]
    fn matches_the_shapley_formula() {
        let t = tree();
        let rows: [[f64; N_FEATURES]; 4] = [
            std::array::from_fn(|j| [0.1, 0.0, 0.1, 0.0, 0.0, 0.8][j.min(5)]),
            std::array::from_fn(|j| [0.9, 0.0, 0.95, 0.0, 0.0, 0.9][j.min(5)]),
            std::array::from_fn(|j| [0.2, 0.0, 0.6, 0.0, 0.0, 0.1][j.min(5)]),
            std::array::from_fn(|j| [0.5, 0.0, 0.3, 0.0, 0.0, 0.75][j.min(5)]),
        ];
        for row in &rows {
            let mut phi = [0.0; N_FEATURES];
            add(&t, row, &mut phi);
            let want = brute(&t, row);
            for j in 0..N_FEATURES {
                assert!(
                    (phi[j] - want[j]).abs() < 1e-12,
                    "{row:?} feature {j}: {phi:?} vs {want:?}"
                );
            }
            // Efficiency: the bias and the values add up to the tree's output.
            let sum: f64 = phi.iter().sum::<f64>() + expected(&t);
            assert!((sum - t.predict(row)).abs() < 1e-12);
        }
    }
}
