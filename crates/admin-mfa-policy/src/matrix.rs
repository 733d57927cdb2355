//! The exhaustive decision matrix, for audits, golden files and profile diffs.

use core::fmt;

use crate::action::Action;
use crate::decision::{Decision, Reason};
use crate::document::Extends;
use crate::ids::{PageId, WidgetId};
use crate::request::Context;
use crate::role::Role;

/// The eight contexts every matrix cell is decided in: `global_mfa_required` × `awb_count`
/// (1, the last AwB; 2, not the last) × `via_login_flow`, in that nesting order.
pub const MATRIX_CONTEXTS: [Context; 8] = [
    ctx(false, 1, false),
    ctx(false, 1, true),
    ctx(false, 2, false),
    ctx(false, 2, true),
    ctx(true, 1, false),
    ctx(true, 1, true),
    ctx(true, 2, false),
    ctx(true, 2, true),
];

const fn ctx(global_mfa_required: bool, awb_count: u32, via_login_flow: bool) -> Context {
    Context {
        global_mfa_required,
        awb_count,
        via_login_flow,
    }
}

/// A kind of target, as the matrix enumerates them.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum MatrixTarget {
    /// The subject itself.
    SelfAdmin,
    /// Another admin of the same organization, with this role.
    Admin(Role),
    /// An admin (an Administrator With Billing) of another organization.
    OtherOrgAdmin,
    /// A page.
    Page(PageId),
    /// A widget.
    Widget(WidgetId),
    /// The subject's organization.
    Org,
    /// Another organization.
    OtherOrg,
}

impl fmt::Display for MatrixTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SelfAdmin => f.write_str("self"),
            Self::Admin(role) => write!(f, "admin:{role}"),
            Self::OtherOrgAdmin => f.write_str("other-org-admin"),
            Self::Page(page) => write!(f, "page:{page}"),
            Self::Widget(widget) => write!(f, "widget:{widget}"),
            Self::Org => f.write_str("org"),
            Self::OtherOrg => f.write_str("other-org"),
        }
    }
}

/// One (subject role, action, target) of the matrix, decided in each of [`MATRIX_CONTEXTS`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MatrixRow {
    /// The subject's role.
    pub subject: Role,
    /// The action.
    pub action: Action,
    /// The target.
    pub target: MatrixTarget,
    /// The decision in each context, in [`MATRIX_CONTEXTS`] order.
    pub decisions: [Decision; 8],
}

/// The exhaustive decision table of an engine ([`PolicyEngine::matrix`](crate::PolicyEngine::matrix)).
///
/// Its `Display` is the text format of the golden files: one line per row; a row whose eight
/// decisions agree shows one verdict, a row that depends on one context flag shows one verdict
/// per value of that flag, any other row shows all eight.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DecisionMatrix {
    profile: Extends,
    rule_names: Vec<String>,
    rows: Vec<MatrixRow>,
}

impl DecisionMatrix {
    pub(crate) const fn new(
        profile: Extends,
        rule_names: Vec<String>,
        rows: Vec<MatrixRow>,
    ) -> Self {
        Self {
            profile,
            rule_names,
            rows,
        }
    }

    /// The rows, by subject role, then action, then target.
    #[must_use]
    pub fn rows(&self) -> &[MatrixRow] {
        &self.rows
    }

    /// The number of decisions (rows × contexts).
    #[must_use]
    pub fn len(&self) -> usize {
        self.rows.len() * MATRIX_CONTEXTS.len()
    }

    /// Whether the matrix has no rows.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn verdict(&self, d: &Decision) -> String {
        let name = |id: crate::RuleId| self.rule_names.get(id.index()).map_or("?", String::as_str);
        let mut s = match d.reason {
            Reason::Permit(id) => format!("allow permit:{}", name(id)),
            Reason::Forbid(id) => format!("deny forbid:{}", name(id)),
            Reason::Guardrail(g) => format!("deny {}:{}", g.code(), g.as_str()),
            Reason::DefaultDeny => "deny default".to_owned(),
        };
        if !d.allowed && matches!(d.reason, Reason::Permit(_)) {
            s.push_str(" inconsistent");
        }
        if !d.visible {
            s.push_str(" hidden");
        }
        s
    }
}

fn context_code(c: &Context) -> String {
    format!(
        "g{}a{}f{}",
        u8::from(c.global_mfa_required),
        c.awb_count,
        u8::from(c.via_login_flow)
    )
}

impl fmt::Display for DecisionMatrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "# admin-mfa-policy decision matrix, profile `{}`",
            self.profile.as_str()
        )?;
        writeln!(f, "# subject action target | verdict")?;
        writeln!(
            f,
            "# contexts: g = global_mfa_required, a = awb_count, f = via_login_flow"
        )?;
        for row in &self.rows {
            write!(f, "{} {} {} | ", row.subject, row.action, row.target)?;
            let d = &row.decisions;
            let [first, ..] = d;
            let uniform = d.iter().all(|x| x == first);
            // The flag (bit of the context index) the row depends on alone, if any.
            let single = [(4usize, 'g'), (2, 'a'), (1, 'f')]
                .into_iter()
                .find(|&(bit, _)| {
                    (0..8).all(|i| d.get(i) == d.get(if i & bit == 0 { 0 } else { bit }))
                });
            if uniform {
                writeln!(f, "{}", self.verdict(first))?;
            } else if let Some((bit, flag)) = single
                && let Some(other) = d.get(bit)
            {
                let (low, high) = if flag == 'a' { (1, 2) } else { (0, 1) };
                writeln!(
                    f,
                    "{flag}{low}: {}; {flag}{high}: {}",
                    self.verdict(first),
                    self.verdict(other)
                )?;
            } else {
                let parts: Vec<String> = MATRIX_CONTEXTS
                    .iter()
                    .zip(d)
                    .map(|(c, x)| format!("{}: {}", context_code(c), self.verdict(x)))
                    .collect();
                writeln!(f, "{}", parts.join("; "))?;
            }
        }
        Ok(())
    }
}

/// Whether a cell is allowed and visible: what [`PolicyEngine::diff`](crate::PolicyEngine::diff) compares.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct Verdict {
    /// Allowed.
    pub allowed: bool,
    /// Visible.
    pub visible: bool,
}

impl Verdict {
    pub(crate) const fn of(d: &Decision) -> Self {
        Self {
            allowed: d.allowed,
            visible: d.visible,
        }
    }
}

/// One cell whose verdict differs between two engines.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MatrixChange {
    /// The subject's role.
    pub subject: Role,
    /// The action.
    pub action: Action,
    /// The target.
    pub target: MatrixTarget,
    /// The context.
    pub context: Context,
    /// The verdict of the first engine; `None` when it does not have the cell.
    pub before: Option<Verdict>,
    /// The verdict of the second engine; `None` when it does not have the cell.
    pub after: Option<Verdict>,
}
