//! Parsing roles from text: built-in roles by id or display name, custom roles only through the
//! engine that declares them, and an error listing the valid names for anything else.

#![allow(clippy::unwrap_used, reason = "tests")]

use admin_mfa_policy::{
    BuiltinRole, Extends, PolicyDocument, PolicyEngine, Role, RoleDef, UnknownRoleError,
};

#[test]
fn a_misspelt_role_is_an_error_not_a_custom_role_with_no_rules() {
    for name in ["manger", "mfa-auditor", "administrator-with-billing-", ""] {
        let parsed = name.parse::<Role>();
        assert!(parsed.is_err(), "{name:?} parsed as {parsed:?}");
    }
}

#[test]
fn built_in_roles_parse_from_their_id_and_their_display_name() {
    for role in BuiltinRole::ALL {
        assert_eq!(role.as_str().parse::<Role>().unwrap(), Role::Builtin(role));
        assert_eq!(
            role.display_name().parse::<Role>().unwrap(),
            Role::Builtin(role)
        );
        assert_eq!(role.display_name().parse::<BuiltinRole>().unwrap(), role);
    }
}

#[test]
fn names_compare_exactly() {
    for name in [
        "Help desk",
        "help desk",
        "HELP-DESK",
        " help-desk",
        "help-desk ",
    ] {
        assert!(name.parse::<BuiltinRole>().is_err(), "{name:?}");
        assert!(PolicyEngine::jumpcloud().role(name).is_err(), "{name:?}");
    }
}

fn with_auditor() -> PolicyEngine {
    PolicyEngine::from_document(PolicyDocument {
        roles: vec![RoleDef {
            name: "mfa-auditor".into(),
            template: Some("read-only".into()),
            read_only: true,
            description: None,
        }],
        ..PolicyDocument::new(Extends::Jumpcloud)
    })
    .unwrap()
}

#[test]
fn the_engine_parses_built_ins_and_the_custom_roles_it_declares() {
    let engine = with_auditor();
    for role in BuiltinRole::ALL {
        assert_eq!(engine.role(role.as_str()).unwrap(), Role::Builtin(role));
        assert_eq!(
            engine.role(role.display_name()).unwrap(),
            Role::Builtin(role)
        );
    }
    let auditor = engine.role("mfa-auditor").unwrap();
    assert_eq!(auditor.as_str(), "mfa-auditor");
    assert!(engine.is_read_only(&auditor));
    // Another policy does not declare it.
    let err: UnknownRoleError = PolicyEngine::jumpcloud().role("mfa-auditor").unwrap_err();
    assert_eq!(err.name(), "mfa-auditor");
    assert_eq!(err.valid(), BuiltinRole::ALL.map(Role::Builtin).as_slice());
}

#[test]
fn an_unknown_name_lists_every_role_of_the_engine() {
    let engine = with_auditor();
    let err = engine.role("manger").unwrap_err();
    let valid: Vec<&str> = err.valid().iter().map(Role::as_str).collect();
    assert_eq!(
        valid,
        [
            "administrator-with-billing",
            "administrator",
            "manager",
            "help-desk",
            "read-only",
            "command-runner",
            "command-runner-with-billing",
            "billing-only",
            "mfa-auditor"
        ]
    );
    assert_eq!(
        err.to_string(),
        format!(
            "unknown role \"manger\"; valid roles (by id, or a built-in role's display name): {}",
            valid.join(", ")
        )
    );
}
