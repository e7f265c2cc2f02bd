//! `tree`: a CART decision tree (Gini, balanced sample weights), depth chosen on val among
//! every depth in `DEPTH` (one growth, cut at each); leaves hold the train positive rate (what
//! scikit-learn's `predict_proba` reports).
//!
//! Hand-written rather than linfa-trees 0.8.1, for concrete reasons: it predicts classes only
//! (no leaf probabilities, which ranking needs); it gave different trees from run to run on the
//! same data, as ties between equal splits and modal classes are broken in `HashMap` order;
//! its class totals are f32, which drift on 500k weighted rows until its own
//! `assert!(n_samples > 0.0)` trips; and it took ~4 s a fit there. Where it is exact it is the
//! reference: a test checks that both trees partition the training rows the same way.

use super::model::{FitCtx, Model, balanced_weights, better, eval_on};
use crate::engine::eval::SplitEval;
use crate::engine::features::matrix::{Data, N_FEATURES};
use crate::engine::{Error, Result};

/// Depth range searched on val.
pub const DEPTH: (i64, i64) = (2, 10);
/// The least total (balanced) sample weight on each side of a split.
pub const MIN_LEAF: f64 = 20.0;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Node {
    Split {
        feature: usize,
        /// Rows with `x[feature] < value` go left.
        value: f64,
        left: Box<Node>,
        right: Box<Node>,
    },
    Leaf {
        /// Position among the leaves, left to right.
        id: usize,
        prob: f64,
        n: usize,
    },
}

impl Node {
    /// A split's feature, threshold and children (rows with `x[feature] < value` go left).
    fn split(&self) -> Option<(usize, f64, &Node, &Node)> {
        match self {
            Node::Split {
                feature,
                value,
                left,
                right,
            } => Some((*feature, *value, left, right)),
            Node::Leaf { .. } => None,
        }
    }

    /// The leaf a row falls into.
    fn find(&self, row: &[f64; N_FEATURES]) -> &Node {
        match self.split() {
            Some((feature, value, left, right)) => {
                if row[feature] < value {
                    left.find(row)
                } else {
                    right.find(row)
                }
            }
            None => self,
        }
    }

