//! Custom policy documents in TOML and JSON: loading, validation errors and warnings.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests"
)]

use admin_mfa_policy::{
    Action, AdminId, BuiltinRole, Catalog, Context, Decision, GuardrailId, Item, LoadError,
    Location, OrgId, PolicyDocument, PolicyEngine, Reason, Request, Role, Subject, Target,
    ValidationErrorKind, ValidationErrors, ValidationWarning,
};

const SPEC_EXAMPLE: &str = r#"
version = 1
extends = "jumpcloud"            # or "jumpcloud-strict" or "none"
[[roles]]
name = "mfa-auditor"
template = "read-only"           # custom roles start from a built-in template
read_only = true                 # opts into G4
[[rules]]
id = "auditor-sees-mfa-status"
effect = "permit"                # or "forbid"
roles = ["mfa-auditor"]
actions = ["view-admin-mfa-status", "view-admins-without-mfa-widget"]
target = "any"                   # "any" | "self" | { roles = [...] } | { not_roles = [...] }
description = "Auditors may read the MFA status of all admins"
"#;

const ORG: OrgId = OrgId::from_bytes([0xa0; 16]);
const ME: AdminId = AdminId::from_bytes([1; 16]);
const YOU: AdminId = AdminId::from_bytes([2; 16]);
const CTX: Context = Context {
    global_mfa_required: false,
    awb_count: 2,
    via_login_flow: false,
};

fn decide_on(engine: &PolicyEngine, subject: &str, action: &str, target: &str) -> Decision {
    let (s, t) = (engine.role(subject).unwrap(), engine.role(target).unwrap());
    let action: Action = action.parse().unwrap();
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
        context: &CTX,
    })
}

fn reason_name(engine: &PolicyEngine, d: Decision) -> String {
    match d.reason {
        Reason::Permit(id) | Reason::Forbid(id) => engine.rule(id).unwrap().id.clone(),
        Reason::Guardrail(g) => g.code().to_owned(),
        Reason::DefaultDeny => "default".to_owned(),
    }
}

fn invalid(result: Result<PolicyEngine, LoadError>) -> ValidationErrors {
    match result {
        Err(LoadError::Invalid(errors)) => errors,
        Err(other) => panic!("expected a validation error, got {other}"),
        Ok(_) => panic!("expected a validation error, the document loaded"),
    }
}

fn rule(id: &str, effect: &str, roles: &str, actions: &str, target: &str) -> String {
    format!(
        "[[rules]]\nid = \"{id}\"\neffect = \"{effect}\"\nroles = {roles}\nactions = {actions}\ntarget = {target}\n"
    )
}

#[test]
fn the_spec_example_loads_and_grants_what_it_says() {
    let engine = PolicyEngine::from_toml_str(SPEC_EXAMPLE).unwrap();
    let d = decide_on(
        &engine,
        "mfa-auditor",
        "view-admin-mfa-status",
        "administrator-with-billing",
    );
    assert!(d.allowed);
    // The template gives the read-only role's own permits too; the lowest rule id names the reason.
    assert_eq!(reason_name(&engine, d), "admins-view-home-widget-and-list");
    let d = decide_on(&engine, "mfa-auditor", "enable-mfa", "manager");
    assert_eq!(d.reason, Reason::Guardrail(GuardrailId::ReadOnlyIsReadOnly));
    assert_eq!(engine.warnings(), vec![]);
}

#[test]
fn toml_and_json_documents_give_identical_engines() {
    let doc = PolicyDocument::from_toml_str(SPEC_EXAMPLE).unwrap();
    let json = doc.to_json_string().unwrap();
    assert_eq!(PolicyDocument::from_json_str(&json).unwrap(), doc);
    let from_json = PolicyEngine::from_json_str(&json).unwrap();
    let from_toml = PolicyEngine::from_toml_str(SPEC_EXAMPLE).unwrap();
    assert_eq!(from_json.matrix(), from_toml.matrix());
    let toml = doc.to_toml_string().unwrap();
    assert_eq!(PolicyDocument::from_toml_str(&toml).unwrap(), doc);
}

