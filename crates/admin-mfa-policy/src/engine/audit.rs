//! Audits and tooling over the whole policy: the exhaustive decision matrix
//! ([`PolicyEngine::matrix`]), the difference of two engines ([`PolicyEngine::diff`]) and the
//! load-time warnings ([`PolicyEngine::warnings`]).

use std::collections::BTreeMap;

use super::{ADMINS_PAGE, HOME, ORG, OTHERS, PolicyEngine, SELF, WIDGET, domain_mask, role_bit};
use crate::action::Action;
use crate::decision::Decision;
use crate::document::{Effect, ValidationWarning};
use crate::ids::{AdminId, OrgId, PageId, WidgetId};
use crate::matrix::{
    DecisionMatrix, MATRIX_CONTEXTS, MatrixChange, MatrixRow, MatrixTarget, Verdict,
};
use crate::request::{Context, Request, Subject, Target};
use crate::role::{BuiltinRole, Role};

impl PolicyEngine {
    /// The exhaustive decision table: every known subject role × action × kind of target
    /// (self, another admin of each known role, an admin of another organization, the pages,
    /// the widget, the own and another organization) × the eight [`MATRIX_CONTEXTS`].
    #[must_use]
    pub fn matrix(&self) -> DecisionMatrix {
        self.matrix_with(false)
    }

    /// The matrix; `full` decides all eight contexts of every row instead of only those that can differ.
    fn matrix_with(&self, full: bool) -> DecisionMatrix {
        let subject_id = AdminId::from_bytes([0x11; 16]);
        let other_id = AdminId::from_bytes([0x22; 16]);
        let org = OrgId::from_bytes([0xa0; 16]);
        let other_org = OrgId::from_bytes([0xb0; 16]);
        let awb = Role::Builtin(BuiltinRole::AdministratorWithBilling);
        let mut targets = vec![MatrixTarget::SelfAdmin];
        targets.extend(self.roles().cloned().map(MatrixTarget::Admin));
        targets.push(MatrixTarget::OtherOrgAdmin);
        targets.extend(PageId::ALL.map(MatrixTarget::Page));
        targets.extend(WidgetId::ALL.map(MatrixTarget::Widget));
        targets.extend([MatrixTarget::Org, MatrixTarget::OtherOrg]);
        let mut rows = Vec::with_capacity(self.roles.len() * self.actions.len() * 12);
        for subject_role in self.roles() {
            let subject = Subject {
                id: subject_id,
                org,
                role: subject_role,
            };
            for action in &self.actions {
                let domain = domain_mask(action);
                for target in &targets {
                    let (t, bit) = match target {
                        MatrixTarget::SelfAdmin => (
                            Target::Admin {
                                id: subject_id,
                                org,
                                role: subject_role,
                            },
                            SELF,
                        ),
                        MatrixTarget::Admin(role) => (
                            Target::Admin {
                                id: other_id,
                                org,
                                role,
                            },
                            self.role_index(role).map_or(0, role_bit),
                        ),
                        MatrixTarget::OtherOrgAdmin => (
                            Target::Admin {
                                id: other_id,
                                org: other_org,
                                role: &awb,
                            },
                            OTHERS,
                        ),
                        MatrixTarget::Page(PageId::Home) => (Target::Page(PageId::Home), HOME),
                        MatrixTarget::Page(PageId::Administrators) => {
                            (Target::Page(PageId::Administrators), ADMINS_PAGE)
                        }
                        MatrixTarget::Widget(w) => (Target::Widget(*w), WIDGET),
                        MatrixTarget::Org => (Target::Org(org), ORG),
                        MatrixTarget::OtherOrg => (Target::Org(other_org), ORG),
                    };
                    if domain & bit == 0 {
                        continue;
                    }
                    let decide = |context: &Context| {
                        self.decide(&Request {
                            subject,
                            action,
                            target: t,
                            context,
                        })
                    };
                    let decisions = if full {
                        MATRIX_CONTEXTS.map(|context| decide(&context))
                    } else {
                        // Only three facts of a context can change a decision: the login flow
                        // (self targets only), the global requirement (G5, `disable-mfa-requirement`)
                        // and the AwB count (G3, lifecycle actions on an AwB). Decide the contexts
                        // that differ in those, copy the rest; a unit test checks this against the
                        // full evaluation.
                        let target_awb = match target {
                            MatrixTarget::SelfAdmin => subject_role.is_awb(),
                            MatrixTarget::Admin(role) => role.is_awb(),
                            _ => false,
                        };
                        let lifecycle = matches!(
                            action,
                            Action::DeleteAdmin | Action::SuspendAdmin | Action::ChangeAdminRole
                        );
                        let relevant =
                            (usize::from(matches!(action, Action::DisableMfaRequirement)) << 2)
                                | (usize::from(lifecycle && target_awb) << 1)
                                | usize::from(matches!(target, MatrixTarget::SelfAdmin));
                        let mut decided: [Option<Decision>; 8] = [None; 8];
                        core::array::from_fn(|i| {
                            let base = i & relevant;
                            if let Some(Some(d)) = decided.get(base) {
                                return *d;
                            }
                            let d = MATRIX_CONTEXTS
                                .get(base)
                                .map_or_else(|| decide(&Context::default()), decide);
                            if let Some(slot) = decided.get_mut(base) {
                                *slot = Some(d);
                            }
                            d
                        })
                    };
                    rows.push(MatrixRow {
                        subject: subject_role.clone(),
                        action: action.clone(),
                        target: target.clone(),
                        decisions,
                    });
                }
            }
        }
        DecisionMatrix::new(
            self.profile,
            self.rules.iter().map(|r| r.id.clone()).collect(),
            rows,
        )
    }

