//! Tab 5, Targets: the Top-K list of the targeting model on the test anchor. Only the rows in
//! view are formatted each frame, so a ranking of any length draws in constant time.

pub mod money;
pub mod plan_view;
pub mod state;
pub mod view;

pub use state::{Reply, Targets};
pub use view::{render, user_popup};