#[test]
fn unknown_fields_are_refused_with_their_location() {
    let text = "version = 1\n[[rules]]\nid = \"x\"\neffect = \"permit\"\nroles = [\"manager\"]\nactions = [\"view-home\"]\ntarget = \"any\"\nwhen = \"always\"\n";
    match PolicyEngine::from_toml_str(text) {
        Err(LoadError::Syntax {
            format: "toml",
            location,
            message,
        }) => {
            assert_eq!(location.line, 8, "{message}");
            assert!(message.contains("unknown field `when`"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let json = r#"{"version": 1, "rules": [], "colour": "red"}"#;
    match PolicyEngine::from_json_str(json) {
        Err(LoadError::Syntax {
            format: "json",
            message,
            ..
        }) => assert!(message.contains("unknown field `colour`"), "{message}"),
        other => panic!("{other:?}"),
    }
    let text = "version = 1\n[[roles]]\nname = \"x\"\nread-only = true\n";
    assert!(matches!(
        PolicyEngine::from_toml_str(text),
        Err(LoadError::Syntax { .. })
    ));
}

#[test]
fn version_is_required_and_must_be_one() {
    assert!(matches!(
        PolicyEngine::from_toml_str("extends = \"none\"\n"),
        Err(LoadError::Syntax { .. })
    ));
    let errors = invalid(PolicyEngine::from_toml_str("version = 2\n"));
    assert_eq!(
        errors.errors()[0].kind,
        ValidationErrorKind::UnsupportedVersion(2)
    );
}

#[test]
fn target_specs_parse_in_every_form_and_refuse_others() {
    for target in [
        "\"any\"",
        "\"self\"",
        "\"others\"",
        "{ roles = [\"manager\"] }",
        "{ not_roles = [\"manager\"] }",
    ] {
        let text = format!(
            "version = 1\n{}",
            rule("r", "permit", "[\"manager\"]", "[\"view-home\"]", target)
        );
        assert!(PolicyDocument::from_toml_str(&text).is_ok(), "{target}");
    }
    for target in [
        "\"everyone\"",
        "{ roles = [\"manager\"], not_roles = [\"help-desk\"] }",
        "{ role = [\"manager\"] }",
        "{}",
    ] {
        let text = format!(
            "version = 1\n{}",
            rule("r", "permit", "[\"manager\"]", "[\"view-home\"]", target)
        );
        assert!(PolicyDocument::from_toml_str(&text).is_err(), "{target}");
    }
}

#[test]
fn unknown_role_is_rejected_naming_the_rule_and_its_line() {
    let text = format!(
        "version = 1\n\n{}",
        rule(
            "grant-ghosts",
            "permit",
            "[\"ghost\"]",
            "[\"view-home\"]",
            "\"any\""
        )
    );
    let errors = invalid(PolicyEngine::from_toml_str(&text));
    let e = &errors.errors()[0];
    assert_eq!(
        e.item,
        Item::Rule {
            index: 0,
            id: "grant-ghosts".into()
        }
    );
    assert_eq!(e.kind, ValidationErrorKind::UnknownRole("ghost".into()));
    assert_eq!(e.location, Some(Location { line: 4, column: 6 }));
    assert_eq!(
        e.to_string(),
        "rule `grant-ghosts`: unknown role `ghost` (at line 4, column 6)"
    );
}

#[test]
fn unknown_target_role_and_unknown_action_are_rejected() {
    let text = format!(
        "version = 1\n{}{}",
        rule("a", "permit", "[\"manager\"]", "[\"fly\"]", "\"any\""),
        rule(
            "b",
            "permit",
            "[\"manager\"]",
            "[\"view-home\"]",
            "{ roles = [\"ghost\"] }"
        )
    );
    let errors = invalid(PolicyEngine::from_toml_str(&text));
    let kinds: Vec<_> = errors
        .iter()
        .map(|e| (e.item.to_string(), e.kind.clone()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (
                "rule `a`".to_owned(),
                ValidationErrorKind::UnknownAction("fly".into())
            ),
            (
                "rule `b`".to_owned(),
                ValidationErrorKind::UnknownRole("ghost".into())
            ),
        ]
    );
}

#[test]
fn duplicate_rule_ids_are_rejected_including_profile_ids() {
    let text = format!(
        "version = 1\n{}{}{}",
        rule(
            "mine",
            "permit",
            "[\"manager\"]",
            "[\"view-home\"]",
            "\"any\""
        ),
        rule(
            "mine",
            "forbid",
            "[\"manager\"]",
            "[\"view-home\"]",
            "\"any\""
        ),
        rule(
            "awb-full-access",
            "forbid",
            "[\"manager\"]",
            "[\"view-home\"]",
            "\"any\""
        )
    );
    let errors = invalid(PolicyEngine::from_toml_str(&text));
    let found: Vec<_> = errors
        .iter()
        .map(|e| (e.item.clone(), e.kind.clone(), e.location.map(|l| l.line)))
        .collect();
    assert_eq!(
        found,
        vec![
            (
                Item::Rule {
                    index: 1,
                    id: "mine".into()
                },
                ValidationErrorKind::DuplicateRuleId,
                Some(9)
            ),
            (
                Item::Rule {
                    index: 2,
                    id: "awb-full-access".into()
                },
                ValidationErrorKind::DuplicateRuleId,
                Some(15)
            ),
        ]
    );
    // Without a profile, the profile's ids are free.
    let text = format!(
        "version = 1\nextends = \"none\"\n{}",
        rule(
            "awb-full-access",
            "permit",
            "[\"manager\"]",
            "[\"view-home\"]",
            "\"any\""
        )
    );
    assert!(PolicyEngine::from_toml_str(&text).is_ok());
}

#[test]
fn custom_roles_may_not_shadow_built_ins_or_repeat() {
    let text = "version = 1\n[[roles]]\nname = \"manager\"\n[[roles]]\nname = \"auditor\"\n[[roles]]\nname = \"auditor\"\n[[roles]]\nname = \"Bad Name\"\n";
    let errors = invalid(PolicyEngine::from_toml_str(text));
    let found: Vec<_> = errors
        .iter()
        .map(|e| (e.item.to_string(), e.kind.clone(), e.location.unwrap().line))
        .collect();
    assert_eq!(
        found,
        vec![
            (
                "role `manager`".into(),
                ValidationErrorKind::ShadowsBuiltin,
                3
            ),
            (
                "role `auditor`".into(),
                ValidationErrorKind::DuplicateName,
                7
            ),
            (
                "role `Bad Name`".into(),
                ValidationErrorKind::InvalidName,
                9
            ),
        ]
    );
}

#[test]
fn template_cycles_are_rejected() {
    let text = "version = 1\n[[roles]]\nname = \"a\"\ntemplate = \"b\"\n[[roles]]\nname = \"b\"\ntemplate = \"c\"\n[[roles]]\nname = \"c\"\ntemplate = \"a\"\n[[roles]]\nname = \"d\"\ntemplate = \"d\"\n[[roles]]\nname = \"e\"\ntemplate = \"a\"\n";
    let errors = invalid(PolicyEngine::from_toml_str(text));
    let found: Vec<_> = errors
        .iter()
        .map(|e| (e.item.to_string(), e.kind.clone()))
        .collect();
    assert_eq!(
        found,
        ["a", "b", "c", "d"]
            .map(|n| (format!("role `{n}`"), ValidationErrorKind::TemplateCycle))
            .to_vec()
    );
}

#[test]
fn escalation_grants_are_rejected() {
    let text = format!(
        "version = 1\n[[roles]]\nname = \"helper\"\ntemplate = \"administrator\"\n{}{}",
        rule(
            "let-helpers-create",
            "permit",
            "[\"helper\", \"administrator-with-billing\"]",
            "[\"create-admin\", \"view-home\"]",
            "\"any\""
        ),
        rule(
            "no-one-creates",
            "forbid",
            "[\"helper\"]",
            "[\"create-admin\"]",
            "\"any\""
        )
    );
    let errors = invalid(PolicyEngine::from_toml_str(&text));
    let found: Vec<_> = errors
        .iter()
        .map(|e| (e.item.to_string(), e.kind.clone()))
        .collect();
    assert_eq!(
        found,
        vec![(
            "rule `let-helpers-create`".into(),
            ValidationErrorKind::EscalationGrant {
                action: "create-admin".into(),
                role: "helper".into()
            }
        )]
    );
    let text =
        "version = 1\n[[roles]]\nname = \"deputy\"\ntemplate = \"administrator-with-billing\"\n";
    let errors = invalid(PolicyEngine::from_toml_str(text));
    assert_eq!(
        errors.errors()[0].kind,
        ValidationErrorKind::EscalationTemplate
    );
    assert_eq!(errors.errors()[0].item.to_string(), "role `deputy`");
}

#[test]
fn too_many_custom_roles_and_empty_lists_are_rejected() {
    let mut text = String::from("version = 1\n");
    for i in 0..21 {
        text.push_str(&format!("[[roles]]\nname = \"r{i}\"\n"));
    }
    let errors = invalid(PolicyEngine::from_toml_str(&text));
    assert_eq!(
        errors.errors()[0].kind,
        ValidationErrorKind::TooManyCustomRoles { count: 21, max: 20 }
    );
    assert!(
        PolicyEngine::from_toml_str_with(&text, &Catalog::new().with_max_custom_roles(30)).is_ok()
    );

    let text = format!(
        "version = 1\n{}{}{}",
        rule("no-roles", "permit", "[]", "[\"view-home\"]", "\"any\""),
        rule("no-actions", "permit", "[\"manager\"]", "[]", "\"any\""),
        rule(
            "no-targets",
            "permit",
            "[\"manager\"]",
            "[\"enable-mfa\"]",
            "{ roles = [] }"
        )
    );
    let errors = invalid(PolicyEngine::from_toml_str(&text));
    let kinds: Vec<_> = errors.iter().map(|e| e.kind.clone()).collect();
    assert_eq!(
        kinds,
        vec![
            ValidationErrorKind::EmptyRoles,
            ValidationErrorKind::EmptyActions,
            ValidationErrorKind::EmptyTargetRoles
        ]
    );
}

#[test]
fn custom_actions_are_denied_until_a_rule_names_them() {
    let text = format!(
        "version = 1\ncustom_actions = [\"export-audit-log\"]\n{}",
        rule(
            "managers-export",
            "permit",
            "[\"manager\"]",
            "[\"export-audit-log\"]",
            "\"others\""
        )
    );
    let engine = PolicyEngine::from_toml_str(&text).unwrap();
    assert!(decide_on(&engine, "manager", "export-audit-log", "help-desk").allowed);
    assert_eq!(
        decide_on(&engine, "help-desk", "export-audit-log", "manager").reason,
        Reason::DefaultDeny
    );
    // Custom actions are Mutate: G1 and G4 still apply.
    assert_eq!(
        decide_on(
            &engine,
            "manager",
            "export-audit-log",
            "administrator-with-billing"
        )
        .reason,
        Reason::Guardrail(GuardrailId::ProtectAwb)
    );
    assert_eq!(
        decide_on(&engine, "manager", "never-declared", "help-desk").reason,
        Reason::DefaultDeny
    );
    // Undeclared custom actions cannot be named; a catalog can declare them for the host.
    let text = rule(
        "x",
        "permit",
        "[\"manager\"]",
        "[\"export-audit-log\"]",
        "\"any\"",
    );
    let text = format!("version = 1\n{text}");
    assert_eq!(
        invalid(PolicyEngine::from_toml_str(&text)).errors()[0].kind,
        ValidationErrorKind::UnknownAction("export-audit-log".into())
    );
    let catalog = Catalog::new().with_action(
        "export-audit-log"
            .parse::<admin_mfa_policy::ActionName>()
            .unwrap(),
    );
    assert!(PolicyEngine::from_toml_str_with(&text, &catalog).is_ok());
    let text = "version = 1\ncustom_actions = [\"enable-mfa\"]\n";
    assert_eq!(
        invalid(PolicyEngine::from_toml_str(text)).errors()[0].kind,
        ValidationErrorKind::ShadowsBuiltin
    );
}

#[test]
fn templates_inherit_rules_and_read_only() {
    let text = format!(
        "version = 1\n[[roles]]\nname = \"mfa-officer\"\ntemplate = \"administrator\"\n[[roles]]\nname = \"viewer\"\ntemplate = \"read-only\"\n{}",
        rule(
            "viewers-enable",
            "permit",
            "[\"viewer\"]",
            "[\"enable-mfa\"]",
            "\"any\""
        )
    );
    let engine = PolicyEngine::from_toml_str(&text).unwrap();
    let d = decide_on(&engine, "mfa-officer", "enable-mfa", "manager");
    assert!(d.allowed);
    assert_eq!(reason_name(&engine, d), "administrator-manages-mfa");
    assert_eq!(
        decide_on(
            &engine,
            "mfa-officer",
            "enable-mfa",
            "administrator-with-billing"
        )
        .reason,
        Reason::Guardrail(GuardrailId::ProtectAwb)
    );
    // `viewer` inherits read_only from its template: the permit is dead, and says so.
    assert!(engine.is_read_only(&engine.role("viewer").unwrap()));
    assert_eq!(
        decide_on(&engine, "viewer", "enable-mfa", "manager").reason,
        Reason::Guardrail(GuardrailId::ReadOnlyIsReadOnly)
    );
    assert_eq!(
        engine.warnings(),
        vec![ValidationWarning::DeadPermit("viewers-enable".into())]
    );
}

#[test]
fn forbid_beats_permit_and_the_reason_is_the_lowest_id() {
    let rules = [
        rule(
            "z-permit",
            "permit",
            "[\"manager\"]",
            "[\"enable-mfa\"]",
            "\"others\"",
        ),
        rule(
            "b-forbid",
            "forbid",
            "[\"manager\"]",
            "[\"enable-mfa\"]",
            "{ roles = [\"help-desk\"] }",
        ),
        rule(
            "a-forbid",
            "forbid",
            "[\"manager\"]",
            "[\"enable-mfa\"]",
            "{ not_roles = [\"read-only\"] }",
        ),
        rule(
            "c-permit",
            "permit",
            "[\"manager\"]",
            "[\"enable-mfa\"]",
            "\"any\"",
        ),
    ];
    let forward = PolicyEngine::from_toml_str(&format!("version = 1\n{}", rules.concat())).unwrap();
    let mut reversed = rules.clone();
    reversed.reverse();
    let backward =
        PolicyEngine::from_toml_str(&format!("version = 1\n{}", reversed.concat())).unwrap();
    for engine in [&forward, &backward] {
        assert_eq!(
            reason_name(
                engine,
                decide_on(engine, "manager", "enable-mfa", "help-desk")
            ),
            "a-forbid"
        );
        let d = decide_on(engine, "manager", "enable-mfa", "read-only");
        assert!(d.allowed);
        assert_eq!(reason_name(engine, d), "c-permit");
    }
    assert_eq!(forward.matrix(), backward.matrix());
}

#[test]
fn warnings_flag_dead_permits_unreachable_rules_and_broken_widget_chains() {
    let text = format!(
        "version = 1\nextends = \"none\"\n[[roles]]\nname = \"clicker\"\n{}{}{}",
        rule(
            "clickers-act",
            "permit",
            "[\"clicker\"]",
            "[\"act-on-admins-without-mfa-widget\"]",
            "\"any\""
        ),
        rule(
            "home-for-self",
            "permit",
            "[\"manager\"]",
            "[\"view-home\"]",
            "\"self\""
        ),
        rule(
            "awb-deletes-self",
            "permit",
            "[\"administrator-with-billing\"]",
            "[\"delete-admin\"]",
            "\"self\""
        )
    );
    let doc = PolicyDocument::from_toml_str(&text).unwrap();
    let warnings = doc.validate(&Catalog::new()).unwrap();
    assert_eq!(
        warnings,
        vec![
            ValidationWarning::DeadPermit("awb-deletes-self".into()),
            ValidationWarning::NeverMatches("home-for-self".into()),
            ValidationWarning::WidgetActionWithoutView("clicker".into()),
        ]
    );
}

#[test]
fn extends_none_denies_everything_by_default() {
    let engine = PolicyEngine::from_toml_str("version = 1\nextends = \"none\"\n").unwrap();
    assert!(engine.rules().is_empty());
    for role in BuiltinRole::ALL {
        for action in Action::BUILTIN {
            let d = decide_on(&engine, role.as_str(), action.as_str(), "manager");
            assert!(!d.allowed);
        }
    }
}

#[test]
fn data_types_serialize_as_their_kebab_names_and_uuids() {
    let role = Role::from_stored("mfa-auditor").unwrap();
    assert_eq!(serde_json::to_string(&role).unwrap(), r#""mfa-auditor""#);
    assert_eq!(
        serde_json::from_str::<Role>(r#""mfa-auditor""#).unwrap(),
        role,
        "a stored custom role reads back without a policy"
    );
    assert_eq!(
        serde_json::to_string(&Role::Builtin(BuiltinRole::HelpDesk)).unwrap(),
        r#""help-desk""#
    );
    assert_eq!(
        serde_json::from_str::<Role>(r#""administrator-with-billing""#).unwrap(),
        Role::Builtin(BuiltinRole::AdministratorWithBilling)
    );
    assert!(serde_json::from_str::<Role>(r#""Not A Role""#).is_err());
    assert_eq!(
        serde_json::to_string(&Action::EnableMfa).unwrap(),
        r#""enable-mfa""#
    );
    assert_eq!(
        serde_json::from_str::<Action>(r#""export-audit-log""#).unwrap(),
        "export-audit-log".parse::<Action>().unwrap()
    );
    assert_eq!(
        serde_json::to_string(&ME).unwrap(),
        r#""01010101-0101-0101-0101-010101010101""#
    );
    assert_eq!(
        serde_json::from_str::<AdminId>(r#""01010101-0101-0101-0101-010101010101""#).unwrap(),
        ME
    );
    let d = Decision {
        allowed: false,
        reason: Reason::Guardrail(GuardrailId::ProtectAwb),
        visible: true,
    };
    let json = serde_json::to_string(&d).unwrap();
    assert_eq!(
        json,
        r#"{"allowed":false,"reason":{"guardrail":"protect-awb"},"visible":true}"#
    );
    assert_eq!(serde_json::from_str::<Decision>(&json).unwrap(), d);
    let ctx: Context = serde_json::from_str(
        r#"{"global_mfa_required":true,"awb_count":3,"via_login_flow":false}"#,
    )
    .unwrap();
    assert_eq!(ctx.awb_count, 3);
    assert!(
        serde_json::from_str::<Context>(
            r#"{"global_mfa_required":true,"awb_count":3,"via_login_flow":false,"x":1}"#
        )
        .is_err()
    );
}
