//! Every rule of JumpCloud's admin-portal MFA guide and of docs/POLICY.md §8, one test each.

#![allow(clippy::unwrap_used, reason = "tests")]

use admin_mfa_policy::{
    Action, AdminId, BuiltinRole, Context, Decision, GuardrailId, OrgId, PageId, PolicyEngine,
    Reason, Request, Role, Subject, Target, WidgetAccess, WidgetId,
};

const ORG: OrgId = OrgId::from_bytes([0xa0; 16]);
const OTHER_ORG: OrgId = OrgId::from_bytes([0xb0; 16]);
const ME: AdminId = AdminId::from_bytes([1; 16]);
const YOU: AdminId = AdminId::from_bytes([2; 16]);
const CTX: Context = Context {
    global_mfa_required: false,
    awb_count: 2,
    via_login_flow: false,
};

fn role(r: BuiltinRole) -> Role {
    Role::Builtin(r)
}

fn on_admin(
    engine: &PolicyEngine,
    subject: BuiltinRole,
    action: Action,
    target: BuiltinRole,
    ctx: &Context,
) -> Decision {
    let (s, t) = (role(subject), role(target));
    engine.decide(&Request {
        subject: Subject {
            id: ME,
            org: ORG,
            role: &s,
        },
        action: &action,
        target: Target::Admin {
            id: YOU,
            org: ORG,
            role: &t,
        },
        context: ctx,
    })
}

fn on_self(engine: &PolicyEngine, subject: BuiltinRole, action: Action, ctx: &Context) -> Decision {
    let s = role(subject);
    engine.decide(&Request {
        subject: Subject {
            id: ME,
            org: ORG,
            role: &s,
        },
        action: &action,
        target: Target::Admin {
            id: ME,
            org: ORG,
            role: &s,
        },
        context: ctx,
    })
}

fn rule_name(engine: &PolicyEngine, d: Decision) -> String {
    match d.reason {
        Reason::Permit(id) | Reason::Forbid(id) => engine.rule(id).unwrap().id.clone(),
        other => format!("{other:?}"),
    }
}

fn engines() -> [PolicyEngine; 2] {
    [PolicyEngine::jumpcloud(), PolicyEngine::jumpcloud_strict()]
}

#[test]
fn administrator_cannot_enable_mfa_for_administrator_with_billing() {
    for engine in engines() {
        let d = on_admin(
            &engine,
            BuiltinRole::Administrator,
            Action::EnableMfa,
            BuiltinRole::AdministratorWithBilling,
            &CTX,
        );
        assert!(!d.allowed);
        assert_eq!(d.reason, Reason::Guardrail(GuardrailId::ProtectAwb));
        assert!(
            d.visible,
            "the Administrator sees the admin list, so this is forbidden, not not-found"
        );
    }
}

#[test]
fn administrator_with_billing_can_enable_mfa_for_themselves() {
    for engine in engines() {
        let d = on_self(
            &engine,
            BuiltinRole::AdministratorWithBilling,
            Action::EnableMfa,
            &CTX,
        );
        assert!(d.allowed);
        assert_eq!(rule_name(&engine, d), "awb-full-access");
    }
}

#[test]
fn administrator_can_enable_mfa_for_themselves_in_both_profiles() {
    for engine in engines() {
        let d = on_self(&engine, BuiltinRole::Administrator, Action::EnableMfa, &CTX);
        assert!(d.allowed);
        assert_eq!(rule_name(&engine, d), "administrator-enables-own-mfa");
    }
}

#[test]
fn administrator_enables_and_resets_mfa_for_a_manager_in_jumpcloud_only() {
    let engine = PolicyEngine::jumpcloud();
    for action in [Action::EnableMfa, Action::ResetMfa] {
        let d = on_admin(
            &engine,
            BuiltinRole::Administrator,
            action.clone(),
            BuiltinRole::Manager,
            &CTX,
        );
        assert!(d.allowed, "{action}");
        assert_eq!(rule_name(&engine, d), "administrator-manages-mfa");
        let strict = on_admin(
            &PolicyEngine::jumpcloud_strict(),
            BuiltinRole::Administrator,
            action,
            BuiltinRole::Manager,
            &CTX,
        );
        assert_eq!(strict.reason, Reason::DefaultDeny);
    }
}

