//! The roles and permissions of JumpCloud's admin-portal MFA guide, asked of `admin-mfa-policy`
//! and printed with their reasons.

use admin_mfa_policy::{
    Action, AdminId, BuiltinRole, Context, Decision, OrgId, PageId, PolicyEngine, Reason, Request,
    Role, Subject, Target, WidgetAccess, WidgetId,
};

const ORG: OrgId = OrgId::from_bytes([0x0a; 16]);
const OTHER_ORG: OrgId = OrgId::from_bytes([0x0b; 16]);
const ME: AdminId = AdminId::from_bytes([0x01; 16]);
const THEM: AdminId = AdminId::from_bytes([0x02; 16]);

fn explain(engine: &PolicyEngine, d: Decision) -> String {
    let verdict = match (d.allowed, d.visible) {
        (true, _) => "ALLOWED",
        (false, true) => "DENIED",
        (false, false) => "DENIED (answer \"not found\")",
    };
    let reason = match d.reason {
        Reason::Permit(id) | Reason::Forbid(id) => engine.rule(id).map_or_else(
            || "an unknown rule".to_owned(),
            |rule| match &rule.description {
                Some(text) => format!("rule `{}`: {text}", rule.id),
                None => format!("rule `{}`", rule.id),
            },
        ),
        Reason::Guardrail(g) => format!(
            "guardrail {} `{}`: {}",
            g.code(),
            g.as_str(),
            g.description()
        ),
        Reason::DefaultDeny => "no rule permits it (default deny)".to_owned(),
    };
    format!("{verdict} — {reason}")
}

struct Ask<'a> {
    engine: &'a PolicyEngine,
    context: Context,
}

impl Ask<'_> {
    fn on(&self, subject: BuiltinRole, action: &Action, target: Target<'_>) -> Decision {
        let role = Role::Builtin(subject);
        self.engine.decide(&Request {
            subject: Subject {
                id: ME,
                org: ORG,
                role: &role,
            },
            action,
            target,
            context: &self.context,
        })
    }

    fn on_admin(&self, subject: BuiltinRole, action: &Action, target: BuiltinRole) -> Decision {
        let role = Role::Builtin(target);
        self.on(
            subject,
            action,
            Target::Admin {
                id: THEM,
                org: ORG,
                role: &role,
            },
        )
    }

    fn on_self(&self, subject: BuiltinRole, action: &Action) -> Decision {
        let role = Role::Builtin(subject);
        self.on(
            subject,
            action,
            Target::Admin {
                id: ME,
                org: ORG,
                role: &role,
            },
        )
    }

    fn print(&self, what: &str, d: Decision, expect_allowed: bool) -> Result<(), String> {
        println!("  {what}\n      {}", explain(self.engine, d));
        if d.allowed == expect_allowed {
            Ok(())
        } else {
            Err(format!("unexpected decision for: {what}"))
        }
    }
}

/// Prints the guide's role decisions; fails if one of them is not what the guide says.
pub(crate) fn run() -> Result<(), String> {
    use BuiltinRole::{
        Administrator, AdministratorWithBilling as Awb, BillingOnly, HelpDesk, Manager,
    };

    let engine = PolicyEngine::jumpcloud();
    let ask = Ask {
        engine: &engine,
        context: Context {
            global_mfa_required: false,
            awb_count: 2,
            via_login_flow: false,
        },
    };
    println!(
        "\n== 15. Roles and permissions, decision by decision (admin-mfa-policy, profile `jumpcloud`)"
    );
    ask.print(
        "Administrator enables MFA for an Administrator With Billing",
        ask.on_admin(Administrator, &Action::EnableMfa, Awb),
        false,
    )?;
    ask.print(
        "Administrator With Billing enables MFA for themselves",
        ask.on_self(Awb, &Action::EnableMfa),
        true,
    )?;
    ask.print(
        "Administrator enables MFA for a Manager",
        ask.on_admin(Administrator, &Action::EnableMfa, Manager),
        true,
    )?;
    ask.print(
        "Administrator resets MFA for a Help Desk admin",
        ask.on_admin(Administrator, &Action::ResetMfa, HelpDesk),
        true,
    )?;
    ask.print(
        "Manager enables MFA for a Help Desk admin",
        ask.on_admin(Manager, &Action::EnableMfa, HelpDesk),
        false,
    )?;
    ask.print(
        "Administrator With Billing requires MFA (bulk action) for an Administrator",
        ask.on_admin(Awb, &Action::RequireMfaBulk, Administrator),
        true,
    )?;
    ask.print(
        "Help Desk requires MFA (bulk action) for a Manager",
        ask.on_admin(HelpDesk, &Action::RequireMfaBulk, Manager),
        false,
    )?;
    ask.print(
        "Billing Only opens the Home page",
        ask.on(BillingOnly, &Action::ViewHome, Target::Page(PageId::Home)),
        false,
    )?;
    ask.print(
        "Administrator removes the widget from their own Home",
        ask.on(
            Administrator,
            &Action::ToggleWidget,
            Target::Page(PageId::Home),
        ),
        true,
    )?;
    let flow = Ask {
        engine: &engine,
        context: Context {
            via_login_flow: true,
            ..ask.context
        },
    };
    flow.print(
        "Locked-out Manager resets their own TOTP from the MFA prompt",
        flow.on_self(Manager, &Action::ResetOwnTotp),
        true,
    )?;
    ask.print(
        "Administrator With Billing deletes their own account",
        ask.on_self(Awb, &Action::DeleteAdmin),
        false,
    )?;
    let last = Ask {
        engine: &engine,
        context: Context {
            awb_count: 1,
            ..ask.context
        },
    };
    last.print(
        "The organization's only Administrator With Billing suspends themselves",
        last.on_self(Awb, &Action::SuspendAdmin),
        false,
    )?;
    let foreign = Role::Builtin(Manager);
    ask.print(
        "Administrator With Billing enables MFA for an admin of another organization",
        ask.on(
            Awb,
            &Action::EnableMfa,
            Target::Admin {
                id: THEM,
                org: OTHER_ORG,
                role: &foreign,
            },
        ),
        false,
    )?;

    println!("\n  The \"Admins Without MFA Required\" widget, role by role:");
    for role in BuiltinRole::ALL {
        let r = Role::Builtin(role);
        let access = engine.widget_access(
            Subject {
                id: ME,
                org: ORG,
                role: &r,
            },
            WidgetId::AdminsWithoutMfaRequired,
            &ask.context,
        );
        let text = match access {
            WidgetAccess::Actionable => "can see the widget and can take action on the list",
            WidgetAccess::ViewOnly => "can see the widget but cannot take action on the list",
            WidgetAccess::Hidden => "can see the Home page but cannot see this widget",
            WidgetAccess::NoHomePage => "cannot see the Home page",
        };
        println!("    {:<28} {text}", role.display_name());
    }

    let strict = PolicyEngine::jumpcloud_strict();
    let changes = engine.diff(&strict);
    println!(
        "\n  Profile `jumpcloud-strict` differs in {} cells: Administrator may no longer enable or reset MFA for other admins.",
        changes.len()
    );
    Ok(())
}
