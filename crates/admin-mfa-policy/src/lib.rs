//! Role and permission policy engine for admin MFA: who may enable, require or reset MFA for
//! whom, with a reason for every decision.

mod action;
mod decision;
mod ids;
mod request;
mod role;

pub use action::{Action, ActionClass, ActionName, ActionParseError, BUILTIN_ACTIONS, TargetKind};
pub use decision::{Decision, GuardrailId, Reason, RuleId};
pub use ids::{AdminId, IdParseError, OrgId, PageId, WidgetId};
pub use request::{Context, Request, Subject, Target};
pub use role::{BuiltinRole, Role, RoleName, RoleParseError};
pub use uuid::Uuid;
