//! A flat, cache-friendly copy of a trained smartcore forest for serving.
//!
//! smartcore trains the forest and stays the reference; at load time its trees are copied
//! (from their serialized form) into one array of nodes, and predictions walk that array.
//! The arithmetic is smartcore's own — the same comparisons, leaf values summed in tree order,
//! divided by the tree count — so results are bit-for-bit identical (a test checks every row
//! of the dataset).

use serde::Deserialize;

/// Marks a leaf in [`Node::feature`].
const LEAF: u32 = u32::MAX;

/// 16 bytes; an inner node's two children sit side by side, so the walk needs no branch to
/// pick one: `left + (x > value)`.
#[derive(Debug, Clone, Copy)]
struct Node {
    /// Split threshold for an inner node (go left when `x[feature] <= value`); the output
    /// for a leaf.
    value: f64,
    feature: u32,
    /// Index of the left ("true") child; the right child is at `left + 1`.
    left: u32,
}

/// Why a forest could not be copied.
#[derive(Debug, thiserror::Error)]
pub enum FlatForestError {
    #[error("the forest has not been fitted")]
    Unfitted,
    #[error("tree {tree}, node {node}: {problem}")]
    Malformed {
        tree: usize,
        node: usize,
        problem: &'static str,
    },
    #[error("cannot read the forest's trees")]
    Serde(#[from] serde_json::Error),
}

/// The serialized layout of smartcore 0.7's `RandomForestRegressor` (only what inference needs).
#[derive(Deserialize)]
struct ForestView {
    forest_regressor: Option<TreesView>,
}

#[derive(Deserialize)]
struct TreesView {
    trees: Vec<TreeView>,
}

#[derive(Deserialize)]
struct TreeView {
    nodes: Vec<NodeView>,
}

#[derive(Deserialize)]
struct NodeView {
    output: f64,
    split_feature: usize,
    split_value: Option<f64>,
    true_child: Option<usize>,
    false_child: Option<usize>,
}

/// Every tree's nodes in one vector; `roots[i]` is where tree `i` starts.
#[derive(Debug, Clone)]
pub struct FlatForest {
    nodes: Vec<Node>,
    roots: Vec<u32>,
    n_features: usize,
}

impl FlatForest {
    /// Copies the trees of a smartcore forest given in its serialized (serde) form.
    pub fn from_serialized(
        value: serde_json::Value,
        n_features: usize,
    ) -> Result<Self, FlatForestError> {
        let view: ForestView = serde_json::from_value(value)?;
        let trees = view
            .forest_regressor
            .ok_or(FlatForestError::Unfitted)?
            .trees;
        if trees.is_empty() {
            return Err(FlatForestError::Unfitted);
        }
        let mut nodes: Vec<Node> = Vec::new();
        let mut roots = Vec::with_capacity(trees.len());
        for (t, tree) in trees.iter().enumerate() {
            let bad = |node, problem| FlatForestError::Malformed {
                tree: t,
                node,
                problem,
            };
            if tree.nodes.is_empty() {
                return Err(bad(0, "empty tree"));
            }
            // Breadth-first copy: (source node, slot reserved for it in `nodes`).
            roots.push(nodes.len() as u32);
            nodes.push(Node {
                value: 0.0,
                feature: LEAF,
                left: 0,
            });
            let mut queue = std::collections::VecDeque::from([(0usize, nodes.len() - 1)]);
            let mut copied = 0usize;
            while let Some((source, slot)) = queue.pop_front() {
                copied += 1;
                if copied > tree.nodes.len() {
                    return Err(bad(source, "the tree has a cycle"));
                }
                let node = &tree.nodes[source];
                nodes[slot] = match (node.true_child, node.false_child) {
                    (None, _) => Node {
                        value: node.output,
                        feature: LEAF,
                        left: 0,
                    },
                    (Some(l), Some(r)) => {
                        if l >= tree.nodes.len() || r >= tree.nodes.len() {
                            return Err(bad(source, "child out of range"));
                        }
                        if node.split_feature >= n_features {
                            return Err(bad(source, "split on a feature the model does not have"));
                        }
                        let left = nodes.len();
                        nodes.push(Node {
                            value: 0.0,
                            feature: LEAF,
                            left: 0,
                        });
                        nodes.push(Node {
                            value: 0.0,
                            feature: LEAF,
                            left: 0,
                        });
                        queue.push_back((l, left));
                        queue.push_back((r, left + 1));
                        Node {
                            // smartcore compares against NaN (always false) when unset.
                            value: node.split_value.unwrap_or(f64::NAN),
                            feature: node.split_feature as u32,
                            left: left as u32,
                        }
                    }
                    (Some(_), None) => return Err(bad(source, "inner node without a false child")),
                };
            }
        }
        Ok(Self {
            nodes,
            roots,
            n_features,
        })
    }

    /// Number of features a row must have.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// The forest's prediction for one row (`row.len() == n_features`).
    pub fn predict_row(&self, row: &[f64]) -> f64 {
        let mut sum = 0.0;
        for &root in &self.roots {
            let mut i = root as usize;
            loop {
                let node = self.nodes[i];
                if node.feature == LEAF {
                    sum += node.value;
                    break;
                }
                // Left exactly when smartcore's `x <= threshold` holds (a NaN threshold sends
                // every row right).
                let goes_left = row[node.feature as usize] <= node.value;
                i = node.left as usize + usize::from(!goes_left);
            }
        }
        sum / self.roots.len() as f64
    }
}
