//! Loading documents from TOML and JSON text (features `toml`, `json`).

use crate::document::{Catalog, LoadError, Location, PolicyDocument};
#[cfg(feature = "toml")]
use crate::document::{Item, ValidationErrors};
use crate::engine::PolicyEngine;

/// The error of writing a document as text.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("cannot serialize policy document: {0}")]
pub struct SerializeError(String);

#[cfg(feature = "toml")]
mod spans {
    //! A second, lenient parse that only records where each role name and rule id sits.

    use serde::Deserialize;
    use toml::Spanned;

    #[derive(Deserialize)]
    pub(super) struct Doc {
        #[serde(default)]
        pub(super) custom_actions: Vec<Spanned<String>>,
        #[serde(default)]
        pub(super) roles: Vec<Named>,
        #[serde(default)]
        pub(super) rules: Vec<Ided>,
    }

    #[derive(Deserialize)]
    pub(super) struct Named {
        pub(super) name: Spanned<String>,
    }

    #[derive(Deserialize)]
    pub(super) struct Ided {
        pub(super) id: Spanned<String>,
    }
}

#[cfg(feature = "toml")]
fn locate(source: &str, mut errors: ValidationErrors) -> ValidationErrors {
    let Ok(doc) = toml::from_str::<spans::Doc>(source) else {
        return errors;
    };
    for error in &mut errors.0 {
        let span = match &error.item {
            Item::Document => None,
            Item::CustomAction { index, .. } => {
                doc.custom_actions.get(*index).map(toml::Spanned::span)
            }
            Item::Role { index, .. } => doc.roles.get(*index).map(|r| r.name.span()),
            Item::Rule { index, .. } => doc.rules.get(*index).map(|r| r.id.span()),
        };
        error.location = span.map(|s| Location::of_offset(source, s.start));
    }
    errors
}

impl PolicyDocument {
    /// Parses a TOML document. Unknown fields are refused; nothing is validated yet.
    ///
    /// # Errors
    /// [`LoadError::Syntax`] with the line and column of the problem.
    #[cfg(feature = "toml")]
    pub fn from_toml_str(source: &str) -> Result<Self, LoadError> {
        toml::from_str(source).map_err(|e| LoadError::Syntax {
            format: "toml",
            location: Location::of_offset(source, e.span().map_or(0, |s| s.start)),
            message: e.message().to_owned(),
        })
    }

    /// Writes the document as TOML.
    ///
    /// # Errors
    /// When the TOML writer refuses the document (not expected for valid documents).
    #[cfg(feature = "toml")]
    pub fn to_toml_string(&self) -> Result<String, SerializeError> {
        toml::to_string(self).map_err(|e| SerializeError(e.to_string()))
    }

    /// Parses a JSON document. Unknown fields are refused; nothing is validated yet.
    ///
    /// # Errors
    /// [`LoadError::Syntax`] with the line and column of the problem.
    #[cfg(feature = "json")]
    pub fn from_json_str(source: &str) -> Result<Self, LoadError> {
        serde_json::from_str(source).map_err(|e| {
            let message = e.to_string();
            // serde_json appends " at line L column C"; the location field carries it.
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_owned();
            LoadError::Syntax {
                format: "json",
                location: Location {
                    line: u32::try_from(e.line()).unwrap_or(u32::MAX),
                    column: u32::try_from(e.column()).unwrap_or(u32::MAX),
                },
                message,
            }
        })
    }

    /// Writes the document as pretty-printed JSON.
    ///
    /// # Errors
    /// When the JSON writer refuses the document (not expected).
    #[cfg(feature = "json")]
    pub fn to_json_string(&self) -> Result<String, SerializeError> {
        serde_json::to_string_pretty(self).map_err(|e| SerializeError(e.to_string()))
    }
}

impl PolicyEngine {
    /// Parses, validates and compiles a TOML document with the default [`Catalog`].
    ///
    /// # Errors
    /// [`LoadError::Syntax`] for malformed text, [`LoadError::Invalid`] for validation problems,
    /// each naming the offending id and its line.
    #[cfg(feature = "toml")]
    pub fn from_toml_str(source: &str) -> Result<Self, LoadError> {
        Self::from_toml_str_with(source, &Catalog::default())
    }

    /// Like [`from_toml_str`](Self::from_toml_str), against a host [`Catalog`].
    ///
    /// # Errors
    /// As [`from_toml_str`](Self::from_toml_str).
    #[cfg(feature = "toml")]
    pub fn from_toml_str_with(source: &str, catalog: &Catalog) -> Result<Self, LoadError> {
        let doc = PolicyDocument::from_toml_str(source)?;
        Self::from_document_with(&doc, catalog).map_err(|e| LoadError::Invalid(locate(source, e)))
    }

    /// Parses, validates and compiles a JSON document with the default [`Catalog`].
    ///
    /// # Errors
    /// [`LoadError::Syntax`] for malformed text, [`LoadError::Invalid`] for validation problems.
    #[cfg(feature = "json")]
    pub fn from_json_str(source: &str) -> Result<Self, LoadError> {
        Self::from_json_str_with(source, &Catalog::default())
    }

    /// Like [`from_json_str`](Self::from_json_str), against a host [`Catalog`].
    ///
    /// # Errors
    /// As [`from_json_str`](Self::from_json_str).
    #[cfg(feature = "json")]
    pub fn from_json_str_with(source: &str, catalog: &Catalog) -> Result<Self, LoadError> {
        let doc = PolicyDocument::from_json_str(source)?;
        Self::from_document_with(&doc, catalog).map_err(LoadError::Invalid)
    }
}
