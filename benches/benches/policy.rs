//! admin-mfa-policy: `PolicyEngine::decide` on the built-in profile and on a custom policy of
//! 20 roles and 64 rules, beside two naive baselines in the same run (a plain rule-list scan that
//! returns the reason, and the crate's reference interpreter), plus the secondary targets of
//! POLICY.md §13: `decide_bulk` over 10 000 targets, loading 100 rules, `matrix()`, `explain()`.
//!
//! Run: `cargo bench -p admin-mfa-benches --bench policy -- --warm-up-time 1 --measurement-time 3`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs,
    reason = "a bench fails loudly on setup errors"
)]

use std::hint::black_box;

use admin_mfa_policy::testing::{OwnedRequest, OwnedTarget, reference_decide};
use admin_mfa_policy::{
    Action, AdminId, BuiltinRole, Context, Effect, Extends, OrgId, PageId, PolicyDocument,
    PolicyEngine, Request, Role, RoleDef, RuleDef, Subject, Target, TargetSpec, WidgetId,
};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

const ORG: OrgId = OrgId::from_bytes([0x0a; 16]);
const ME: AdminId = AdminId::from_bytes([0x01; 16]);
const THEM: AdminId = AdminId::from_bytes([0x02; 16]);
const CTX: Context = Context {
    global_mfa_required: false,
    awb_count: 2,
    via_login_flow: false,
};

/// A request of `subject` on another admin of the org with role `target` (owned, so that a
/// batch is built once and borrowed in the timed loop).
fn on_admin(subject: Role, action: Action, target: Role) -> OwnedRequest {
    on(
        subject,
        action,
        OwnedTarget::Admin {
            id: THEM,
            org: ORG,
            role: target,
        },
    )
}

fn on(subject: Role, action: Action, target: OwnedTarget) -> OwnedRequest {
    OwnedRequest {
        subject_id: ME,
        subject_org: ORG,
        subject_role: subject,
        action,
        target,
        context: CTX,
    }
}

fn b(r: BuiltinRole) -> Role {
    Role::Builtin(r)
}

/// A custom policy with `roles` custom roles (templated on the built-ins and on each other) and
/// `rules` rules, permits and forbids, over every kind of target spec.
fn custom_document(roles: usize, rules: usize) -> PolicyDocument {
    let templates = [
        "administrator",
        "manager",
        "help-desk",
        "read-only",
        "command-runner",
        "command-runner-with-billing",
        "billing-only",
    ];
    let role_defs: Vec<RoleDef> = (0..roles)
        .map(|i| RoleDef {
            name: format!("custom-{i:02}"),
            template: Some(if i >= 10 {
                format!("custom-{:02}", i - 10)
            } else {
                templates[i % templates.len()].to_owned()
            }),
            read_only: i % 7 == 3,
            description: None,
        })
        .collect();
    let actions: Vec<&str> = Action::BUILTIN
        .iter()
        .filter(|a| !a.is_awb_only())
        .map(Action::as_str)
        .collect();
    let rule_defs: Vec<RuleDef> = (0..rules)
        .map(|i| RuleDef {
            id: format!("rule-{:03}", (i * 37) % 1000),
            effect: if i % 4 == 3 {
                Effect::Forbid
            } else {
                Effect::Permit
            },
            roles: vec![
                format!("custom-{:02}", i % roles),
                format!("custom-{:02}", (i * 7 + 3) % roles),
            ],
            actions: (0..3)
                .map(|k| actions[(i * 5 + k * 3) % actions.len()].to_owned())
                .collect(),
            target: match i % 5 {
                0 => TargetSpec::Any,
                1 => TargetSpec::Others,
                2 => TargetSpec::Roles(vec![
                    "manager".into(),
                    format!("custom-{:02}", (i + 1) % roles),
                ]),
                3 => TargetSpec::NotRoles(vec!["administrator-with-billing".into()]),
                _ => TargetSpec::SelfOnly,
            },
            description: None,
        })
        .collect();
    PolicyDocument {
        roles: role_defs,
        rules: rule_defs,
        ..PolicyDocument::new(Extends::Jumpcloud)
    }
}

