//! Uplift (SPEC §7a): whom an offer keeps, learnt from a randomised campaign. The metrics (the
//! Qini and uplift curves and their coefficients, as the uplift libraries define them) and their
//! honest evaluation with bootstrap intervals; the learners on the project's own booster; and
//! `uplift train`, which fits them on a campaign's users and writes a folder anyone can check.

pub mod apply;
pub mod evaluate;
pub mod learners;
pub mod metrics;
pub mod output;
pub mod train;

pub use apply::UpliftModel;
pub use evaluate::{UpliftEval, evaluate};
pub use learners::Method;
pub use metrics::{Curve, auuc, qini_coefficient, qini_curve, uplift_curve};
pub use train::{Trained, UpliftReport, UpliftRequest, train};
