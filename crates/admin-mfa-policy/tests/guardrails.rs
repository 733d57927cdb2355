//! Guardrail G8 `no-self-mfa-removal`: no session removes its own MFA requirement or resets its
//! own factor, in any profile and under any custom document (security-hardening issue, item 4).
//! An admin resets its own factor only through the e-mailed link (`reset-own-totp`).

#![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

use admin_mfa_policy::{
    Action, AdminId, BuiltinRole, Context, Decision, Effect, Extends, GuardrailId, MATRIX_CONTEXTS,
    OrgId, PolicyDocument, PolicyEngine, Reason, Request, Role, RoleDef, RuleDef, Subject, Target,
    TargetSpec,
};

const ORG: OrgId = OrgId::from_bytes([0xa0; 16]);
const ME: AdminId = AdminId::from_bytes([1; 16]);
const YOU: AdminId = AdminId::from_bytes([2; 16]);

/// The two self-targeted actions G8 refuses.
const STRIPPING: [Action; 2] = [Action::DisableMfaRequirement, Action::ResetMfa];

fn on(
    engine: &PolicyEngine,
    subject: &Role,
    action: &Action,
    target: (AdminId, &Role),
) -> Decision {
    on_in(engine, subject, action, target, &MATRIX_CONTEXTS[2])
}

fn on_in(
    engine: &PolicyEngine,
    subject: &Role,
    action: &Action,
    (id, role): (AdminId, &Role),
    context: &Context,
) -> Decision {
    engine.decide(&Request {
        subject: Subject {
            id: ME,
            org: ORG,
            role: subject,
        },
        action,
        target: Target::Admin { id, org: ORG, role },
        context,
    })
}

/// Denied by G8, whatever else the request matches.
fn assert_g8(engine: &PolicyEngine, subject: &Role, action: &Action, context: &Context) {
    let request = Request {
        subject: Subject {
            id: ME,
            org: ORG,
            role: subject,
        },
        action,
        target: Target::Admin {
            id: ME,
            org: ORG,
            role: subject,
        },
        context,
    };
    let d = engine.decide(&request);
    assert!(!d.allowed, "{subject} may {action} itself in {context:?}");
    assert!(d.visible, "an admin always sees itself");
    let guardrails = engine.explain(&request).guardrails;
    assert!(
        guardrails.contains(&GuardrailId::NoSelfMfaRemoval),
        "{subject} {action} self in {context:?}: guardrails {guardrails:?}, reason {:?}",
        d.reason
    );
}

#[test]
fn no_session_removes_its_own_requirement_or_resets_its_own_factor() {
    for engine in [PolicyEngine::jumpcloud(), PolicyEngine::jumpcloud_strict()] {
        for role in BuiltinRole::ALL.map(Role::Builtin) {
            for action in &STRIPPING {
                for context in &MATRIX_CONTEXTS {
                    assert_g8(&engine, &role, action, context);
                }
            }
        }
    }
}

#[test]
fn awb_is_refused_by_g8_on_itself_and_still_acts_on_others() {
    let awb = Role::Builtin(BuiltinRole::AdministratorWithBilling);
    let manager = Role::Builtin(BuiltinRole::Manager);
    for engine in [PolicyEngine::jumpcloud(), PolicyEngine::jumpcloud_strict()] {
        for action in &STRIPPING {
            let own = on(&engine, &awb, action, (ME, &awb));
            assert!(!own.allowed, "{action} on itself");
            assert!(
                own.reason == Reason::Guardrail(GuardrailId::NoSelfMfaRemoval),
                "{action} on itself: {own:?}"
            );
            // Another Administrator With Billing, and a Manager: unchanged.
            assert!(on(&engine, &awb, action, (YOU, &awb)).allowed, "{action}");
            assert!(
                on(&engine, &awb, action, (YOU, &manager)).allowed,
                "{action}"
            );
        }
    }
}

#[test]
fn self_service_reset_through_the_login_flow_stays_allowed() {
    let flow = Context {
        via_login_flow: true,
        ..MATRIX_CONTEXTS[2]
    };
    for engine in [PolicyEngine::jumpcloud(), PolicyEngine::jumpcloud_strict()] {
        for role in BuiltinRole::ALL.map(Role::Builtin) {
            for action in [Action::ResetOwnTotp, Action::EnrollOwnTotp] {
                let d = on_in(&engine, &role, &action, (ME, &role), &flow);
                assert!(d.allowed, "{role} {action} through the login flow: {d:?}");
            }
        }
    }
}

#[test]
fn no_document_can_grant_self_removal() {
    let doc = PolicyDocument {
        roles: vec![RoleDef {
            name: "mfa-operator".into(),
            template: Some("administrator".into()),
            read_only: false,
            description: None,
        }],
        rules: vec![RuleDef {
            id: "everyone-strips-own-mfa".into(),
            effect: Effect::Permit,
            roles: BuiltinRole::ALL
                .iter()
                .map(|r| r.as_str().to_owned())
                .chain(["mfa-operator".to_owned()])
                .collect(),
            actions: STRIPPING.iter().map(|a| a.as_str().to_owned()).collect(),
            target: TargetSpec::SelfOnly,
            description: None,
        }],
        ..PolicyDocument::new(Extends::None)
    };
    let engine = PolicyEngine::from_document(doc).unwrap();
    let roles: Vec<Role> = engine.roles().cloned().collect();
    for role in &roles {
        for action in &STRIPPING {
            for context in &MATRIX_CONTEXTS {
                assert_g8(&engine, role, action, context);
            }
        }
    }
}
