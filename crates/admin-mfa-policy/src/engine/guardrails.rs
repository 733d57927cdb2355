//! The guardrails (POLICY.md §7): checks in code that run before any rule, so that no policy
//! document can remove or grant around them.

use super::PolicyEngine;
use super::decide::TargetFacts;
use crate::action::{Action, ActionClass};
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
        let bits = [
            !facts.same_org,
            mutate && facts.target_awb && !subject_awb,
            matches!(action, Action::DeleteAdmin) && facts.is_self,
            req.context.awb_count <= 1 && lifecycle && facts.target_awb,
            mutate && read_only,
            req.context.global_mfa_required && matches!(action, Action::DisableMfaRequirement),
            action.is_awb_only() && !subject_awb,
        ];
        let mut set = 0u8;
        for (i, hit) in bits.into_iter().enumerate() {
            set |= u8::from(hit) << i;
        }
        set
    }
}
