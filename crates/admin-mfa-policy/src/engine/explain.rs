//! The slow paths over [`PolicyEngine::decide`] for one subject: every match behind a decision
//! ([`PolicyEngine::explain`]), one action on many targets ([`PolicyEngine::decide_bulk`]) and
//! the widget row ([`PolicyEngine::widget_access`]).

use super::PolicyEngine;
use crate::action::Action;
use crate::decision::{Decision, GuardrailId, RuleId};
use crate::ids::{PageId, WidgetId};
use crate::request::{Context, Request, Subject, Target};

/// Everything `explain` found for one request: the decision and every match behind it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Explanation {
    /// The decision, equal to [`PolicyEngine::decide`]'s.
    pub decision: Decision,
    /// Every matching guardrail, in canonical order.
    pub guardrails: Vec<GuardrailId>,
    /// Every matching forbid, by rule id.
    pub forbids: Vec<RuleId>,
    /// Every matching permit, by rule id.
    pub permits: Vec<RuleId>,
}

/// The decisions of [`PolicyEngine::decide_bulk`], one per target, in target order.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct BulkDecision {
    /// One decision per target.
    pub decisions: Vec<Decision>,
    /// Whether every target is allowed (true for no targets).
    pub all_allowed: bool,
}

/// What a subject may do with the "Admins Without MFA Required" widget (docs/POLICY.md §8).
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum WidgetAccess {
    /// The subject cannot see the Home page at all (Billing Only).
    NoHomePage,
    /// The subject sees Home but not the widget (Command Runner roles).
    Hidden,
    /// The subject sees the widget and its list but cannot act on it.
    ViewOnly,
    /// The subject sees the widget and may require MFA from its list (Administrator With Billing).
    Actionable,
}

impl PolicyEngine {
    /// The slow path of [`decide`](Self::decide): the decision plus every guardrail and rule that
    /// matches the request.
    pub fn explain(&self, req: &Request<'_>) -> Explanation {
        let role = self.role_index(req.subject.role);
        let facts = self.facts(req);
        let bits = self.guardrail_bits(req, role, &facts);
        let guardrails = GuardrailId::ALL
            .iter()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .map(|(_, g)| *g)
            .collect();
        let (mut forbids, mut permits) = (Vec::new(), Vec::new());
        if let Some(cell) = self.cell(role, self.action_index(req.action)) {
            let collect = |start: u32, len: u32, out: &mut Vec<RuleId>| {
                let start = start as usize;
                if let Some(entries) = self.entries.get(start..start.saturating_add(len as usize)) {
                    out.extend(
                        entries
                            .iter()
                            .filter(|e| e.mask & facts.bit != 0)
                            .map(|e| e.rule),
                    );
                }
            };
            collect(cell.forbid_start, cell.forbid_len, &mut forbids);
            collect(cell.permit_start, cell.permit_len, &mut permits);
        }
        Explanation {
            decision: self.decide(req),
            guardrails,
            forbids,
            permits,
        }
    }

    /// Decides one action of one subject on many targets, pointwise.
    pub fn decide_bulk<'t>(
        &self,
        subject: Subject<'_>,
        action: &Action,
        targets: impl IntoIterator<Item = Target<'t>>,
        context: &Context,
    ) -> BulkDecision {
        let decisions: Vec<Decision> = targets
            .into_iter()
            .map(|target| {
                self.decide(&Request {
                    subject,
                    action,
                    target,
                    context,
                })
            })
            .collect();
        let all_allowed = decisions.iter().all(|d| d.allowed);
        BulkDecision {
            decisions,
            all_allowed,
        }
    }

    /// The subject's access to a widget: the widget row of JumpCloud's admin-portal MFA guide, derived from `view-home`,
    /// `view-admins-without-mfa-widget` and `act-on-admins-without-mfa-widget`.
    #[must_use]
    pub fn widget_access(
        &self,
        subject: Subject<'_>,
        widget: WidgetId,
        context: &Context,
    ) -> WidgetAccess {
        let allowed = |action: &Action, target| {
            self.decide(&Request {
                subject,
                action,
                target,
                context,
            })
            .allowed
        };
        if !allowed(&Action::ViewHome, Target::Page(PageId::Home)) {
            WidgetAccess::NoHomePage
        } else if !allowed(&Action::ViewAdminsWithoutMfaWidget, Target::Widget(widget)) {
            WidgetAccess::Hidden
        } else if allowed(&Action::ActOnAdminsWithoutMfaWidget, Target::Widget(widget)) {
            WidgetAccess::Actionable
        } else {
            WidgetAccess::ViewOnly
        }
    }
}
