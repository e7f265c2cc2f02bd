//! The m0/m1/m2 label columns (SPEC §2); `features::pass` computes them from the horizon's
//! event count and the home and future brands.

/// m2 when the user has no event in the horizon; m1 when active and both brands are defined
/// and differ; else m0.
pub const LABEL: &str = "label";
/// 1 for m2 (dormant), else 0.
pub const Y: &str = "y";
