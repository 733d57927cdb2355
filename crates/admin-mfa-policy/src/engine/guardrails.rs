//! The guardrails (docs/POLICY.md §7): checks in code that run before any rule, so that no policy
//! document can remove or grant around them. Each is one condition on the request and the facts
//! about its target; [`GuardrailId`] names and explains them.

use super::PolicyEngine;
use super::decide::TargetFacts;
use crate::action::{Action, ActionClass};
use crate::decision::GuardrailId;
use crate::request::Request;
use crate::role::Role;

impl PolicyEngine {
    /// The guardrails matching a request, in canonical order, as a bit set (bit i = `GuardrailId::ALL[i]`).
    pub(super) fn guardrail_bits(
        &self,
        req: &Request<'_>,
        role: Option<usize>,
        facts: &TargetFacts,
    ) -> u8 {
        let action = req.action;
        let mutate = action.class() == ActionClass::Mutate;
        let subject_awb = req.subject.role.is_awb();
        let read_only = match req.subject.role {
            Role::Builtin(b) => b.is_read_only(),
            Role::Custom(_) => role
                .and_then(|i| self.roles.get(i))
                .is_some_and(|r| r.read_only),
        };
        let lifecycle = matches!(
            action,
            Action::DeleteAdmin | Action::SuspendAdmin | Action::ChangeAdminRole
        );
        // In the order of `GuardrailId::ALL`; the length ties the two together.
        let bits: [bool; GuardrailId::ALL.len()] = [
            // G7 same-org-only
            !facts.same_org,
            // G1 protect-awb
            mutate && facts.target_awb && !subject_awb,
            // G2 no-self-delete
            matches!(action, Action::DeleteAdmin) && facts.is_self,
            // G3 keep-last-awb
            req.context.awb_count <= 1 && lifecycle && facts.target_awb,
            // G4 read-only-is-read-only
            mutate && read_only,
            // G5 global-mfa-locked
            req.context.global_mfa_required && matches!(action, Action::DisableMfaRequirement),
            // G6 awb-only-admin-lifecycle
            action.is_awb_only() && !subject_awb,
            // G8 no-self-mfa-removal: a session never weakens its own MFA; the own factor is
            // reset through the e-mailed link (`reset-own-totp`), which is self-service.
            facts.is_self && matches!(action, Action::DisableMfaRequirement | Action::ResetMfa),
        ];
        let mut set = 0u8;
        for (i, hit) in bits.into_iter().enumerate() {
            set |= u8::from(hit) << i;
        }
        set
    }
}
