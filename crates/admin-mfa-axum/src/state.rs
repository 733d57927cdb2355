//! [`MfaWeb`]: the service and the web configuration, shared by the router, the
//! extractors and the host's own routes.

use std::sync::Arc;

use admin_mfa::MfaService;
use axum::http::HeaderValue;

use crate::cookies::{CookieKind, WebConfig};

/// The state the router and the extractors need: the [`MfaService`] and the
/// [`WebConfig`]. Cheap to clone.
///
/// A host with its own state implements `FromRef<HostState> for MfaWeb` to use
/// [`CurrentAdmin`](crate::CurrentAdmin) in its routes.
#[derive(Debug, Clone)]
pub struct MfaWeb {
    service: Arc<MfaService>,
    config: Arc<WebConfig>,
}

impl MfaWeb {
    /// The state over a service and a configuration.
    #[must_use]
    pub fn new(service: Arc<MfaService>, config: WebConfig) -> Self {
        Self {
            service,
            config: Arc::new(config),
        }
    }

    /// The service.
    #[must_use]
    pub fn service(&self) -> &Arc<MfaService> {
        &self.service
    }

    /// The web configuration.
    #[must_use]
    pub fn config(&self) -> &WebConfig {
        &self.config
    }

    /// The `Set-Cookie` values that sign a browser out: every login-state cookie removed.
    /// The API's `POST /logout` sends them; a host's own sign-out route can too.
    #[must_use]
    pub fn sign_out_cookies(&self) -> [HeaderValue; 3] {
        CookieKind::ALL.map(|kind| self.config.clear_cookie(kind))
    }
}
