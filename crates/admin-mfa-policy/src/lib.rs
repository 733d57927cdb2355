//! Role and permission policy engine for admin MFA: who may enable, require or reset MFA for whom, with a reason for every decision.
