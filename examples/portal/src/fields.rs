//! HTML form bodies (`application/x-www-form-urlencoded`), repeated names included (the
//! widget list's checkboxes), read without a schema.

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use zeroize::Zeroizing;

/// A page's query string, as names and values.
pub(crate) type Params = axum::extract::Query<std::collections::HashMap<String, String>>;

/// The largest form body read (a bulk selection of a few thousand ids fits).
const MAX_FORM_BYTES: usize = 256 * 1024;

/// A form's fields in the order posted. Values may hold passwords: wiped on drop.
pub(crate) struct Fields(Vec<(String, Zeroizing<String>)>);

impl Fields {
    /// The first value of `name`, or `""`.
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Whether a checkbox `name` was ticked.
    pub(crate) fn checked(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n == name)
    }
}

impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = (StatusCode, &'static str);

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        let body = axum::body::to_bytes(req.into_body(), MAX_FORM_BYTES)
            .await
            .map_err(|_| (StatusCode::PAYLOAD_TOO_LARGE, "the form is too large"))?;
        let body = Zeroizing::new(body.to_vec());
        Ok(Self(
            url::form_urlencoded::parse(&body)
                .map(|(n, v)| (n.into_owned(), Zeroizing::new(v.into_owned())))
                .collect(),
        ))
    }
}
