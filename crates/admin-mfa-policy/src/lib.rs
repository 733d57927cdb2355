//! Role and permission policy engine for admin MFA: who may enable, require or reset MFA for
//! whom, with a reason for every decision.

mod action;
mod decision;
mod document;
mod engine;
mod ids;
#[cfg(any(feature = "toml", feature = "json"))]
mod load;
#[cfg(any(feature = "toml", feature = "json"))]
pub use load::SerializeError;
mod matrix;
mod profiles;
mod request;
mod role;
#[cfg(feature = "proptest")]
pub mod testing;

pub use action::{Action, ActionClass, ActionName, ActionParseError, BUILTIN_ACTIONS, TargetKind};
pub use decision::{Decision, GuardrailId, Reason, RuleId};
pub use document::{
    Catalog, DEFAULT_MAX_CUSTOM_ROLES, DOCUMENT_VERSION, Effect, Extends, Item, LoadError,
    Location, MAX_CUSTOM_ROLES_LIMIT, PolicyDocument, RoleDef, RuleDef, TargetSpec,
    ValidationError, ValidationErrorKind, ValidationErrors, ValidationWarning,
};
pub use engine::{BulkDecision, Explanation, PolicyEngine, RuleInfo, RuleSource, WidgetAccess};
pub use ids::{AdminId, IdParseError, OrgId, PageId, WidgetId};
pub use matrix::{DecisionMatrix, MATRIX_CONTEXTS, MatrixChange, MatrixRow, MatrixTarget, Verdict};
pub use profiles::profile_rules;
pub use request::{Context, Request, Subject, Target};
pub use role::{BuiltinRole, Role, RoleName, RoleParseError};
pub use uuid::Uuid;