    fn leaf(&self, row: &[f64; N_FEATURES]) -> f64 {
        match self.find(row) {
            Node::Leaf { prob, .. } => *prob,
            Node::Split { .. } => f64::NAN,
        }
    }
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct DecisionTree {
    pub depth: usize,
    pub min_weight_leaf: f64,
    pub root: Option<Node>,
}

/// A weighted CART grown level by level: its nodes, and the unweighted (rows, positives) of
/// the train rows each node holds.
struct Grown {
    slots: Vec<Slot>,
    counts: Vec<(usize, usize)>,
    prevalence: f64,
}

/// A node of `Grown`: a split (feature, threshold, left, right) or a leaf.
#[derive(Clone)]
enum Slot {
    Leaf,
    Split(usize, f64, usize, usize),
}

/// Grow a weighted CART (Gini) to at most `depth` levels, all nodes of a level in one pass per
/// feature over rows presorted by that feature. Ties between equal splits go to the first
/// found (features in order, thresholds ascending), so a fit is deterministic. A node's split
/// depends on its own rows only, so the tree cut at any shallower depth is the tree grown to
/// that depth: one growth serves every depth searched.
fn grow(train: &Data, w: &[f64], depth: usize, min_leaf: f64) -> Result<Grown> {
    use rayon::prelude::*;
    let n = train.n();
    if n == 0 {
        return Err(Error::Config("decision tree: no training rows".into()));
    }
    let sorted: Vec<Vec<u32>> = (0..N_FEATURES)
        .into_par_iter()
        .map(|j| {
            let col = &train.cols[j];
            let mut idx: Vec<u32> = (0..n as u32).collect();
            idx.sort_by(|&a, &b| col[a as usize].total_cmp(&col[b as usize]).then(a.cmp(&b)));
            idx
        })
        .collect();
    let mut slots: Vec<Slot> = vec![Slot::Leaf];
    let mut node_of: Vec<usize> = vec![0; n];
    let mut active: Vec<usize> = vec![0];
    let gini = |p: f64, q: f64| {
        let t = p + q;
        if t <= 0.0 {
            0.0
        } else {
            1.0 - (p * p + q * q) / (t * t)
        }
    };
    for _level in 0..depth {
        if active.is_empty() {
            break;
        }
        // Node -> its position among this level's active nodes.
        let mut pos = vec![usize::MAX; slots.len()];
        for (i, &a) in active.iter().enumerate() {
            pos[a] = i;
        }
        let slot_of = |node: usize| Some(pos[node]).filter(|&p| p != usize::MAX);
        let k = active.len();
        let mut total = vec![(0.0f64, 0.0f64); k];
        for r in 0..n {
            if let Some(s) = slot_of(node_of[r]) {
                if train.y[r] {
                    total[s].0 += w[r];
                } else {
                    total[s].1 += w[r];
                }
            }
        }
        // Best split per active node and feature, features side by side: (score, threshold).
        let per_feature: Vec<Vec<Option<(f64, f64)>>> = sorted
            .par_iter()
            .enumerate()
            .map(|(j, order)| {
                let col = &train.cols[j];
                let mut best: Vec<Option<(f64, f64)>> = vec![None; k];
                let mut acc = vec![(0.0f64, 0.0f64); k];
                let mut last: Vec<Option<f64>> = vec![None; k];
                for &r in order {
                    let r = r as usize;
                    let Some(s) = slot_of(node_of[r]) else {
                        continue;
                    };
                    let v = col[r];
                    if let Some(prev) = last[s]
                        && v > prev
                    {
                        let (lp, lq) = acc[s];
                        let (rp, rq) = (total[s].0 - lp, total[s].1 - lq);
                        let (wl, wr) = (lp + lq, rp + rq);
                        if wl >= min_leaf && wr >= min_leaf {
                            let score = (wl * gini(lp, lq) + wr * gini(rp, rq)) / (wl + wr);
                            if best[s].is_none_or(|b| score < b.0) {
                                best[s] = Some((score, (prev + v) / 2.0));
                            }
                        }
                    }
                    if train.y[r] {
                        acc[s].0 += w[r];
                    } else {
                        acc[s].1 += w[r];
                    }
                    last[s] = Some(v);
                }
                best
            })
            .collect();
        // Features in order, a later one only when strictly better: the sequential rule.
        let mut best: Vec<Option<(f64, usize, f64)>> = vec![None; k];
        for (j, f) in per_feature.iter().enumerate() {
            for (b, cand) in best.iter_mut().zip(f) {
                if let Some((score, thr)) = *cand
                    && b.is_none_or(|b| score < b.0)
                {
                    *b = Some((score, j, thr));
                }
            }
        }
        let mut next = Vec::new();
        let mut children: Vec<Option<(usize, f64, usize, usize)>> = vec![None; k];
        for s in 0..k {
            let parent = gini(total[s].0, total[s].1);
            if let Some((score, j, thr)) = best[s]
                && parent - score > 1e-12
            {
                let (l, r) = (slots.len(), slots.len() + 1);
                slots.push(Slot::Leaf);
                slots.push(Slot::Leaf);
                slots[active[s]] = Slot::Split(j, thr, l, r);
                children[s] = Some((j, thr, l, r));
                next.push(l);
                next.push(r);
            }
        }
        for (r, node) in node_of.iter_mut().enumerate() {
            if let Some(s) = slot_of(*node)
                && let Some((j, thr, l, rr)) = children[s]
            {
                *node = if train.cols[j][r] < thr { l } else { rr };
            }
        }
        active = next;
    }
    // Each row ends in a leaf; a split node holds what its two children hold (children are
    // made after their parent, so a backward pass adds them up).
    let mut counts = vec![(0usize, 0usize); slots.len()];
    for (r, &node) in node_of.iter().enumerate() {
        counts[node].0 += 1;
        counts[node].1 += train.y[r] as usize;
    }
    for i in (0..slots.len()).rev() {
        if let Slot::Split(_, _, l, r) = slots[i] {
            counts[i] = (counts[l].0 + counts[r].0, counts[l].1 + counts[r].1);
        }
    }
    let prevalence = train.y.iter().filter(|&&v| v).count() as f64 / n as f64;
    Ok(Grown {
        slots,
        counts,
        prevalence,
    })
}

impl Grown {
    /// The tree cut at `depth` levels, leaves numbered left to right, each holding the
    /// unweighted train positive rate of its rows.
    fn cut(&self, depth: usize) -> Node {
        fn build(g: &Grown, i: usize, depth: usize, next_id: &mut usize) -> Node {
            match g.slots[i] {
                Slot::Split(feature, value, l, r) if depth > 0 => {
                    let left = Box::new(build(g, l, depth - 1, next_id));
                    let right = Box::new(build(g, r, depth - 1, next_id));
                    Node::Split {
                        feature,
                        value,
                        left,
                        right,
                    }
                }
                _ => {
                    *next_id += 1;
                    let (total, pos) = g.counts[i];
                    Node::Leaf {
                        id: *next_id - 1,
                        prob: if total > 0 {
                            pos as f64 / total as f64
                        } else {
                            g.prevalence
                        },
                        n: total,
                    }
                }
            }
        }
        build(self, 0, depth, &mut 0)
    }
}

/// A weighted CART of at most `depth` levels.
#[cfg(test)]
fn fit_depth(train: &Data, w: &[f64], depth: usize, min_leaf: f64) -> Result<Node> {
    Ok(grow(train, w, depth, min_leaf)?.cut(depth))
}

impl Model for DecisionTree {
    fn name(&self) -> &'static str {
        "tree"
    }

