//! The booster's regression trees (on the log-loss gradients): nodes in an array, children after
//! their parent, a leaf's output in log-odds. (The `tree` model's own decision tree is
//! `models::decision_tree`.)

use crate::engine::features::matrix::N_FEATURES;

/// One node of a tree. Children come after their parent in `nodes`, so a walk always ends.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Node {
    /// The split feature; `None` for a leaf.
    pub feature: Option<usize>,
    /// Rows with `value <= threshold` go left.
    pub threshold: f64,
    pub left: usize,
    pub right: usize,
    /// The leaf's output (log-odds, learning rate applied); 0 for an inner node.
    pub value: f64,
    /// Train rows that reached this node (TreeSHAP's weights).
    pub cover: f64,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RegressionTree {
    pub nodes: Vec<Node>,
}

impl RegressionTree {
    pub fn leaf_of(&self, row: &[f64; N_FEATURES]) -> usize {
        let mut i = 0;
        while let Some(f) = self.nodes[i].feature {
            // NaN goes right; the models never see one (`Data::from_table` refuses them).
            i = if row[f] <= self.nodes[i].threshold {
                self.nodes[i].left
            } else {
                self.nodes[i].right
            };
        }
        i
    }

    pub fn predict(&self, row: &[f64; N_FEATURES]) -> f64 {
        self.nodes[self.leaf_of(row)].value
    }
}
