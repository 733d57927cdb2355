//! The built-in profiles `jumpcloud` and `jumpcloud-strict` as rule lists (docs/POLICY.md §4, §5).
//!
//! The guardrails are not rules here: the engine applies them to every profile and document.

use crate::action::{Action, ActionClass};
use crate::document::{Effect, Extends, RuleDef, TargetSpec};
use crate::role::BuiltinRole;

fn rule(
    id: &str,
    roles: &[BuiltinRole],
    actions: &[Action],
    target: TargetSpec,
    description: &str,
) -> RuleDef {
    RuleDef {
        id: id.to_owned(),
        effect: Effect::Permit,
        roles: roles.iter().map(|r| r.as_str().to_owned()).collect(),
        actions: actions.iter().map(|a| a.as_str().to_owned()).collect(),
        target,
        description: Some(description.to_owned()),
    }
}

/// The rules of a built-in profile, in a fixed order (`None` has none).
#[must_use]
pub fn profile_rules(profile: Extends) -> Vec<RuleDef> {
    use BuiltinRole::{
        Administrator, AdministratorWithBilling as Awb, BillingOnly, CommandRunner,
        CommandRunnerWithBilling, HelpDesk, Manager, ReadOnly,
    };
    if profile == Extends::None {
        return Vec::new();
    }
    let awb_actions: Vec<Action> = Action::BUILTIN
        .into_iter()
        .filter(|a| a.class() != ActionClass::SelfService)
        .collect();
    let mut rules = vec![
        rule(
            "awb-full-access",
            &[Awb],
            &awb_actions,
            TargetSpec::Any,
            "Administrator With Billing has every privilege, within the guardrails",
        ),
        rule(
            "admins-view-home-widget-and-list",
            &[Administrator, Manager, HelpDesk, ReadOnly],
            &[
                Action::ViewHome,
                Action::ViewAdminsWithoutMfaWidget,
                Action::ViewAdminList,
                Action::ViewAdminMfaStatus,
                Action::ToggleWidget,
            ],
            TargetSpec::Any,
            "Administrator, Manager, Help Desk and Read Only see Home, the widget and the admin list, and arrange their own Home",
        ),
        rule(
            "admins-view-mfa-posture",
            &[Administrator, Manager, HelpDesk, ReadOnly],
            &[Action::ViewMfaPosture],
            TargetSpec::Any,
            "Administrator, Manager, Help Desk and Read Only see the MFA posture report, as they see the widget",
        ),
        rule(
            "command-runners-view-home",
            &[CommandRunner, CommandRunnerWithBilling],
            &[Action::ViewHome, Action::ToggleWidget],
            TargetSpec::Any,
            "Command Runner roles see Home (but not the widget) and arrange their own Home",
        ),
        rule(
            "billing-roles-manage-billing",
            &[CommandRunnerWithBilling, BillingOnly],
            &[Action::ManageBilling],
            TargetSpec::Any,
            "Command Runner With Billing and Billing Only change the payment method",
        ),
        rule(
            "administrator-enables-own-mfa",
            &[Administrator],
            &[Action::EnableMfa],
            TargetSpec::SelfOnly,
            "Administrator may enable MFA for itself",
        ),
        rule(
            "self-service-totp",
            &BuiltinRole::ALL,
            &[Action::EnrollOwnTotp, Action::ResetOwnTotp],
            TargetSpec::SelfOnly,
            "Every admin enrolls and resets its own TOTP factor through the login flow",
        ),
    ];
    if profile == Extends::Jumpcloud {
        rules.push(rule(
            "administrator-manages-mfa",
            &[Administrator],
            &[Action::EnableMfa, Action::ResetMfa],
            TargetSpec::NotRoles(vec![Awb.as_str().to_owned()]),
            "Administrator may enable or reset MFA for other admins who are not Administrator With Billing",
        ));
    }
    rules
}