fn widget_row(engine: &PolicyEngine, r: BuiltinRole) -> WidgetAccess {
    let s = role(r);
    engine.widget_access(
        Subject {
            id: ME,
            org: ORG,
            role: &s,
        },
        WidgetId::AdminsWithoutMfaRequired,
        &CTX,
    )
}

#[test]
fn widget_administrator_with_billing_can_see_the_widget_and_take_action_on_the_list() {
    for engine in engines() {
        assert_eq!(
            widget_row(&engine, BuiltinRole::AdministratorWithBilling),
            WidgetAccess::Actionable
        );
        for target in BuiltinRole::ALL {
            let d = on_admin(
                &engine,
                BuiltinRole::AdministratorWithBilling,
                Action::RequireMfaBulk,
                target,
                &CTX,
            );
            assert!(d.allowed, "require-mfa-bulk on {target}");
        }
    }
}

#[test]
fn widget_administrator_help_desk_manager_read_only_can_see_the_widget_but_cannot_take_action() {
    for engine in engines() {
        for r in [
            BuiltinRole::Administrator,
            BuiltinRole::HelpDesk,
            BuiltinRole::Manager,
            BuiltinRole::ReadOnly,
        ] {
            assert_eq!(widget_row(&engine, r), WidgetAccess::ViewOnly, "{r}");
            let d = on_admin(
                &engine,
                r,
                Action::RequireMfaBulk,
                BuiltinRole::Manager,
                &CTX,
            );
            assert!(!d.allowed && d.visible, "{r}: forbidden, not hidden");
        }
    }
}

#[test]
fn widget_billing_only_cannot_see_the_home_page() {
    for engine in engines() {
        assert_eq!(
            widget_row(&engine, BuiltinRole::BillingOnly),
            WidgetAccess::NoHomePage
        );
        let s = role(BuiltinRole::BillingOnly);
        let d = engine.decide(&Request {
            subject: Subject {
                id: ME,
                org: ORG,
                role: &s,
            },
            action: &Action::ViewHome,
            target: Target::Page(PageId::Home),
            context: &CTX,
        });
        assert_eq!(
            d,
            Decision {
                allowed: false,
                reason: Reason::DefaultDeny,
                visible: false
            }
        );
    }
}

#[test]
fn widget_command_runners_can_see_the_home_page_but_not_the_widget() {
    for engine in engines() {
        for r in [
            BuiltinRole::CommandRunner,
            BuiltinRole::CommandRunnerWithBilling,
        ] {
            assert_eq!(widget_row(&engine, r), WidgetAccess::Hidden, "{r}");
            let s = role(r);
            let d = engine.decide(&Request {
                subject: Subject {
                    id: ME,
                    org: ORG,
                    role: &s,
                },
                action: &Action::ViewAdminsWithoutMfaWidget,
                target: Target::Widget(WidgetId::AdminsWithoutMfaRequired),
                context: &CTX,
            });
            assert!(
                !d.allowed && !d.visible,
                "{r}: the widget is not found, not forbidden"
            );
        }
    }
}

#[test]
fn widget_row_of_every_role_is_exactly_the_seed_list() {
    let expected = [
        (
            BuiltinRole::AdministratorWithBilling,
            WidgetAccess::Actionable,
        ),
        (BuiltinRole::Administrator, WidgetAccess::ViewOnly),
        (BuiltinRole::Manager, WidgetAccess::ViewOnly),
        (BuiltinRole::HelpDesk, WidgetAccess::ViewOnly),
        (BuiltinRole::ReadOnly, WidgetAccess::ViewOnly),
        (BuiltinRole::CommandRunner, WidgetAccess::Hidden),
        (BuiltinRole::CommandRunnerWithBilling, WidgetAccess::Hidden),
        (BuiltinRole::BillingOnly, WidgetAccess::NoHomePage),
    ];
    for engine in engines() {
        let actual: Vec<_> = BuiltinRole::ALL
            .iter()
            .map(|r| (*r, widget_row(&engine, *r)))
            .collect();
        assert_eq!(actual, expected);
    }
}

