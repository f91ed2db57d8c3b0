//! The bearer token: when `settings.http.token` is set, every request carries
//! `Authorization: Bearer <token>`, compared in constant time; otherwise 401.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cdc::core::secret::Secret;
use serde_json::json;
use subtle::ConstantTimeEq;

/// Whether `header_value` (the `Authorization` header) carries `token`. The comparison takes
/// the same time whatever the bytes (only the length can tell).
pub fn authorized(token: &Secret, header_value: Option<&[u8]>) -> bool {
    let Some(given) = header_value.and_then(|h| h.strip_prefix(b"Bearer ")) else {
        return false;
    };
    bool::from(given.ct_eq(token.expose().as_bytes()))
}

/// The middleware: passes the request on, or answers 401.
pub async fn require(
    State(token): State<Option<Arc<Secret>>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = token else {
        return next.run(request).await;
    };
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes());
    if authorized(&token, header) {
        return next.run(request).await;
    }
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        axum::Json(json!({"error": "missing or wrong bearer token (settings.http.token)"})),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_token_passes() {
        let t = Secret::new("s3cr3t-token");
        assert!(authorized(&t, Some(b"Bearer s3cr3t-token")));
        for wrong in [
            &b"Bearer s3cr3t-tokeN"[..],
            b"Bearer s3cr3t-token ",
            b"Bearer s3cr3t",
            b"bearer s3cr3t-token",
            b"s3cr3t-token",
            b"Basic s3cr3t-token",
            b"Bearer ",
            b"",
        ] {
            assert!(!authorized(&t, Some(wrong)), "{wrong:?}");
        }
        assert!(!authorized(&t, None));
    }
}
