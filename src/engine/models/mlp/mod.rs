//! `mlp_base`, `mlp_enhance`, `mlp_advanced`, `wide_deep`: feed-forward networks (the layers
//! and their gradients in `nn`), AdamW, class-balanced logistic loss, the best epoch chosen by
//! val Recall@first K (ties: PR-AUC).
//!
//! Weights are drawn from our ChaCha RNG (Kaiming-uniform) and dropout masks too, which makes a
//! seed reproducible. Each kind's forward and backward pass is written out below, so the
//! wiring names fields: a layer that is not there is a compile error.

//!
//! `kind` says what each network is, `nn` holds the layers, `net` wires them per kind, `fit`
//! trains and scores.

pub mod fit;
pub mod kind;
pub mod net;
pub mod nn;

pub use fit::Mlp;
pub use kind::Kind;
