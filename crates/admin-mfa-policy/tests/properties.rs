//! The properties P1–P20 of docs/POLICY.md §12, one proptest each (named after its property), and
//! P21 for guardrail G8 (no session weakens its own MFA, whatever the document grants).
//!
//! `PROPTEST_CASES` raises the case count (default 256); failures are persisted under
//! `proptest-regressions/` and replayed first.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests"
)]

use admin_mfa_policy::testing::{
    OTHER_ID, OTHER_ORG, OwnedRequest, OwnedTarget, ReferenceDecision, ReferenceReason, SUBJECT_ID,
    UNKNOWN_ACTION, arb_context, arb_document, arb_request, arb_rule_for, check_invariants,
    reference_decide, reference_matches,
};
use admin_mfa_policy::{
    Action, ActionClass, BuiltinRole, Context, Effect, Extends, GuardrailId, Item, PageId,
    PolicyDocument, PolicyEngine, Reason, Request, Role, RoleDef, RuleDef, Subject, Target,
    TargetSpec, ValidationErrorKind, WidgetAccess, WidgetId,
};
use proptest::prelude::*;
use proptest::sample::select;

fn engine(doc: &PolicyDocument) -> PolicyEngine {
    PolicyEngine::from_document(doc.clone()).expect("generated documents are valid")
}

fn doc_and_request() -> impl Strategy<Value = (PolicyDocument, OwnedRequest)> {
    arb_document().prop_flat_map(|doc| {
        let requests = arb_request(&doc);
        (Just(doc), requests)
    })
}

fn doc_and_requests(n: usize) -> impl Strategy<Value = (PolicyDocument, Vec<OwnedRequest>)> {
    arb_document().prop_flat_map(move |doc| {
        let requests = proptest::collection::vec(arb_request(&doc), 1..=n);
        (Just(doc), requests)
    })
}

fn named(engine: &PolicyEngine, req: &OwnedRequest) -> ReferenceDecision {
    ReferenceDecision::of(engine, engine.decide(&req.as_request()))
}

fn builtin(r: BuiltinRole) -> Role {
    Role::Builtin(r)
}

fn profiles() -> impl Strategy<Value = PolicyEngine> {
    prop_oneof![
        Just(PolicyEngine::jumpcloud()),
        Just(PolicyEngine::jumpcloud_strict())
    ]
}

