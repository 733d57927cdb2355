//! `decide` never allocates: measured with a counting global allocator.
//!
//! This file holds one test on purpose: the allocator counts the whole process.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::alloc::System;

use admin_mfa_policy::{
    Action, AdminId, BuiltinRole, Context, OrgId, PageId, PolicyEngine, Request, Role, RoleName,
    Subject, Target, WidgetId,
};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// How many passes over the batch may be disturbed by the harness before the test gives up.
const PASSES: usize = 8;

#[test]
fn decide_never_allocates() {
    let custom = PolicyEngine::from_document(admin_mfa_policy::PolicyDocument {
        roles: vec![admin_mfa_policy::RoleDef {
            name: "mfa-auditor".into(),
            template: Some("read-only".into()),
            read_only: true,
            description: None,
        }],
        rules: vec![admin_mfa_policy::RuleDef {
            id: "auditor-no-admin-list".into(),
            effect: admin_mfa_policy::Effect::Forbid,
            roles: vec!["mfa-auditor".into()],
            actions: vec!["view-admin-list".into()],
            target: admin_mfa_policy::TargetSpec::Any,
            description: None,
        }],
        ..admin_mfa_policy::PolicyDocument::new(admin_mfa_policy::Extends::Jumpcloud)
    })
    .unwrap();
    let engines = [
        PolicyEngine::jumpcloud(),
        PolicyEngine::jumpcloud_strict(),
        custom,
    ];
    let mut roles: Vec<Role> = BuiltinRole::ALL.iter().map(|r| Role::Builtin(*r)).collect();
    roles.push(Role::Custom(RoleName::new("mfa-auditor").unwrap()));
    roles.push(Role::Custom(RoleName::new("unknown-role").unwrap()));
    let mut actions = Action::BUILTIN.to_vec();
    actions.push("unknown-action".parse().unwrap());
    let (me, you) = (AdminId::from_bytes([1; 16]), AdminId::from_bytes([2; 16]));
    let (org, other_org) = (OrgId::from_bytes([3; 16]), OrgId::from_bytes([4; 16]));
    let contexts = [
        Context {
            global_mfa_required: false,
            awb_count: 1,
            via_login_flow: false,
        },
        Context {
            global_mfa_required: true,
            awb_count: 5,
            via_login_flow: true,
        },
    ];
    let mut requests = Vec::new();
    for subject_role in &roles {
        for action in &actions {
            for context in &contexts {
                let subject = Subject {
                    id: me,
                    org,
                    role: subject_role,
                };
                let mut targets = vec![
                    Target::Admin {
                        id: me,
                        org,
                        role: subject_role,
                    },
                    Target::Admin {
                        id: you,
                        org: other_org,
                        role: subject_role,
                    },
                    Target::Page(PageId::Home),
                    Target::Page(PageId::Administrators),
                    Target::Widget(WidgetId::AdminsWithoutMfaRequired),
                    Target::Org(org),
                    Target::Org(other_org),
                ];
                targets.extend(
                    roles
                        .iter()
                        .map(|role| Target::Admin { id: you, org, role }),
                );
                requests.extend(targets.into_iter().map(|target| Request {
                    subject,
                    action,
                    target,
                    context,
                }));
            }
        }
    }
    // The counter is process-wide, and the test harness's main thread may allocate while it
    // waits for this one (seen under load). `decide` is deterministic: if it allocated, every
    // pass would count it. So the check is that some pass of the whole batch counts nothing.
    let mut passes = Vec::new();
    for _ in 0..PASSES {
        let mut allowed = 0usize;
        let region = Region::new(GLOBAL);
        for engine in &engines {
            for request in &requests {
                allowed += usize::from(std::hint::black_box(engine.decide(request)).allowed);
            }
        }
        let stats = region.change();
        assert!(allowed > 0, "the requests exercise the allow path too");
        if stats.allocations == 0 && stats.reallocations == 0 {
            break;
        }
        passes.push(stats);
    }
    assert!(
        passes.len() < PASSES,
        "decide allocated in every pass: {passes:?}"
    );
    assert!(
        requests.len() * engines.len() > 20_000,
        "{} requests",
        requests.len()
    );
}
