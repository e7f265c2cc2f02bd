//! The Targets tab's money (SPEC §5.2–5.3): the ledger of the list's ranking, rebuilt when the
//! model or the hand edits change (an excluded user frees budget, an added one spends it), the
//! K the budget buys, and the plan view's curves, made once per ledger and read-out so moving K
//! only moves a mark.

use std::sync::Arc;

use crate::engine::run::open::LoadedRun;
use crate::engine::targeting::edits::Edits;
use crate::engine::targeting::money::plan::{PlanRow, Returns, Uplifts};
use crate::engine::targeting::money::{BudgetCut, Ledger};
use crate::engine::targeting::order::TargetOrder;
use crate::engine::targeting::tiers::TierRule;

/// The plan view's curves: the row at every whole percent, and the cut of largest net.
#[derive(Debug, Clone)]
pub struct Curve {
    pub points: Vec<PlanRow>,
    pub best: Option<PlanRow>,
    /// The read-out the return comes from, or why there is none.
    pub uplifts: Result<Uplifts, String>,
    /// The groups' names (the tiers, then the `added` label).
    pub names: Vec<String>,
}

impl Curve {
    /// The row of the list cut at `k` (for the current K: O(tiers)).
    pub fn row_at(&self, ledger: &Ledger, k: usize) -> PlanRow {
        Returns::new(self.names.clone(), self.uplifts.as_ref().ok()).row_at(ledger, k)
    }

    /// The first group on the list cut at `k` without an uplift in the read-out.
    pub fn missing_at(&self, ledger: &Ledger, k: usize) -> Option<String> {
        Returns::new(self.names.clone(), self.uplifts.as_ref().ok())
            .missing_at(ledger, k)
            .map(str::to_string)
    }
}

/// What a curve was made from: the ledger (by address), the read-out (id, day), or why none.
type CurveKey = (usize, Option<(i64, String)>, Option<String>);

#[derive(Debug, Clone, Default)]
pub struct MoneyState {
    /// The model and edits the ledger was built for.
    key: Option<(String, Edits)>,
    /// None: the tiers have no costs; an error: why the list has no cost (a tier without one).
    pub ledger: Option<Result<Arc<Ledger>, String>>,
    /// What the budget buys on the current ledger.
    pub bought: Option<BudgetCut>,
    pub curve: Option<Arc<Curve>>,
    /// The ledger and read-out the curve was made from.
    curve_key: Option<CurveKey>,
}

impl MoneyState {
    /// The ledger, when the list has one.
    pub fn ledger(&self) -> Option<&Ledger> {
        match &self.ledger {
            Some(Ok(l)) => Some(l),
            _ => None,
        }
    }

    /// Rebuild the ledger if the model or the edits changed, and the budget's K on it.
    pub fn ensure(
        &mut self,
        run: &LoadedRun,
        order: &TargetOrder,
        tiers: &TierRule,
        edits: &Edits,
        budget: Option<f64>,
    ) {
        if !tiers.has_costs() {
            self.ledger = None;
            self.bought = None;
            return;
        }
        let stale = self
            .key
            .as_ref()
            .is_none_or(|(m, e)| *m != order.model || !e.same_users(edits));
        if stale {
            self.ledger = Some(
                Ledger::build(run, order, tiers, edits)
                    .map(Arc::new)
                    .map_err(|e| e.to_string()),
            );
            self.key = Some((order.model.clone(), edits.clone()));
        }
        self.bought = match (self.ledger(), budget) {
            (Some(l), Some(b)) => Some(l.budget_k(b)),
            _ => None,
        };
    }

    /// Make the plan view's curves, if the ledger or the read-out changed.
    pub fn ensure_curve(&mut self, names: Vec<String>, uplifts: Result<Uplifts, String>) {
        let Some(Ok(ledger)) = self.ledger.clone() else {
            self.curve = None;
            return;
        };
        let key = (
            Arc::as_ptr(&ledger) as usize,
            uplifts
                .as_ref()
                .ok()
                .map(|u| (u.campaign_id, u.data_end.clone())),
            uplifts.as_ref().err().cloned(),
        );
        if self.curve.is_some() && self.curve_key.as_ref() == Some(&key) {
            return;
        }
        let returns = Returns::new(names.clone(), uplifts.as_ref().ok());
        let points = returns.curve(&ledger);
        let best = returns.best_net(&ledger);
        self.curve = Some(Arc::new(Curve {
            points,
            best,
            uplifts,
            names,
        }));
        self.curve_key = Some(key);
    }
}