    fn fit(&mut self, train: &Data, val: &Data, ctx: &FitCtx) -> Result<()> {
        let w = balanced_weights(&train.y);
        let grown = grow(train, &w, DEPTH.1 as usize, MIN_LEAF)?;
        // Every depth in the range, shallowest first; a deeper one only when strictly better.
        let mut best: Option<(DecisionTree, SplitEval)> = None;
        let depths = DEPTH.0 as usize..=DEPTH.1 as usize;
        let steps = depths.clone().count();
        for (t, depth) in depths.enumerate() {
            ctx.check_cancel()?;
            let cand = DecisionTree {
                depth,
                min_weight_leaf: MIN_LEAF,
                root: Some(grown.cut(depth)),
            };
            let e = eval_on(&cand.predict(val)?, val, ctx.ks);
            if best.as_ref().is_none_or(|(_, be)| better(&e, be)) {
                best = Some((cand, e));
            }
            (ctx.progress)(t + 1, steps);
        }
        let (chosen, _) = best.ok_or_else(|| Error::Config("decision tree: no fit".into()))?;
        *self = chosen;
        Ok(())
    }

    fn predict(&self, x: &Data) -> Result<Vec<f64>> {
        match &self.root {
            Some(root) => Ok((0..x.n()).map(|i| root.leaf(&x.row(i))).collect()),
            None => Err(Error::Config("decision tree: not fitted".into())),
        }
    }

    fn params(&self) -> serde_json::Value {
        serde_json::json!({"max_depth": self.depth, "criterion": "gini", "min_weight_leaf": self.min_weight_leaf, "class_weight": "balanced"})
    }

