//! Identifiers of admins, organizations, pages and widgets.

use core::fmt;
use core::str::FromStr;

use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident, $what:literal, $kind:literal) => {
        $(#[$meta])*
        #[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        #[cfg_attr(feature = "serde", serde(transparent))]
        pub struct $name(Uuid);

        impl $name {
            #[doc = concat!("Wraps a uuid as ", $what, " id.")]
            #[must_use]
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The uuid behind this id.
            #[must_use]
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }

            #[doc = concat!("Builds ", $what, " id from the 16 bytes of a uuid (big-endian, RFC 9562 order).")]
            #[must_use]
            pub const fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(Uuid::from_bytes(bytes))
            }
        }

        impl fmt::Display for $name {
            /// The hyphenated uuid, e.g. `67e55044-10b1-426f-9247-bb680e5fe0c8`.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl FromStr for $name {
            type Err = IdParseError;

            /// Parses any uuid form `uuid` accepts (hyphenated, simple, urn, braced).
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self).map_err(|_| IdParseError { kind: $kind })
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }
    };
}

uuid_id!(
    /// The id of an admin account (the subject of a request, or an admin target).
    AdminId,
    "an admin",
    "admin"
);

uuid_id!(
    /// The id of an organization. Every admin belongs to exactly one.
    OrgId,
    "an organization",
    "organization"
);

/// The error of parsing an [`AdminId`] or [`OrgId`] from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} id: expected a uuid")]
pub struct IdParseError {
    kind: &'static str,
}

/// A page of the admin portal that can be the target of a request.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum PageId {
    /// The Home page, with its widgets (`view-home`, `toggle-widget`).
    Home,
    /// The Administrators list (`view-admin-list`).
    Administrators,
}

impl PageId {
    /// Every page, in a fixed order.
    pub const ALL: [Self; 2] = [Self::Home, Self::Administrators];

    /// The kebab-case name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Home => "home",
            Self::Administrators => "administrators",
        }
    }
}

impl fmt::Display for PageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A widget of the Home page that can be the target of a request.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum WidgetId {
    /// The "Admins Without MFA Required" tile and its list.
    AdminsWithoutMfaRequired,
}

impl WidgetId {
    /// Every widget, in a fixed order.
    pub const ALL: [Self; 1] = [Self::AdminsWithoutMfaRequired];

    /// The kebab-case name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AdminsWithoutMfaRequired => "admins-without-mfa-required",
        }
    }
}

impl fmt::Display for WidgetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_hyphenated_and_parses_back() {
        let id = AdminId::from_bytes([
            0x67, 0xe5, 0x50, 0x44, 0x10, 0xb1, 0x42, 0x6f, 0x92, 0x47, 0xbb, 0x68, 0x0e, 0x5f,
            0xe0, 0xc8,
        ]);
        assert_eq!(id.to_string(), "67e55044-10b1-426f-9247-bb680e5fe0c8");
        assert_eq!(
            "67e55044-10b1-426f-9247-bb680e5fe0c8"
                .parse::<AdminId>()
                .unwrap(),
            id
        );
        assert_eq!(OrgId::from_uuid(id.as_uuid()).as_uuid(), id.as_uuid());
        let err = "not-a-uuid".parse::<OrgId>().unwrap_err();
        assert_eq!(err.to_string(), "invalid organization id: expected a uuid");
    }
}
