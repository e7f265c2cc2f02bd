//! `tree`: a CART decision tree (linfa-trees, Gini, balanced sample weights), depth chosen on val.
//!
//! linfa-trees predicts classes only; a ranking needs probabilities, so the fitted splits are
//! copied into a small tree of our own whose leaves hold the train positive rate (what
//! scikit-learn's `predict_proba` reports).

use linfa::prelude::*;
use linfa_trees::{DecisionTree, SplitQuality, TreeNode};
use ndarray::{Array1, Array2};

use super::tune::{Param, search};
use super::{Data, FitCtx, Model, N_FEATURES, eval_on};
use crate::engine::{Error, Result};

/// Search ranges: depth, and the least total sample weight in a leaf.
pub const DEPTH: (i64, i64) = (2, 10);
/// The least total sample weight in a leaf (in majority-class rows).
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
    fn from_linfa(node: &TreeNode<f64, usize>, next_id: &mut usize) -> Node {
        let kids = node.children();
        match (node.is_leaf(), kids[0].as_ref(), kids[1].as_ref()) {
            (false, Some(l), Some(r)) => {
                let (feature, value, _) = node.split();
                let left = Box::new(Node::from_linfa(l, next_id));
                let right = Box::new(Node::from_linfa(r, next_id));
                Node::Split {
                    feature,
                    value,
                    left,
                    right,
                }
            }
            _ => {
                *next_id += 1;
                Node::Leaf {
                    id: *next_id - 1,
                    prob: 0.0,
                    n: 0,
                }
            }
        }
    }

    fn leaf_id(&self, row: &[f64; N_FEATURES]) -> usize {
        match self {
            Node::Split {
                feature,
                value,
                left,
                right,
            } => {
                if row[*feature] < *value {
                    left.leaf_id(row)
                } else {
                    right.leaf_id(row)
                }
            }
            Node::Leaf { id, .. } => *id,
        }
    }

    fn leaf(&self, row: &[f64; N_FEATURES]) -> f64 {
        match self {
            Node::Split {
                feature,
                value,
                left,
                right,
            } => {
                if row[*feature] < *value {
                    left.leaf(row)
                } else {
                    right.leaf(row)
                }
            }
            Node::Leaf { prob, .. } => *prob,
        }
    }
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Tree {
    pub depth: usize,
    pub min_weight_leaf: f64,
    pub root: Option<Node>,
}

/// Class weights that balance the classes to the nearest whole ratio: 1 for the majority, the
/// rounded majority/minority ratio for the minority. linfa-trees moves sample weights between
/// f32 class totals one row at a time; with fractional weights the totals drift on a few hundred
/// thousand rows until its `n_samples > 0.0` assertion fails. Whole numbers add up exactly in
/// f32 below 2^24, so the totals never drift.
pub fn integer_balanced_weights(y: &[bool]) -> Array1<f32> {
    let pos = y.iter().filter(|&&v| v).count().max(1);
    let neg = (y.len() - pos.min(y.len())).max(1);
    let (w_pos, w_neg) = if pos >= neg {
        (1.0, (pos as f64 / neg as f64).round().max(1.0) as f32)
    } else {
        ((neg as f64 / pos as f64).round().max(1.0) as f32, 1.0)
    };
    y.iter().map(|&v| if v { w_pos } else { w_neg }).collect()
}

fn fit_depth(train: &Data, w: &Array1<f32>, depth: usize, min_leaf: f64) -> Result<Node> {
    let records = Array2::from_shape_fn((train.n(), N_FEATURES), |(i, j)| train.cols[j][i]);
    let targets = Array1::from_iter(train.y.iter().map(|&b| b as usize));
    let ds = Dataset::new(records, targets).with_weights(w.clone());
    // linfa-trees 0.8.1 can trip an internal assertion (`n_samples > 0.0`) on some data; a
    // panic in a dependency must not take the run down, so it becomes this trial's error.
    let fitted: DecisionTree<f64, usize> =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            DecisionTree::params()
                .split_quality(SplitQuality::Gini)
                .max_depth(Some(depth))
                .min_weight_leaf(min_leaf as f32)
                .fit(&ds)
        }))
        .map_err(|_| {
            Error::Config(format!(
                "decision tree (depth {depth}, min leaf {min_leaf:.1}) failed inside linfa-trees"
            ))
        })?
        .map_err(|e| Error::Config(format!("decision tree: {e}")))?;
    let mut leaves = 0;
    let mut root = Node::from_linfa(fitted.root_node(), &mut leaves);
    // Leaf probabilities: the unweighted train positive rate of the rows that land there.
    let mut counts = vec![(0usize, 0usize); leaves];
    for i in 0..train.n() {
        let c = &mut counts[root.leaf_id(&train.row(i))];
        c.0 += 1;
        c.1 += train.y[i] as usize;
    }
    let prevalence = train.y.iter().filter(|&&v| v).count() as f64 / train.n().max(1) as f64;
    set_leaves(&mut root, &counts, prevalence);
    Ok(root)
}

fn set_leaves(node: &mut Node, counts: &[(usize, usize)], prevalence: f64) {
    match node {
        Node::Split { left, right, .. } => {
            set_leaves(left, counts, prevalence);
            set_leaves(right, counts, prevalence);
        }
        Node::Leaf { id, prob, n } => {
            let (total, pos) = counts[*id];
            *n = total;
            *prob = if total > 0 {
                pos as f64 / total as f64
            } else {
                prevalence
            };
        }
    }
}

impl Model for Tree {
    fn name(&self) -> &'static str {
        "tree"
    }

    fn fit(&mut self, train: &Data, val: &Data, ctx: &FitCtx) -> Result<()> {
        let w = integer_balanced_weights(&train.y);
        let space = [Param::Int(DEPTH.0, DEPTH.1)];
        let (chosen, _) = search(&space, ctx, 2, |v| {
            let depth = v[0] as usize;
            let cand = Tree {
                depth,
                min_weight_leaf: MIN_LEAF,
                root: Some(fit_depth(train, &w, depth, MIN_LEAF)?),
            };
            let e = eval_on(&cand.predict(val), val, ctx.ks);
            Ok((cand, e))
        })?;
        *self = chosen;
        Ok(())
    }

    fn predict(&self, x: &Data) -> Vec<f64> {
        match &self.root {
            Some(root) => (0..x.n()).map(|i| root.leaf(&x.row(i))).collect(),
            None => vec![f64::NAN; x.n()],
        }
    }

    fn params(&self) -> serde_json::Value {
        serde_json::json!({"max_depth": self.depth, "criterion": "gini", "min_weight_leaf": self.min_weight_leaf, "class_weight": "balanced (whole-number ratio)"})
    }

    fn save(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}