proptest! {
    #[test]
    fn p1_default_deny((doc, reqs) in doc_and_requests(16)) {
        // With no profile and only forbids, nothing is allowed; with no rules at all the reason
        // is DefaultDeny unless a guardrail answers first.
        let forbids_only = PolicyDocument {
            extends: Extends::None,
            rules: doc.rules.iter().filter(|r| r.effect == Effect::Forbid).cloned().collect(),
            ..doc.clone()
        };
        let empty = PolicyDocument { extends: Extends::None, rules: Vec::new(), ..doc.clone() };
        let (forbids_only, empty, full) = (engine(&forbids_only), engine(&empty), engine(&doc));
        for req in &reqs {
            let r = req.as_request();
            let d = forbids_only.decide(&r);
            prop_assert!(!d.allowed && !matches!(d.reason, Reason::Permit(_)));
            let d = empty.decide(&r);
            prop_assert!(!d.allowed);
            prop_assert!(matches!(d.reason, Reason::DefaultDeny | Reason::Guardrail(_)), "{:?}", d);
            // A custom action no rule names is denied in every document.
            let unnamed: Action = UNKNOWN_ACTION.parse().unwrap();
            let unnamed_allowed = full.decide(&Request { action: &unnamed, ..r }).allowed;
            prop_assert!(!unnamed_allowed);
        }
    }

    #[test]
    fn p2_forbid_overrides_permit((doc, req) in doc_and_request()) {
        let engine = engine(&doc);
        let r = req.as_request();
        let d = engine.decide(&r);
        let forbid = admin_mfa_policy::profile_rules(doc.extends)
            .iter()
            .chain(&doc.rules)
            .any(|rule| rule.effect == Effect::Forbid && reference_matches(&doc, rule, &r));
        let guardrail = admin_mfa_policy::testing::reference_guardrail(&doc, &r).is_some();
        if forbid || guardrail {
            prop_assert!(!d.allowed);
            prop_assert!(!matches!(d.reason, Reason::Permit(_)));
        }
    }

    #[test]
    fn p3_allow_implies_explicitly_permitted((doc, reqs) in doc_and_requests(32)) {
        let engine = engine(&doc);
        for req in &reqs {
            let r = req.as_request();
            let d = engine.decide(&r);
            if d.allowed {
                let Reason::Permit(id) = d.reason else { panic!("allowed without a permit: {d:?}") };
                let info = engine.rule(id).unwrap();
                prop_assert_eq!(info.effect, Effect::Permit);
                let def = admin_mfa_policy::profile_rules(doc.extends)
                    .into_iter()
                    .chain(doc.rules.iter().cloned())
                    .find(|rule| rule.id == info.id)
                    .unwrap();
                prop_assert!(reference_matches(&doc, &def, &r), "{} does not match {:?}", def.id, r);
            }
        }
    }

    #[test]
    fn p4_allowed_iff_permitted_and_not_forbidden((doc, reqs) in doc_and_requests(32)) {
        let engine = engine(&doc);
        for req in &reqs {
            let expected = reference_decide(&doc, &req.as_request());
            prop_assert_eq!(engine.decide(&req.as_request()).allowed, expected.allowed, "{:?}", req);
        }
    }

    #[test]
    fn p5_rule_order_and_duplicates_do_not_change_decisions(
        (doc, reqs, shuffled, dup_mask) in doc_and_requests(32).prop_flat_map(|(doc, reqs)| {
            let rules = Just(doc.rules.clone()).prop_shuffle();
            (Just(doc), Just(reqs), rules, proptest::collection::vec(any::<bool>(), 48))
        })
    ) {
        let mut rules = shuffled;
        let dups: Vec<RuleDef> = rules
            .iter()
            .zip(&dup_mask)
            .filter(|(_, d)| **d)
            .map(|(r, _)| RuleDef { id: format!("{}-dup", r.id), ..r.clone() })
            .collect();
        // Duplicates sort right after their original, so they can never become the reason.
        rules.extend(dups);
        let original = engine(&doc);
        let permuted = engine(&PolicyDocument { rules, ..doc.clone() });
        for req in &reqs {
            let (a, b) = (named(&original, req), named(&permuted, req));
            let b = match b.reason {
                ReferenceReason::Permit(ref id) | ReferenceReason::Forbid(ref id) => {
                    prop_assert!(!id.ends_with("-dup"), "a duplicate became the reason: {:?}", b);
                    b
                }
                _ => b,
            };
            prop_assert_eq!(a, b);
        }
    }

    #[test]
    fn p6_determinism_across_clones_and_threads((doc, reqs) in doc_and_requests(32)) {
        let engine = engine(&doc);
        let clone = engine.clone();
        let here: Vec<_> = reqs.iter().map(|r| engine.decide(&r.as_request())).collect();
        let there = std::thread::scope(|s| {
            let a = s.spawn(|| reqs.iter().map(|r| clone.decide(&r.as_request())).collect::<Vec<_>>());
            let b = s.spawn(|| reqs.iter().map(|r| engine.decide(&r.as_request())).collect::<Vec<_>>());
            (a.join().unwrap(), b.join().unwrap())
        });
        prop_assert_eq!(&here, &there.0);
        prop_assert_eq!(&here, &there.1);
    }

    #[test]
    fn p7_protected_targets((doc, req) in doc_and_request()) {
        let engine = engine(&doc);
        let r = req.as_request();
        let d = engine.decide(&r);
        let other_org = matches!(req.target, OwnedTarget::Admin { org, .. } | OwnedTarget::Org(org) if org == OTHER_ORG);
        if other_org {
            prop_assert!(!d.allowed && !d.visible);
            prop_assert_eq!(d.reason, Reason::Guardrail(GuardrailId::SameOrgOnly));
        } else if let OwnedTarget::Admin { role, .. } = &req.target
            && role.is_awb() && !req.subject_role.is_awb() && req.action.class() == ActionClass::Mutate
        {
            prop_assert_eq!(d.reason, Reason::Guardrail(GuardrailId::ProtectAwb));
        }
    }

    #[test]
    fn p8_read_only_never_mutates(
        (doc, reqs) in arb_document().prop_flat_map(|mut doc| {
            // Force at least one read-only custom role and grant it everything it may be granted.
            doc.roles.push(RoleDef { name: "mfa-reader".into(), template: None, read_only: true, description: None });
            let actions: Vec<String> = Action::BUILTIN.iter().filter(|a| !a.is_awb_only()).map(|a| a.as_str().to_owned()).collect();
            doc.rules.push(RuleDef {
                id: "readers-do-everything".into(),
                effect: Effect::Permit,
                roles: vec!["mfa-reader".into(), "read-only".into()],
                actions,
                target: TargetSpec::Any,
                description: None,
            });
            let reqs = proptest::collection::vec(arb_request(&doc), 16);
            (Just(doc), reqs)
        })
    ) {
        let engine = engine(&doc);
        for req in &reqs {
            if engine.is_read_only(&req.subject_role) && req.action.class() == ActionClass::Mutate {
                let d = engine.decide(&req.as_request());
                prop_assert!(!d.allowed);
                prop_assert!(matches!(d.reason, Reason::Guardrail(_)), "{:?}", d);
            }
        }
        let reader = engine.role("mfa-reader").unwrap();
        prop_assert!(engine.is_read_only(&reader));
    }

    #[test]
    fn p9_seed_rules(engine in profiles(), context in arb_context()) {
        let org = admin_mfa_policy::testing::ORG;
        let (admin, awb) = (builtin(BuiltinRole::Administrator), builtin(BuiltinRole::AdministratorWithBilling));
        let d = engine.decide(&Request {
            subject: Subject { id: SUBJECT_ID, org, role: &admin },
            action: &Action::EnableMfa,
            target: Target::Admin { id: OTHER_ID, org, role: &awb },
            context: &context,
        });
        prop_assert!(!d.allowed);
        prop_assert_eq!(d.reason, Reason::Guardrail(GuardrailId::ProtectAwb));
        let d = engine.decide(&Request {
            subject: Subject { id: SUBJECT_ID, org, role: &awb },
            action: &Action::EnableMfa,
            target: Target::Admin { id: SUBJECT_ID, org, role: &awb },
            context: &context,
        });
        prop_assert!(d.allowed);
        let row: Vec<WidgetAccess> = BuiltinRole::ALL
            .iter()
            .map(|r| {
                let role = builtin(*r);
                engine.widget_access(Subject { id: SUBJECT_ID, org, role: &role }, WidgetId::AdminsWithoutMfaRequired, &context)
            })
            .collect();
        use WidgetAccess::{Actionable, Hidden, NoHomePage, ViewOnly};
        prop_assert_eq!(row, vec![Actionable, ViewOnly, ViewOnly, ViewOnly, ViewOnly, Hidden, Hidden, NoHomePage]);
        let billing = builtin(BuiltinRole::BillingOnly);
        let d = engine.decide(&Request {
            subject: Subject { id: SUBJECT_ID, org, role: &billing },
            action: &Action::ViewHome,
            target: Target::Page(PageId::Home),
            context: &context,
        });
        prop_assert!(!d.allowed && !d.visible);
    }

    #[test]
    fn p10_view_chain(doc in arb_document(), context in arb_context()) {
        let engine = engine(&doc);
        let clean = engine.warnings().iter().all(|w| !matches!(
            w,
            admin_mfa_policy::ValidationWarning::WidgetActionWithoutView(_) | admin_mfa_policy::ValidationWarning::WidgetViewWithoutHome(_)
        ));
        let org = admin_mfa_policy::testing::ORG;
        for e in [&engine, &PolicyEngine::jumpcloud(), &PolicyEngine::jumpcloud_strict()] {
            if !clean && std::ptr::eq(e, &engine) {
                continue;
            }
            for role in e.roles() {
                let subject = Subject { id: SUBJECT_ID, org, role };
                let ok = |action: &Action, target| e.decide(&Request { subject, action, target, context: &context }).allowed;
                let widget = Target::Widget(WidgetId::AdminsWithoutMfaRequired);
                let acts = ok(&Action::ActOnAdminsWithoutMfaWidget, widget);
                let views = ok(&Action::ViewAdminsWithoutMfaWidget, widget);
                let home = ok(&Action::ViewHome, Target::Page(PageId::Home));
                prop_assert!(!acts || views, "{} acts on the widget without seeing it", role);
                prop_assert!(!views || home, "{} sees the widget without Home", role);
            }
        }
    }

    #[test]
    fn p11_role_order_monotonicity(
        engine in profiles(),
        (higher, lower, billing_only) in select(role_order()),
        action in select(Action::BUILTIN.to_vec()),
        target_role in select(BuiltinRole::ALL.to_vec()),
        context in arb_context(),
    ) {
        prop_assume!(action.class() != ActionClass::SelfService);
        prop_assume!(!billing_only || action == Action::ManageBilling);
        let org = admin_mfa_policy::testing::ORG;
        let (hi, lo, t) = (builtin(higher), builtin(lower), builtin(target_role));
        let targets = [
            Target::Admin { id: OTHER_ID, org, role: &t },
            Target::Page(PageId::Home),
            Target::Page(PageId::Administrators),
            Target::Widget(WidgetId::AdminsWithoutMfaRequired),
            Target::Org(org),
        ];
        for target in targets {
            let allowed = |role| engine.decide(&Request { subject: Subject { id: SUBJECT_ID, org, role }, action: &action, target, context: &context }).allowed;
            prop_assert!(!allowed(&lo) || allowed(&hi), "{} may {} on {:?} but {} may not", lower, action, target, higher);
        }
    }

    #[test]
    fn p12_policy_monotonicity(
        (doc, extra, reqs) in arb_document().prop_flat_map(|doc| {
            let rule = arb_rule_for(&doc, "extra");
            let reqs = proptest::collection::vec(arb_request(&doc), 32);
            (Just(doc), rule, reqs)
        })
    ) {
        let before = engine(&doc);
        let mut with = doc.clone();
        with.rules.push(extra.clone());
        let after = engine(&with);
        // Removing a forbid: drop every forbid from the original.
        let without_forbids = engine(&PolicyDocument {
            rules: doc.rules.iter().filter(|r| r.effect == Effect::Permit).cloned().collect(),
            ..doc.clone()
        });
        for req in &reqs {
            let r = req.as_request();
            let (b, a) = (before.decide(&r).allowed, after.decide(&r).allowed);
            match extra.effect {
                Effect::Permit => prop_assert!(!b || a, "adding a permit flipped allow to deny"),
                Effect::Forbid => prop_assert!(b || !a, "adding a forbid flipped deny to allow"),
            }
            prop_assert!(!b || without_forbids.decide(&r).allowed, "removing forbids flipped allow to deny");
        }
    }

    #[test]
    fn p13_reason_resolves_and_explain_lists_it((doc, reqs) in doc_and_requests(32)) {
        let engine = engine(&doc);
        for req in &reqs {
            let r = req.as_request();
            let d = engine.decide(&r);
            let e = engine.explain(&r);
            prop_assert_eq!(e.decision, d);
            match d.reason {
                Reason::Permit(id) => prop_assert!(engine.rule(id).is_some() && e.permits.contains(&id)),
                Reason::Forbid(id) => prop_assert!(engine.rule(id).is_some() && e.forbids.contains(&id)),
                Reason::Guardrail(g) => prop_assert_eq!(e.guardrails.first(), Some(&g)),
                Reason::DefaultDeny => prop_assert!(e.permits.is_empty() && e.forbids.is_empty() && e.guardrails.is_empty()),
            }
        }
    }

    #[test]
    fn p14_serde_round_trip(doc in arb_document()) {
        let toml = doc.to_toml_string().unwrap();
        let json = doc.to_json_string().unwrap();
        prop_assert_eq!(&PolicyDocument::from_toml_str(&toml).unwrap(), &doc);
        prop_assert_eq!(&PolicyDocument::from_json_str(&json).unwrap(), &doc);
        let from_value = engine(&doc).matrix();
        prop_assert_eq!(&PolicyEngine::from_toml_str(&toml).unwrap().matrix(), &from_value);
        prop_assert_eq!(&PolicyEngine::from_json_str(&json).unwrap().matrix(), &from_value);
    }

    #[test]
    fn p15_validation_gate(
        (doc, corruption, pick, req) in arb_document()
            .prop_filter("needs a rule to corrupt", |d| !d.rules.is_empty())
            .prop_flat_map(|doc| {
                let req = arb_request(&doc);
                (Just(doc), 0u8..5, any::<prop::sample::Index>(), req)
            })
    ) {
        // An accepted document gives a total decide.
        let _ = engine(&doc).decide(&req.as_request());
        let mut bad = doc.clone();
        let i = pick.index(bad.rules.len());
        let victim = bad.rules[i].id.clone();
        let (expected_item, expected_kind) = match corruption {
            0 => {
                bad.rules[i].roles.push("no-such-role".into());
                (Item::Rule { index: i, id: victim.clone() }, ValidationErrorKind::UnknownRole("no-such-role".into()))
            }
            1 => {
                let mut copy = bad.rules[i].clone();
                copy.description = Some("copy".into());
                bad.rules.push(copy);
                (Item::Rule { index: bad.rules.len() - 1, id: victim.clone() }, ValidationErrorKind::DuplicateRuleId)
            }
            2 => {
                bad.roles.push(RoleDef { name: "help-desk".into(), template: None, read_only: false, description: None });
                (Item::Role { index: bad.roles.len() - 1, name: "help-desk".into() }, ValidationErrorKind::ShadowsBuiltin)
            }
            3 => {
                let n = bad.roles.len();
                bad.roles.push(RoleDef { name: "loop-a".into(), template: Some("loop-b".into()), read_only: false, description: None });
                bad.roles.push(RoleDef { name: "loop-b".into(), template: Some("loop-a".into()), read_only: false, description: None });
                (Item::Role { index: n, name: "loop-a".into() }, ValidationErrorKind::TemplateCycle)
            }
            _ => {
                bad.rules[i].effect = Effect::Permit;
                bad.rules[i].roles = vec!["manager".into()];
                bad.rules[i].actions.push("enable-api-key".into());
                (
                    Item::Rule { index: i, id: victim.clone() },
                    ValidationErrorKind::EscalationGrant { action: "enable-api-key".into(), role: "manager".into() },
                )
            }
        };
        let errors = PolicyEngine::from_document(bad).expect_err("corrupted documents are rejected");
        prop_assert!(
            errors.iter().any(|e| e.item == expected_item && e.kind == expected_kind),
            "expected {} / {}, got {}", expected_item, expected_kind, errors
        );
        let offending = match &expected_item { Item::Rule { id, .. } => id.clone(), Item::Role { name, .. } => name.clone(), _ => unreachable!() };
        let quoted = format!("`{offending}`");
        prop_assert!(errors.to_string().contains(&quoted));
    }

    #[test]
    fn p16_differential_against_the_reference_interpreter((doc, reqs) in doc_and_requests(32)) {
        let engine = engine(&doc);
        for req in &reqs {
            prop_assert_eq!(named(&engine, req), reference_decide(&doc, &req.as_request()), "{:?}", req);
            check_invariants(&engine, &req.as_request()).map_err(|v| TestCaseError::fail(v.to_string()))?;
        }
    }

    #[test]
    fn p17_self_service((doc, req) in doc_and_request(), engine_b in profiles()) {
        let org = admin_mfa_policy::testing::ORG;
        // Built-in profiles: every role, on itself, through the login flow; nowhere else.
        let flow = Context { via_login_flow: true, ..req.context };
        let no_flow = Context { via_login_flow: false, ..req.context };
        for role in BuiltinRole::ALL.map(builtin) {
            for action in [Action::EnrollOwnTotp, Action::ResetOwnTotp] {
                let subject = Subject { id: SUBJECT_ID, org, role: &role };
                let on_self = Target::Admin { id: SUBJECT_ID, org, role: &role };
                let other = Target::Admin { id: OTHER_ID, org, role: &role };
                let ask = |target, context| engine_b.decide(&Request { subject, action: &action, target, context }).allowed;
                let (self_flow, self_no_flow, other_flow) = (ask(on_self, &flow), ask(on_self, &no_flow), ask(other, &flow));
                prop_assert!(self_flow);
                prop_assert!(!self_no_flow);
                prop_assert!(!other_flow);
            }
        }
        // Any document: self-service on another admin or outside the flow needs a non-self rule.
        let engine = engine(&doc);
        let r = req.as_request();
        if req.action.class() == ActionClass::SelfService {
            let is_self = matches!(req.target, OwnedTarget::Admin { id, .. } if id == SUBJECT_ID);
            let d = engine.decide(&r);
            if d.allowed && (!is_self || !req.context.via_login_flow) {
                let Reason::Permit(id) = d.reason else { panic!() };
                prop_assert_ne!(&engine.rule(id).unwrap().target, &TargetSpec::SelfOnly);
            }
        }
        // delete-admin on self: always G2 (unless G7 or G1 come first, which they cannot here).
        let role = &req.subject_role;
        let d = engine.decide(&Request {
            subject: Subject { id: SUBJECT_ID, org, role },
            action: &Action::DeleteAdmin,
            target: Target::Admin { id: SUBJECT_ID, org, role },
            context: &req.context,
        });
        prop_assert_eq!(d.reason, Reason::Guardrail(GuardrailId::NoSelfDelete));
    }

    #[test]
    fn p18_last_awb_is_kept((doc, req) in doc_and_request(), awb_count in 0u32..=1, is_self in any::<bool>()) {
        let engine = engine(&doc);
        let org = admin_mfa_policy::testing::ORG;
        let awb = builtin(BuiltinRole::AdministratorWithBilling);
        let subject_role = if is_self { &awb } else { &req.subject_role };
        let context = Context { awb_count, ..req.context };
        for action in [Action::DeleteAdmin, Action::SuspendAdmin, Action::ChangeAdminRole] {
            let d = engine.decide(&Request {
                subject: Subject { id: SUBJECT_ID, org, role: subject_role },
                action: &action,
                target: Target::Admin { id: if is_self { SUBJECT_ID } else { OTHER_ID }, org, role: &awb },
                context: &context,
            });
            prop_assert!(!d.allowed, "{} on the last AwB", action);
            prop_assert!(matches!(d.reason, Reason::Guardrail(_)));
        }
    }

    #[test]
    fn p19_bulk_is_pointwise_and_order_free(
        (doc, req, targets, order) in arb_document().prop_flat_map(|doc| {
            let req = arb_request(&doc);
            let targets = proptest::collection::vec(arb_request(&doc).prop_map(|r| r.target), 0..24);
            (Just(doc), req, targets.clone(), targets.prop_flat_map(|t| Just((0..t.len()).collect::<Vec<_>>()).prop_shuffle()))
        })
    ) {
        let _ = order;
        let engine = engine(&doc);
        let r = req.as_request();
        let borrowed: Vec<Target<'_>> = targets.iter().map(|t| OwnedRequest { target: t.clone(), ..req.clone() }).collect::<Vec<_>>()
            .iter().map(|o| o.as_request().target).collect::<Vec<_>>().into_iter().map(|t| to_static(t, &targets)).collect();
        let bulk = engine.decide_bulk(r.subject, r.action, borrowed.iter().copied(), r.context);
        let single: Vec<_> = borrowed.iter().map(|t| engine.decide(&Request { target: *t, ..r })).collect();
        prop_assert_eq!(&bulk.decisions, &single);
        prop_assert_eq!(bulk.all_allowed, single.iter().all(|d| d.allowed));
        let perm: Vec<usize> = (0..borrowed.len()).rev().collect();
        let permuted = engine.decide_bulk(r.subject, r.action, perm.iter().map(|&i| borrowed[i]), r.context);
        let expected: Vec<_> = perm.iter().map(|&i| single[i]).collect();
        prop_assert_eq!(permuted.decisions, expected);
    }

    #[test]
    fn p21_no_document_lets_a_session_weaken_its_own_mfa(
        (doc, grant_target, context) in arb_document().prop_flat_map(|doc| {
            (Just(doc), select(vec![TargetSpec::SelfOnly, TargetSpec::Any]), arb_context())
        })
    ) {
        // Grant both actions to every role the document knows, on itself or on anyone.
        let mut granting = doc.clone();
        granting.rules.push(RuleDef {
            id: "everyone-weakens-own-mfa".into(),
            effect: Effect::Permit,
            roles: BuiltinRole::ALL
                .iter()
                .map(|r| r.as_str().to_owned())
                .chain(doc.roles.iter().map(|r| r.name.clone()))
                .collect(),
            actions: vec![
                Action::DisableMfaRequirement.as_str().to_owned(),
                Action::ResetMfa.as_str().to_owned(),
            ],
            target: grant_target,
            description: None,
        });
        let org = admin_mfa_policy::testing::ORG;
        for engine in [engine(&doc), engine(&granting)] {
            for role in engine.roles() {
                for action in [Action::DisableMfaRequirement, Action::ResetMfa] {
                    let req = Request {
                        subject: Subject { id: SUBJECT_ID, org, role },
                        action: &action,
                        target: Target::Admin { id: SUBJECT_ID, org, role },
                        context: &context,
                    };
                    let d = engine.decide(&req);
                    prop_assert!(!d.allowed, "{} may {} itself: {:?}", role, action, d);
                    prop_assert!(matches!(d.reason, Reason::Guardrail(_)), "{:?}", d);
                    let guardrails = engine.explain(&req).guardrails;
                    prop_assert!(guardrails.contains(&GuardrailId::NoSelfMfaRemoval), "{:?}", guardrails);
                }
                // The self-service reset through the e-mailed link is untouched by G8.
                let flow = Context { via_login_flow: true, ..context };
                let reset_own = Request {
                    subject: Subject { id: SUBJECT_ID, org, role },
                    action: &Action::ResetOwnTotp,
                    target: Target::Admin { id: SUBJECT_ID, org, role },
                    context: &flow,
                };
                let guardrails = engine.explain(&reset_own).guardrails;
                prop_assert!(!guardrails.contains(&GuardrailId::NoSelfMfaRemoval));
            }
        }
    }

    #[test]
    fn p20_template_monotonicity(
        (doc, template, reqs) in arb_document().prop_flat_map(|doc| {
            let mut templates: Vec<String> = BuiltinRole::ALL.iter().skip(1).map(|r| r.as_str().to_owned()).collect();
            templates.extend(doc.roles.iter().map(|r| r.name.clone()));
            let reqs = proptest::collection::vec(arb_request(&doc), 32);
            (Just(doc), select(templates), reqs)
        })
    ) {
        let mut with_probe = doc.clone();
        with_probe.roles.push(RoleDef { name: "probe".into(), template: Some(template.clone()), read_only: false, description: None });
        let engine = engine(&with_probe);
        let base = engine.role(&template).unwrap();
        let probe = engine.role("probe").unwrap();
        for req in &reqs {
            let mut as_base = req.clone();
            as_base.subject_role = base.clone();
            let mut as_probe = req.clone();
            as_probe.subject_role = probe.clone();
            // The subject's own admin record carries its role.
            if let OwnedTarget::Admin { id, role, .. } = &mut as_base.target && *id == SUBJECT_ID { *role = base.clone(); }
            if let OwnedTarget::Admin { id, role, .. } = &mut as_probe.target && *id == SUBJECT_ID { *role = probe.clone(); }
            let (b, p) = (engine.decide(&as_base.as_request()), engine.decide(&as_probe.as_request()));
            prop_assert!(!b.allowed || p.allowed, "{} may but its template child may not: {:?}", template, as_base);
        }
    }
}