    /// The cells of the two engines' matrices whose verdict (allowed, visible) differs, and the
    /// cells only one of them has (custom roles and actions), in matrix order of `other`.
    #[must_use]
    pub fn diff(&self, other: &Self) -> Vec<MatrixChange> {
        let mine = self.matrix();
        let theirs = other.matrix();
        let mut before: BTreeMap<(&Role, &Action, &MatrixTarget), &MatrixRow> = BTreeMap::new();
        for row in mine.rows() {
            before.insert((&row.subject, &row.action, &row.target), row);
        }
        let mut changes = Vec::new();
        for row in theirs.rows() {
            let old = before.remove(&(&row.subject, &row.action, &row.target));
            for (i, context) in MATRIX_CONTEXTS.iter().enumerate() {
                let after = row.decisions.get(i).map(Verdict::of);
                let prior = old.and_then(|o| o.decisions.get(i)).map(Verdict::of);
                if prior != after {
                    changes.push(MatrixChange {
                        subject: row.subject.clone(),
                        action: row.action.clone(),
                        target: row.target.clone(),
                        context: *context,
                        before: prior,
                        after,
                    });
                }
            }
        }
        for row in before.into_values() {
            for (i, context) in MATRIX_CONTEXTS.iter().enumerate() {
                changes.push(MatrixChange {
                    subject: row.subject.clone(),
                    action: row.action.clone(),
                    target: row.target.clone(),
                    context: *context,
                    before: row.decisions.get(i).map(Verdict::of),
                    after: None,
                });
            }
        }
        changes
    }

    /// The warnings of docs/POLICY.md §11, found through the exhaustive matrix: permits that only
    /// guardrails ever answer, rules that never match, and widget roles that break the view chain.
    #[must_use]
    pub fn warnings(&self) -> Vec<ValidationWarning> {
        let mut matched = vec![false; self.rules.len()];
        let mut effective = vec![false; self.rules.len()];
        let matrix = self.matrix();
        let subject_id = AdminId::from_bytes([0x11; 16]);
        let other_id = AdminId::from_bytes([0x22; 16]);
        let org = OrgId::from_bytes([0xa0; 16]);
        for row in matrix.rows() {
            let target = match &row.target {
                MatrixTarget::SelfAdmin => Target::Admin {
                    id: subject_id,
                    org,
                    role: &row.subject,
                },
                MatrixTarget::Admin(role) => Target::Admin {
                    id: other_id,
                    org,
                    role,
                },
                MatrixTarget::Page(p) => Target::Page(*p),
                MatrixTarget::Widget(w) => Target::Widget(*w),
                MatrixTarget::Org => Target::Org(org),
                MatrixTarget::OtherOrgAdmin | MatrixTarget::OtherOrg => continue,
            };
            for context in &MATRIX_CONTEXTS {
                let req = Request {
                    subject: Subject {
                        id: subject_id,
                        org,
                        role: &row.subject,
                    },
                    action: &row.action,
                    target,
                    context,
                };
                let explanation = self.explain(&req);
                for id in explanation.forbids.iter().chain(&explanation.permits) {
                    if let Some(m) = matched.get_mut(id.index()) {
                        *m = true;
                    }
                    if explanation.guardrails.is_empty()
                        && let Some(e) = effective.get_mut(id.index())
                    {
                        *e = true;
                    }
                }
            }
        }
        let mut warnings = Vec::new();
        for ((rule, matched), effective) in self.rules.iter().zip(matched).zip(effective) {
            if !matched {
                warnings.push(ValidationWarning::NeverMatches(rule.id.clone()));
            } else if !effective && rule.effect == Effect::Permit {
                warnings.push(ValidationWarning::DeadPermit(rule.id.clone()));
            }
        }
        let context = Context {
            global_mfa_required: false,
            awb_count: 2,
            via_login_flow: false,
        };
        for role in self.roles() {
            let subject = Subject {
                id: subject_id,
                org,
                role,
            };
            let allowed = |action: &Action, target| {
                self.decide(&Request {
                    subject,
                    action,
                    target,
                    context: &context,
                })
                .allowed
            };
            let widget = Target::Widget(WidgetId::AdminsWithoutMfaRequired);
            let acts = allowed(&Action::ActOnAdminsWithoutMfaWidget, widget);
            let views = allowed(&Action::ViewAdminsWithoutMfaWidget, widget);
            let home = allowed(&Action::ViewHome, Target::Page(PageId::Home));
            if acts && !views {
                warnings.push(ValidationWarning::WidgetActionWithoutView(role.to_string()));
            }
            if views && !home {
                warnings.push(ValidationWarning::WidgetViewWithoutHome(role.to_string()));
            }
        }
        warnings
    }
}

#[cfg(all(test, feature = "proptest"))]
mod tests {
    use proptest::prelude::*;

    use super::PolicyEngine;

    #[test]
    fn matrix_shortcut_equals_full_evaluation_for_the_profiles() {
        for engine in [PolicyEngine::jumpcloud(), PolicyEngine::jumpcloud_strict()] {
            assert_eq!(engine.matrix(), engine.matrix_with(true));
        }
    }

    proptest! {
        #[test]
        fn matrix_shortcut_equals_full_evaluation(doc in crate::testing::arb_document()) {
            let engine = PolicyEngine::from_document(doc).unwrap();
            prop_assert_eq!(engine.matrix(), engine.matrix_with(true));
        }
    }
}