    fn save(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    fn check(&self) -> Result<()> {
        fn walk(n: &Node) -> std::result::Result<(), String> {
            if let Some((feature, value, left, right)) = n.split() {
                if feature >= N_FEATURES {
                    return Err(format!(
                        "a split on feature {feature}; there are {N_FEATURES}"
                    ));
                }
                if value.is_nan() {
                    return Err("a split threshold is not a number".into());
                }
                return walk(left).and_then(|()| walk(right));
            }
            match n {
                Node::Leaf { prob, .. } if !(0.0..=1.0).contains(prob) => {
                    Err(format!("a leaf probability {prob} outside [0, 1]"))
                }
                _ => Ok(()),
            }
        }
        let root = self
            .root
            .as_ref()
            .ok_or_else(|| super::model::damaged(self.name(), "no tree"))?;
        walk(root).map_err(|e| super::model::damaged(self.name(), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(cols: Vec<Vec<f64>>, y: Vec<bool>) -> Data {
        let n = y.len();
        let mut all = cols;
        all.resize(N_FEATURES, vec![0.0; n]);
        Data {
            cols: all,
            y,
            users: (0..n as i64).collect(),
            anchors: vec![0; n],
            hist: vec![],
        }
    }

    #[test]
    fn finds_the_separating_split_by_hand() {
        // Feature 1 separates perfectly at 2.5; feature 0 is noise. With unit weights, the best
        // Gini split is x1 < 2.5 (impurity 0), chosen over any split of x0.
        let d = data(
            vec![vec![5.0, 1.0, 4.0, 2.0], vec![1.0, 2.0, 3.0, 4.0]],
            vec![false, false, true, true],
        );
        let root = fit_depth(&d, &[1.0; 4], 3, 1.0).unwrap();
        match &root {
            Node::Split {
                feature,
                value,
                left,
                right,
            } => {
                assert_eq!((*feature, *value), (1, 2.5));
                assert!(matches!(**left, Node::Leaf { prob, n: 2, .. } if prob == 0.0));
                assert!(matches!(**right, Node::Leaf { prob, n: 2, .. } if prob == 1.0));
            }
            Node::Leaf { .. } => panic!("expected a split"),
        }
        // A minimum leaf weight of 3 forbids any split of 4 rows.
        assert!(matches!(
            fit_depth(&d, &[1.0; 4], 3, 3.0).unwrap(),
            Node::Leaf { n: 4, .. }
        ));
    }

    #[test]
    fn the_deep_tree_cut_at_a_depth_is_the_tree_grown_to_it() {
        // Three features, labels from an interaction plus noise, uneven weights: many levels.
        let n = 400;
        let f = |i: usize, a: usize, m: usize| ((i * a + 7) % m) as f64;
        let cols = vec![
            (0..n).map(|i| f(i, 13, 17)).collect(),
            (0..n).map(|i| f(i, 7, 11)).collect(),
            (0..n).map(|i| f(i, 5, 23)).collect(),
        ];
        let y: Vec<bool> = (0..n)
            .map(|i| (f(i, 13, 17) > 8.0) ^ (f(i, 7, 11) > 4.0) ^ (i % 9 == 0))
            .collect();
        let d = data(cols, y);
        let w: Vec<f64> = (0..n).map(|i| 1.0 + (i % 3) as f64).collect();
        let deep = grow(&d, &w, 10, 5.0).unwrap();
        let json = |t: &Node| serde_json::to_value(t).unwrap();
        for depth in 0..=10 {
            let grown = fit_depth(&d, &w, depth, 5.0).unwrap();
            assert_eq!(json(&deep.cut(depth)), json(&grown), "depth {depth}");
        }
        // The interaction needs more than one level: the cut trees do differ.
        assert_ne!(json(&deep.cut(1)), json(&deep.cut(3)));
    }

    /// linfa-trees as a reference where it is exact: continuous distinct values, unit weights,
    /// no class ties, small depth. linfa then prunes (merges two children that predict the
    /// same class), so every row must take linfa's path in the own tree (same features, same
    /// sides: the same partition; thresholds may differ within a gap, as linfa takes the
    /// midpoint to the next value of all rows, not of the node's), and where the own tree goes
    /// deeper, all its leaves below must predict the class linfa's merged leaf predicts.
    #[test]
    fn the_same_partition_as_linfa_trees() {
        use linfa::prelude::*;
        use linfa_trees::{DecisionTree, SplitQuality, TreeNode};
        use rand::{RngExt, SeedableRng};

        /// linfa's leaf for a row: the path to it and its predicted class.
        fn linfa_leaf(
            node: &TreeNode<f64, usize>,
            row: &[f64],
            path: &mut Vec<(usize, bool)>,
        ) -> usize {
            if node.is_leaf() {
                return node.prediction().unwrap_or(usize::MAX);
            }
            let (feature, value, _) = node.split();
            let left = row[feature] <= value;
            path.push((feature, left));
            match node.children()[if left { 0 } else { 1 }] {
                Some(c) => linfa_leaf(c, row, path),
                None => usize::MAX,
            }
        }
        fn leaf_probs(node: &Node, out: &mut Vec<f64>) {
            match node {
                Node::Split { left, right, .. } => {
                    leaf_probs(left, out);
                    leaf_probs(right, out);
                }
                Node::Leaf { prob, .. } => out.push(*prob),
            }
        }

        let (mut same, mut merged) = (0, 0);
        for seed in 0..6u64 {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let n = 300;
            let cols: Vec<Vec<f64>> = (0..N_FEATURES)
                .map(|_| (0..n).map(|_| rng.random::<f64>()).collect())
                .collect();
            // Labels from an interaction of three features, with 10% flipped.
            let y: Vec<bool> = (0..n)
                .map(|i| {
                    let base = (cols[2][i] > 0.4) ^ (cols[5][i] + cols[9][i] > 1.1);
                    base ^ (rng.random::<f64>() < 0.1)
                })
                .collect();
            let d = data(cols, y);
            for depth in [2usize, 3, 4] {
                let own = fit_depth(&d, &vec![1.0; n], depth, 1.0).unwrap();
                let records =
                    ndarray::Array2::from_shape_fn((n, N_FEATURES), |(i, j)| d.cols[j][i]);
                let targets = ndarray::Array1::from_iter(d.y.iter().map(|&v| v as usize));
                let reference = DecisionTree::params()
                    .split_quality(SplitQuality::Gini)
                    .max_depth(Some(depth))
                    .min_weight_split(2.0)
                    .min_weight_leaf(1.0)
                    .min_impurity_decrease(1e-12)
                    .fit(&Dataset::new(records, targets))
                    .unwrap();
                for i in 0..n {
                    let row = d.row(i);
                    let mut path = Vec::new();
                    let class = linfa_leaf(reference.root_node(), &row, &mut path);
                    let at = format!("seed {seed}, depth {depth}, row {i}");
                    // Follow linfa's path in the own tree: the same feature and side each step.
                    let mut node = &own;
                    for &(feature, left) in &path {
                        let Some((f, value, l, r)) = node.split() else {
                            panic!("{at}: the own tree stops before linfa's path {path:?}");
                        };
                        assert_eq!(f, feature, "{at}");
                        assert_eq!(row[feature] < value, left, "{at}");
                        node = if left { l } else { r };
                    }
                    let mut probs = Vec::new();
                    leaf_probs(node, &mut probs);
                    // A leaf of half each class has no modal class (linfa picks one in hash
                    // order): it may sit under a merged leaf of either class.
                    assert!(
                        probs
                            .iter()
                            .all(|&p| p == 0.5 || (p > 0.5) as usize == class),
                        "{at}: {probs:?} vs {class}"
                    );
                    if probs.len() == 1 {
                        same += 1;
                    } else {
                        merged += 1;
                    }
                }
            }
        }
        // Mostly an exact match; the merged leaves are what linfa's pruning does. How many rows
        // fall in merged leaves varies from process to process (linfa sums its f32 class
        // weights in HashMap order, which decides near-ties and so its pruning): a CI run had
        // 4308 against 1092 where this machine had more than 4 to 1. Only "mostly" is asserted.
        assert!(
            same > merged,
            "{same} rows in equal leaves, {merged} in merged ones"
        );
    }
}
