//! The hot path: [`PolicyEngine::decide`], guardrail > forbid > permit > default deny, and
//! `visible`. A few table loads per request; no allocation, no panic.

use super::{
    ADMINS_PAGE, Cell, HOME, ORG, OTHER_UNKNOWN, PolicyEngine, SELF, SELF_FLOW, VIEW_ADMIN_LIST,
    VIEW_HOME, VIEW_WIDGET, WIDGET, role_bit,
};
use crate::decision::{Decision, GuardrailId, Reason, RuleId};
use crate::ids::{PageId, WidgetId};
use crate::request::{Request, Target};

pub(super) struct TargetFacts {
    pub(super) bit: u64,
    pub(super) same_org: bool,
    pub(super) is_self: bool,
    pub(super) target_awb: bool,
}

impl PolicyEngine {
    pub(super) fn facts(&self, req: &Request<'_>) -> TargetFacts {
        let subject = req.subject;
        match req.target {
            Target::Admin { id, org, role } => {
                let is_self = id == subject.id;
                let bit = if is_self {
                    if req.context.via_login_flow {
                        SELF_FLOW
                    } else {
                        SELF
                    }
                } else {
                    self.role_index(role).map_or(OTHER_UNKNOWN, role_bit)
                };
                TargetFacts {
                    bit,
                    same_org: org == subject.org,
                    is_self,
                    target_awb: role.is_awb(),
                }
            }
            Target::Page(PageId::Home) => TargetFacts {
                bit: HOME,
                same_org: true,
                is_self: false,
                target_awb: false,
            },
            Target::Page(PageId::Administrators) => TargetFacts {
                bit: ADMINS_PAGE,
                same_org: true,
                is_self: false,
                target_awb: false,
            },
            Target::Widget(WidgetId::AdminsWithoutMfaRequired) => TargetFacts {
                bit: WIDGET,
                same_org: true,
                is_self: false,
                target_awb: false,
            },
            Target::Org(org) => TargetFacts {
                bit: ORG,
                same_org: org == subject.org,
                is_self: false,
                target_awb: false,
            },
        }
    }

    fn view_allowed(&self, role: Option<usize>, action: usize, bit: u64) -> bool {
        self.cell(role, Some(action))
            .is_some_and(|c| c.forbid & bit == 0 && c.permit & bit != 0)
    }

    fn visible(&self, req: &Request<'_>, role: Option<usize>, facts: &TargetFacts) -> bool {
        if !facts.same_org {
            return false;
        }
        match req.target {
            Target::Admin { .. } if facts.is_self => true,
            Target::Admin { .. } | Target::Page(PageId::Administrators) => {
                self.view_allowed(role, VIEW_ADMIN_LIST, ADMINS_PAGE)
            }
            Target::Page(PageId::Home) => self.view_allowed(role, VIEW_HOME, HOME),
            Target::Widget(WidgetId::AdminsWithoutMfaRequired) => {
                self.view_allowed(role, VIEW_WIDGET, WIDGET)
            }
            Target::Org(_) => true,
        }
    }

    fn first_entry(&self, start: u32, len: u32, bit: u64) -> Option<RuleId> {
        let start = start as usize;
        self.entries
            .get(start..start.saturating_add(len as usize))?
            .iter()
            .find(|e| e.mask & bit != 0)
            .map(|e| e.rule)
    }

    fn rule_reason(&self, cell: Option<&Cell>, bit: u64) -> Reason {
        let Some(cell) = cell else {
            return Reason::DefaultDeny;
        };
        if cell.forbid & bit != 0
            && let Some(rule) = self.first_entry(cell.forbid_start, cell.forbid_len, bit)
        {
            return Reason::Forbid(rule);
        }
        if cell.permit & bit != 0
            && let Some(rule) = self.first_entry(cell.permit_start, cell.permit_len, bit)
        {
            return Reason::Permit(rule);
        }
        Reason::DefaultDeny
    }

    /// Decides a request: guardrail > forbid > permit > default deny (docs/POLICY.md §9).
    ///
    /// Total: never panics, never allocates, and runs in bounded time (a few table loads and a
    /// scan of at most the rules naming this role and action).
    pub fn decide(&self, req: &Request<'_>) -> Decision {
        let role = self.role_index(req.subject.role);
        let facts = self.facts(req);
        let visible = self.visible(req, role, &facts);
        let guardrails = self.guardrail_bits(req, role, &facts);
        if guardrails != 0 {
            let first = guardrails.trailing_zeros() as usize;
            let id = GuardrailId::ALL
                .get(first)
                .copied()
                .unwrap_or(GuardrailId::SameOrgOnly);
            return Decision {
                allowed: false,
                reason: Reason::Guardrail(id),
                visible,
            };
        }
        let cell = self.cell(role, self.action_index(req.action));
        let reason = self.rule_reason(cell, facts.bit);
        Decision {
            allowed: matches!(reason, Reason::Permit(_)),
            reason,
            visible,
        }
    }
}
