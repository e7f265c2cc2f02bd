//! Money (SPEC §5.1–5.3): what each tier's offer costs, the K a budget buys, and what a list is
//! expected to return with the uplifts of a read-out campaign.

pub mod costs;
pub mod currency;
pub mod ledger;
pub mod plan;
pub mod summary;
pub mod table;

pub use costs::{Cost, MAX_AMOUNT, Value, parse_budget};
pub use currency::Currency;
pub use ledger::{BudgetCut, Ledger};
pub use summary::{ListMoney, group_names};
pub use table::PlanTable;

/// A list's money for its outputs: the ledger of its ranking, what the list costs (and what the
/// budget bought), the plan's table; or why there is none (a config without costs).
#[derive(Debug, Clone, Default)]
pub struct Money {
    pub ledger: Option<Ledger>,
    pub list: Option<ListMoney>,
    pub plan: Option<PlanTable>,
    pub why_not: Option<String>,
}