#[test]
fn removing_the_widget_is_a_self_preference_of_everyone_who_sees_home() {
    for engine in engines() {
        for r in BuiltinRole::ALL {
            let s = role(r);
            let subject = Subject {
                id: ME,
                org: ORG,
                role: &s,
            };
            let home = engine.decide(&Request {
                subject,
                action: &Action::ToggleWidget,
                target: Target::Page(PageId::Home),
                context: &CTX,
            });
            assert_eq!(home.allowed, r != BuiltinRole::BillingOnly, "{r}");
            // Never a change to anyone else's view: no rule lets toggle-widget reach another admin.
            let other = role(BuiltinRole::ReadOnly);
            let d = engine.decide(&Request {
                subject,
                action: &Action::ToggleWidget,
                target: Target::Admin {
                    id: YOU,
                    org: ORG,
                    role: &other,
                },
                context: &CTX,
            });
            assert!(!d.allowed, "{r}");
        }
    }
}

#[test]
fn locked_out_admin_resets_own_totp_through_the_login_flow() {
    let flow = Context {
        via_login_flow: true,
        ..CTX
    };
    for engine in engines() {
        for r in BuiltinRole::ALL {
            for action in [Action::ResetOwnTotp, Action::EnrollOwnTotp] {
                let d = on_self(&engine, r, action.clone(), &flow);
                assert!(d.allowed, "{r} {action}");
                assert_eq!(rule_name(&engine, d), "self-service-totp");
                assert_eq!(
                    on_self(&engine, r, action.clone(), &CTX).reason,
                    Reason::DefaultDeny,
                    "{r} without the flow"
                );
                assert!(
                    !on_admin(&engine, r, action, BuiltinRole::ReadOnly, &flow).allowed,
                    "{r} on another admin"
                );
            }
        }
    }
}

#[test]
fn the_designated_admin_resets_mfa_for_a_locked_out_admin() {
    for engine in engines() {
        for target in BuiltinRole::ALL {
            assert!(
                on_admin(
                    &engine,
                    BuiltinRole::AdministratorWithBilling,
                    Action::ResetMfa,
                    target,
                    &CTX
                )
                .allowed
            );
        }
    }
    let d = on_admin(
        &PolicyEngine::jumpcloud(),
        BuiltinRole::Administrator,
        Action::ResetMfa,
        BuiltinRole::AdministratorWithBilling,
        &CTX,
    );
    assert_eq!(d.reason, Reason::Guardrail(GuardrailId::ProtectAwb));
}

#[test]
fn nobody_acts_on_another_organization() {
    for engine in engines() {
        let awb = role(BuiltinRole::AdministratorWithBilling);
        let target_role = role(BuiltinRole::ReadOnly);
        for action in Action::BUILTIN {
            let d = engine.decide(&Request {
                subject: Subject {
                    id: ME,
                    org: ORG,
                    role: &awb,
                },
                action: &action,
                target: Target::Admin {
                    id: YOU,
                    org: OTHER_ORG,
                    role: &target_role,
                },
                context: &CTX,
            });
            assert_eq!(
                d,
                Decision {
                    allowed: false,
                    reason: Reason::Guardrail(GuardrailId::SameOrgOnly),
                    visible: false
                }
            );
            let d = engine.decide(&Request {
                subject: Subject {
                    id: ME,
                    org: ORG,
                    role: &awb,
                },
                action: &action,
                target: Target::Org(OTHER_ORG),
                context: &CTX,
            });
            assert_eq!(d.reason, Reason::Guardrail(GuardrailId::SameOrgOnly));
        }
    }
}

#[test]
fn built_in_profiles_compile_without_errors() {
    use admin_mfa_policy::{Extends, PolicyDocument};
    for profile in [Extends::Jumpcloud, Extends::JumpcloudStrict, Extends::None] {
        assert!(PolicyEngine::from_document(PolicyDocument::new(profile)).is_ok());
    }
    assert_eq!(PolicyEngine::jumpcloud().rules().len(), 8);
    assert_eq!(PolicyEngine::jumpcloud_strict().rules().len(), 7);
}