/// The subjects a ≥ b of docs/POLICY.md §6 (transitively closed); the flag marks pairs that hold for
/// billing actions only.
fn role_order() -> Vec<(BuiltinRole, BuiltinRole, bool)> {
    use BuiltinRole::*;
    let chain = [
        AdministratorWithBilling,
        Administrator,
        Manager,
        HelpDesk,
        ReadOnly,
    ];
    let mut pairs = Vec::new();
    for (i, a) in chain.iter().enumerate() {
        for b in chain.iter().skip(i) {
            pairs.push((*a, *b, false));
        }
    }
    pairs.extend([
        (AdministratorWithBilling, CommandRunnerWithBilling, false),
        (AdministratorWithBilling, CommandRunner, false),
        (CommandRunnerWithBilling, CommandRunner, false),
        (CommandRunner, CommandRunner, false),
        (CommandRunnerWithBilling, CommandRunnerWithBilling, false),
        (CommandRunnerWithBilling, BillingOnly, true),
        (AdministratorWithBilling, BillingOnly, true),
        (BillingOnly, BillingOnly, false),
    ]);
    pairs
}

fn to_static<'a>(t: Target<'_>, owned: &'a [OwnedTarget]) -> Target<'a> {
    // Re-borrow the role from the owned list so the targets outlive the temporary requests.
    match t {
        Target::Admin { id, org, role } => {
            let role = owned
                .iter()
                .find_map(|o| match o {
                    OwnedTarget::Admin { role: r, .. } if r == role => Some(r),
                    _ => None,
                })
                .unwrap();
            Target::Admin { id, org, role }
        }
        Target::Page(p) => Target::Page(p),
        Target::Widget(w) => Target::Widget(w),
        Target::Org(o) => Target::Org(o),
    }
}