/// The plain baseline: the rule list as written, scanned linearly for every request; returns
/// the reason (the lowest forbid, else the lowest permit). No guardrails, no templates.
struct RuleList {
    rules: Vec<(Role, Action, TargetSpec, Effect, String)>,
}

impl RuleList {
    fn new(engine: &PolicyEngine) -> Self {
        let mut rules = Vec::new();
        for rule in engine.rules() {
            for role in &rule.roles {
                for action in &rule.actions {
                    rules.push((
                        role.clone(),
                        action.clone(),
                        rule.target.clone(),
                        rule.effect,
                        rule.id.clone(),
                    ));
                }
            }
        }
        Self { rules }
    }

    fn decide(&self, req: &Request<'_>) -> Option<&str> {
        let mut permit: Option<&str> = None;
        let mut forbid: Option<&str> = None;
        for (role, action, target, effect, id) in &self.rules {
            if role != req.subject.role || action != req.action {
                continue;
            }
            let hit = match (target, req.target) {
                (TargetSpec::Any, _) => true,
                (TargetSpec::SelfOnly, Target::Admin { id, .. }) => id == req.subject.id,
                (TargetSpec::Others, Target::Admin { id, .. }) => id != req.subject.id,
                (TargetSpec::Roles(names), Target::Admin { id, role, .. }) => {
                    id != req.subject.id && names.iter().any(|n| n == role.as_str())
                }
                (TargetSpec::NotRoles(names), Target::Admin { id, role, .. }) => {
                    id != req.subject.id && !names.iter().any(|n| n == role.as_str())
                }
                _ => false,
            };
            if hit {
                let slot = if *effect == Effect::Forbid {
                    &mut forbid
                } else {
                    &mut permit
                };
                if slot.is_none_or(|s| id.as_str() < s) {
                    *slot = Some(id);
                }
            }
        }
        forbid.or(permit)
    }
}

fn builtin_requests() -> Vec<(&'static str, OwnedRequest)> {
    use BuiltinRole::*;
    vec![
        (
            "admin-enables-mfa-for-awb/guardrail",
            on_admin(
                b(Administrator),
                Action::EnableMfa,
                b(AdministratorWithBilling),
            ),
        ),
        (
            "admin-enables-mfa-for-manager/permit",
            on_admin(b(Administrator), Action::EnableMfa, b(Manager)),
        ),
        (
            "awb-requires-mfa/permit",
            on_admin(
                b(AdministratorWithBilling),
                Action::RequireMfaBulk,
                b(HelpDesk),
            ),
        ),
        (
            "help-desk-resets-mfa/default-deny",
            on_admin(b(HelpDesk), Action::ResetMfa, b(ReadOnly)),
        ),
        (
            "billing-only-views-home/hidden",
            on(
                b(BillingOnly),
                Action::ViewHome,
                OwnedTarget::Page(PageId::Home),
            ),
        ),
        (
            "read-only-views-widget/permit",
            on(
                b(ReadOnly),
                Action::ViewAdminsWithoutMfaWidget,
                OwnedTarget::Widget(WidgetId::AdminsWithoutMfaRequired),
            ),
        ),
    ]
}

fn custom_requests(engine: &PolicyEngine) -> Vec<OwnedRequest> {
    let roles: Vec<Role> = engine.roles().cloned().collect();
    (0..64)
        .map(|i| {
            let subject = roles[8 + (i * 3) % (roles.len() - 8)].clone();
            let action = Action::BUILTIN[(i * 7) % Action::BUILTIN.len()].clone();
            on_admin(subject, action, roles[(i * 5) % roles.len()].clone())
        })
        .collect()
}

