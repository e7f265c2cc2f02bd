//! Uplift (SPEC §7a): whom an offer keeps, measured on a randomised campaign. The metrics come
//! first: the Qini and uplift curves and their coefficients, as the uplift libraries define them,
//! and their honest evaluation on held-out users with bootstrap intervals.

pub mod evaluate;
pub mod metrics;

pub use evaluate::{UpliftEval, evaluate};
pub use metrics::{Curve, auuc, qini_coefficient, qini_curve, uplift_curve};
