//! Sending one request of the [`KafkaConnectClient`]: the URL, authentication, the retry
//! loop within the policy's bounds, and the errors (transport failures, the worker's error
//! body) that name the connector, method and path but never the base URL. Apart from the
//! endpoints because every call goes through it the same way.

use std::time::Instant;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use tracing::debug;

use super::KafkaConnectClient;
use crate::connect::options::Auth;
use crate::connect::retry;
use crate::connect::types::ErrorBody;
use crate::error::{DebeziumError, Result, TransportKind};

/// Whether a request may be repeated without changing the outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Idempotency {
    /// GET, PUT config (an upsert), pause/resume/stop, DELETE: any transient failure is retried.
    Idempotent,
    /// POST restart: retried only when the worker cannot have acted (transient 409, refused
    /// connection).
    NotIdempotent,
}

/// One answer: status and body bytes.
pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) body: Vec<u8>,
}

impl KafkaConnectClient {
    /// Sends a request, retrying transient failures within the policy's bounds.
    pub(super) async fn call(
        &self,
        connector: &str,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<Vec<u8>>,
        idempotency: Idempotency,
    ) -> Result<Answer> {
        let url = self.url(segments, query);
        let path = path_of(segments);
        let started = Instant::now();
        let max_attempts = self.retry.max_attempts.max(1);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let err = match self
                .once(connector, &method, &path, url.clone(), body.clone())
                .await
            {
                Ok(answer) => return Ok(answer),
                Err(e) => e,
            };
            let may_retry = match idempotency {
                Idempotency::Idempotent => retry::retry_idempotent(&err),
                Idempotency::NotIdempotent => retry::retry_non_idempotent(&err),
            };
            if !may_retry {
                return Err(err);
            }
            let backoff = self.retry.backoff(attempt);
            let elapsed = started.elapsed();
            if attempt >= max_attempts || elapsed + backoff > self.retry.max_elapsed() {
                if attempt == 1 {
                    return Err(err);
                }
                return Err(DebeziumError::RetriesExhausted {
                    attempts: attempt,
                    elapsed,
                    last: Box::new(err),
                });
            }
            debug!(%method, %path, connector, attempt, ?backoff, error = %err, "kafka connect: transient failure, retrying");
            tokio::time::sleep(backoff).await;
        }
    }

    async fn once(
        &self,
        connector: &str,
        method: &Method,
        path: &str,
        url: url::Url,
        body: Option<Vec<u8>>,
    ) -> Result<Answer> {
        let mut req = self
            .http
            .request(method.clone(), url)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(body) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        req = match &self.auth {
            Some(Auth::Basic { username, password }) => {
                req.basic_auth(username, Some(password.expose()))
            }
            Some(Auth::Bearer { token }) => req.bearer_auth(token.expose()),
            None => req,
        };
        let transport = |e: reqwest::Error| {
            let kind = if e.is_timeout() {
                TransportKind::Timeout
            } else if e.is_connect() {
                TransportKind::Connect
            } else {
                TransportKind::Other
            };
            DebeziumError::Transport {
                connector: connector.to_owned(),
                method: method.to_string(),
                path: path.to_owned(),
                kind,
                message: error_chain(&e.without_url()),
            }
        };
        let resp = req.send().await.map_err(transport)?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(transport)?.to_vec();
        if status.is_success() {
            return Ok(Answer { status, body });
        }
        let (error_code, message) = error_of(status, &body);
        Err(DebeziumError::Api {
            connector: connector.to_owned(),
            method: method.to_string(),
            path: path.to_owned(),
            status: status.as_u16(),
            error_code,
            message,
        })
    }

    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> url::Url {
        let mut url = self.base.clone();
        if let Ok(mut p) = url.path_segments_mut() {
            p.pop_if_empty();
            p.extend(segments);
        }
        if !query.is_empty() {
            let mut q = url.query_pairs_mut();
            for (k, v) in query {
                q.append_pair(k, v);
            }
        }
        url
    }
}

/// `error_code` and message of an error answer. Connect's own errors are
/// `{"error_code", "message"}`; a worker that is starting answers from its servlet container
/// (an HTML page, or `{"message":"Not Found"}` without `error_code`): those keep
/// `error_code: None` and get a message that says what they are, never an empty one.
fn error_of(status: StatusCode, body: &[u8]) -> (Option<i64>, String) {
    #[derive(serde::Deserialize)]
    struct Lenient {
        error_code: Option<i64>,
        message: Option<String>,
    }
    if let Ok(b) = serde_json::from_slice::<ErrorBody>(body) {
        return (Some(b.error_code), b.message);
    }
    let reason = status.canonical_reason().unwrap_or("error");
    let unattributed = if status == StatusCode::NOT_FOUND {
        " (no Connect error body: the worker is probably starting)"
    } else {
        ""
    };
    if let Ok(Lenient {
        error_code,
        message,
    }) = serde_json::from_slice::<Lenient>(body)
    {
        let m = message.filter(|m| !m.trim().is_empty());
        let m = m.unwrap_or_else(|| reason.to_owned());
        let suffix = if error_code.is_none() {
            unattributed
        } else {
            ""
        };
        return (error_code, format!("{m}{suffix}"));
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let m = if text.is_empty() {
        format!("{reason}{unattributed}")
    } else if text.starts_with('<') {
        format!("{reason}: an HTML page{unattributed}")
    } else {
        let cut: String = text.chars().take(200).collect();
        format!("{cut}{unattributed}")
    };
    (None, m)
}

pub(super) fn path_of(segments: &[&str]) -> String {
    format!("/{}", segments.join("/"))
}

pub(super) fn parse<T: DeserializeOwned>(method: &Method, path: &str, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| DebeziumError::BadResponse {
        method: method.to_string(),
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// The error and its causes on one line ("error sending request: connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = s.source();
    }
    out
}