fn decide(c: &mut Criterion) {
    let jumpcloud = PolicyEngine::jumpcloud();
    let jumpcloud_list = RuleList::new(&jumpcloud);
    let mut group = c.benchmark_group("policy/decide/jumpcloud");
    group.sample_size(30);
    for (name, owned) in builtin_requests() {
        let req = owned.as_request();
        group.bench_function(name, |bench| {
            bench.iter(|| jumpcloud.decide(black_box(&req)))
        });
    }
    let requests = builtin_requests();
    let borrowed: Vec<Request<'_>> = requests.iter().map(|(_, o)| o.as_request()).collect();
    group.throughput(Throughput::Elements(borrowed.len() as u64));
    group.bench_function("engine/6-requests", |bench| {
        bench.iter(|| {
            for req in &borrowed {
                let _ = black_box(jumpcloud.decide(black_box(req)));
            }
        });
    });
    group.bench_function("naive-rule-list/6-requests", |bench| {
        bench.iter(|| {
            for req in &borrowed {
                black_box(jumpcloud_list.decide(black_box(req)));
            }
        });
    });
    group.finish();

    let doc = custom_document(20, 64);
    let custom = PolicyEngine::from_document(doc.clone()).unwrap();
    let requests = custom_requests(&custom);
    let borrowed: Vec<Request<'_>> = requests.iter().map(OwnedRequest::as_request).collect();
    let list = RuleList::new(&custom);
    let allowed = borrowed.iter().filter(|r| custom.decide(r).allowed).count();
    assert!(
        allowed > 0 && allowed < borrowed.len(),
        "the custom batch mixes allows and denies ({allowed})"
    );

    let mut group = c.benchmark_group("policy/decide/custom-20-roles-64-rules");
    group.sample_size(30);
    let single = on_admin(
        Role::Custom("custom-17".parse().unwrap()),
        Action::EnableMfa,
        Role::Custom("custom-04".parse().unwrap()),
    );
    let single = single.as_request();
    group.bench_function("engine/custom-subject-custom-target", |bench| {
        bench.iter(|| custom.decide(black_box(&single)))
    });
    group.throughput(Throughput::Elements(borrowed.len() as u64));
    group.bench_function("engine/64-requests", |bench| {
        bench.iter(|| {
            for req in &borrowed {
                let _ = black_box(custom.decide(black_box(req)));
            }
        });
    });
    group.bench_function("naive-rule-list/64-requests", |bench| {
        bench.iter(|| {
            for req in &borrowed {
                black_box(list.decide(black_box(req)));
            }
        });
    });
    group.bench_function("reference-interpreter/64-requests", |bench| {
        bench.iter(|| {
            for req in &borrowed {
                black_box(reference_decide(&doc, black_box(req)));
            }
        });
    });
    group.finish();
}

fn secondary(c: &mut Criterion) {
    let engine = PolicyEngine::jumpcloud();
    let mut group = c.benchmark_group("policy/secondary");
    group.sample_size(30);

    let roles: Vec<Role> = BuiltinRole::ALL.iter().map(|r| b(*r)).collect();
    let awb = b(BuiltinRole::AdministratorWithBilling);
    let targets: Vec<Target<'_>> = (0..10_000u32)
        .map(|i| {
            let mut bytes = [0u8; 16];
            bytes[..4].copy_from_slice(&i.to_be_bytes());
            Target::Admin {
                id: AdminId::from_bytes(bytes),
                org: ORG,
                role: &roles[i as usize % roles.len()],
            }
        })
        .collect();
    let subject = Subject {
        id: ME,
        org: ORG,
        role: &awb,
    };
    group.bench_function("decide_bulk/10000-targets", |bench| {
        bench.iter(|| {
            engine.decide_bulk(
                subject,
                &Action::RequireMfaBulk,
                targets.iter().copied(),
                &CTX,
            )
        });
    });

    let doc = custom_document(20, 100);
    group.bench_function("from_document/100-rules", |bench| {
        bench.iter_batched(
            || doc.clone(),
            |d| PolicyEngine::from_document(d).unwrap(),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("matrix/jumpcloud", |bench| bench.iter(|| engine.matrix()));
    let admin = b(BuiltinRole::Administrator);
    let manager = b(BuiltinRole::Manager);
    let req = Request {
        subject: Subject {
            id: ME,
            org: ORG,
            role: &admin,
        },
        action: &Action::EnableMfa,
        target: Target::Admin {
            id: THEM,
            org: ORG,
            role: &manager,
        },
        context: &CTX,
    };
    group.bench_function("explain/jumpcloud", |bench| {
        bench.iter(|| engine.explain(black_box(&req)))
    });
    group.finish();
}

criterion_group!(benches, decide, secondary);
criterion_main!(benches);
