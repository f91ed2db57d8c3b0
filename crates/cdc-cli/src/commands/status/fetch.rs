//! Asking a running `cdc run` for its status over its HTTP endpoint.

use std::time::Duration;

use cdc::core::secret::Secret;
use serde_json::Value;

/// How long the endpoint may take: it answers from memory, so a slow one is not there.
const TIMEOUT: Duration = Duration::from_secs(3);

/// `GET http://<addr>/status`, with the token when set. The error says why, never with the
/// token.
pub async fn status(addr: &str, token: Option<&Secret>) -> Result<Value, String> {
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        // A loopback endpoint: an HTTP proxy from the environment must not be asked.
        .no_proxy()
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    let mut request = client.get(format!("http://{addr}/status"));
    if let Some(t) = token {
        request = request.bearer_auth(t.expose());
    }
    let response = request.send().await.map_err(|e| {
        if e.is_timeout() {
            format!("no answer within {}s", TIMEOUT.as_secs())
        } else if e.is_connect() {
            "connection refused or unreachable".to_owned()
        } else {
            "request failed".to_owned()
        }
    })?;
    match response.status().as_u16() {
        200 => response
            .json::<Value>()
            .await
            .map_err(|_| "the answer is not status JSON".to_owned()),
        401 => Err("401: it wants the bearer token of settings.http.token".to_owned()),
        code => Err(format!("HTTP {code}")),
    }
}
