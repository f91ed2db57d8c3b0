//! [`KafkaConnectClient`]: typed calls to the Kafka Connect REST API with retries.

use std::collections::BTreeMap;
use std::time::Instant;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use tracing::{debug, warn};

use super::options::{Auth, ClientOptions};
use super::retry::{self, RetryPolicy};
use super::types::{
    Applied, ConnectorConfig, ConnectorInfo, ConnectorListEntry, ConnectorOffsets, ConnectorStatus,
    ErrorBody, MessageBody, RestartOptions, RestartOutcome, ServerInfo, ValidationResult,
};
use crate::error::{DebeziumError, Result, TransportKind};

/// Whether a request may be repeated without changing the outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Idempotency {
    /// GET, PUT config (an upsert), pause/resume/stop, DELETE: any transient failure is retried.
    Idempotent,
    /// POST restart: retried only when the worker cannot have acted (transient 409, refused
    /// connection).
    NotIdempotent,
}

/// A client of one Kafka Connect cluster.
///
/// Every call retries transient failures per its [`RetryPolicy`]; errors carry the connector
/// name, the HTTP status and the worker's `{error_code, message}`. The base URL never appears
/// in errors, logs or `Debug` (it may hold credentials).
#[derive(Clone)]
pub struct KafkaConnectClient {
    http: reqwest::Client,
    base: url::Url,
    auth: Option<Auth>,
    retry: RetryPolicy,
}

/// One answer: status and body bytes.
struct Answer {
    status: StatusCode,
    body: Vec<u8>,
}

impl KafkaConnectClient {
    /// Builds a client. Fails on unreadable CA or identity files, naming the option.
    pub fn new(options: ClientOptions) -> Result<Self> {
        let config_err = |field: &str, message: String| DebeziumError::Config {
            source_id: String::new(),
            field: field.to_owned(),
            message,
        };
        let mut builder = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout);
        let tls = &options.tls;
        let mut ca_pems: Vec<Vec<u8>> = Vec::new();
        if let Some(path) = &tls.ca_file {
            let pem = std::fs::read(path).map_err(|e| {
                config_err(
                    "options.tls.ca_file",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            ca_pems.push(pem);
        }
        if let Some(pem) = &tls.ca_pem {
            ca_pems.push(pem.as_bytes().to_vec());
        }
        for pem in ca_pems {
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                config_err(
                    "options.tls.ca_file",
                    format!("not a PEM certificate bundle: {e}"),
                )
            })?;
            builder = builder.tls_certs_merge(certs);
        }
        if let Some(path) = &tls.client_identity_file {
            let pem = std::fs::read(path).map_err(|e| {
                config_err(
                    "options.tls.client_identity_file",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            let identity = reqwest::Identity::from_pem(&pem).map_err(|e| {
                config_err(
                    "options.tls.client_identity_file",
                    format!("needs a PEM certificate and its PKCS#8 key: {e}"),
                )
            })?;
            builder = builder.identity(identity);
        }
        if tls.insecure_skip_verify {
            warn!("kafka connect client: TLS certificate verification is disabled");
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        let http = builder
            .build()
            .map_err(|e| config_err("options.tls", e.without_url().to_string()))?;
        Ok(Self {
            http,
            base: options.base_url,
            auth: options.auth,
            retry: options.retry,
        })
    }

    /// The retry policy in force.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// `GET /`: the worker's version.
    pub async fn server_info(&self) -> Result<ServerInfo> {
        let a = self
            .call("", Method::GET, &[], &[], None, Idempotency::Idempotent)
            .await?;
        parse(&Method::GET, "/", &a.body)
    }

    /// `GET /connectors`: connector names.
    pub async fn list(&self) -> Result<Vec<String>> {
        let a = self
            .call(
                "",
                Method::GET,
                &["connectors"],
                &[],
                None,
                Idempotency::Idempotent,
            )
            .await?;
        parse(&Method::GET, "/connectors", &a.body)
    }

    /// `GET /connectors?expand=status&expand=info`: every connector with status and config.
    pub async fn list_expanded(&self) -> Result<BTreeMap<String, ConnectorListEntry>> {
        let a = self
            .call(
                "",
                Method::GET,
                &["connectors"],
                &[("expand", "status"), ("expand", "info")],
                None,
                Idempotency::Idempotent,
            )
            .await?;
        parse(&Method::GET, "/connectors", &a.body)
    }

    /// `PUT /connectors/{name}/config`: creates or updates (the idempotent upsert).
    pub async fn put_config(&self, name: &str, config: &ConnectorConfig) -> Result<Applied> {
        let body = serde_json::to_vec(config).map_err(|e| DebeziumError::BadResponse {
            method: "PUT".into(),
            path: format!("/connectors/{name}/config"),
            message: format!("cannot serialize config: {e}"),
        })?;
        let a = self
            .call(
                name,
                Method::PUT,
                &["connectors", name, "config"],
                &[],
                Some(body),
                Idempotency::Idempotent,
            )
            .await?;
        let info = parse(&Method::PUT, &format!("/connectors/{name}/config"), &a.body)?;
        Ok(Applied {
            created: a.status == StatusCode::CREATED,
            info,
        })
    }

    /// `GET /connectors/{name}`: config and task ids.
    pub async fn get(&self, name: &str) -> Result<ConnectorInfo> {
        self.get_json(name, &["connectors", name]).await
    }

    /// `GET /connectors/{name}/config`.
    pub async fn get_config(&self, name: &str) -> Result<ConnectorConfig> {
        self.get_json(name, &["connectors", name, "config"]).await
    }

    /// `GET /connectors/{name}/status`: connector and task states, with traces.
    pub async fn status(&self, name: &str) -> Result<ConnectorStatus> {
        self.get_json(name, &["connectors", name, "status"]).await
    }

    /// `GET /connectors/{name}/topics`: topics the connector has written to.
    pub async fn topics(&self, name: &str) -> Result<Vec<String>> {
        #[derive(serde::Deserialize)]
        struct Topics {
            topics: Vec<String>,
        }
        let mut map: BTreeMap<String, Topics> =
            self.get_json(name, &["connectors", name, "topics"]).await?;
        Ok(map.remove(name).map(|t| t.topics).unwrap_or_default())
    }

    /// `PUT /connectors/{name}/pause` (202, idempotent).
    pub async fn pause(&self, name: &str) -> Result<()> {
        self.put_empty(name, "pause").await
    }

    /// `PUT /connectors/{name}/resume` (202, idempotent; also starts a STOPPED connector).
    pub async fn resume(&self, name: &str) -> Result<()> {
        self.put_empty(name, "resume").await
    }

    /// `PUT /connectors/{name}/stop` (204; Kafka 3.5+): tasks shut down, config kept.
    pub async fn stop(&self, name: &str) -> Result<()> {
        self.put_empty(name, "stop").await
    }

    /// `POST /connectors/{name}/restart`: with neither flag, the connector instance only
    /// (204); otherwise a 202 with the status showing what restarts.
    pub async fn restart(&self, name: &str, opts: RestartOptions) -> Result<RestartOutcome> {
        let include = bool_str(opts.include_tasks);
        let only = bool_str(opts.only_failed);
        let query: Vec<(&str, &str)> = if opts.include_tasks || opts.only_failed {
            vec![("includeTasks", include), ("onlyFailed", only)]
        } else {
            Vec::new()
        };
        let a = self
            .call(
                name,
                Method::POST,
                &["connectors", name, "restart"],
                &query,
                None,
                Idempotency::NotIdempotent,
            )
            .await?;
        if a.status == StatusCode::NO_CONTENT || a.body.is_empty() {
            return Ok(RestartOutcome::Restarted);
        }
        let status = parse(
            &Method::POST,
            &format!("/connectors/{name}/restart"),
            &a.body,
        )?;
        Ok(RestartOutcome::Accepted(status))
    }

    /// `POST /connectors/{name}/tasks/{task}/restart`.
    pub async fn restart_task(&self, name: &str, task: u32) -> Result<()> {
        let task = task.to_string();
        self.call(
            name,
            Method::POST,
            &["connectors", name, "tasks", &task, "restart"],
            &[],
            None,
            Idempotency::NotIdempotent,
        )
        .await?;
        Ok(())
    }

    /// `DELETE /connectors/{name}` (204). A 404 comes back as an error
    /// ([`DebeziumError::is_not_found`]); the caller decides whether that is fine.
    pub async fn delete(&self, name: &str) -> Result<()> {
        self.call(
            name,
            Method::DELETE,
            &["connectors", name],
            &[],
            None,
            Idempotency::Idempotent,
        )
        .await?;
        Ok(())
    }

    /// `GET /connectors/{name}/offsets` (Kafka 3.5+).
    pub async fn offsets(&self, name: &str) -> Result<ConnectorOffsets> {
        self.get_json(name, &["connectors", name, "offsets"]).await
    }

    /// `DELETE /connectors/{name}/offsets` (Kafka 3.6+; the connector must be STOPPED).
    pub async fn reset_offsets(&self, name: &str) -> Result<MessageBody> {
        let a = self
            .call(
                name,
                Method::DELETE,
                &["connectors", name, "offsets"],
                &[],
                None,
                Idempotency::Idempotent,
            )
            .await?;
        parse(
            &Method::DELETE,
            &format!("/connectors/{name}/offsets"),
            &a.body,
        )
    }

    /// `PATCH /connectors/{name}/offsets` (Kafka 3.6+; STOPPED): sets the given offsets; an
    /// entry with `offset: None` resets that partition. Idempotent: values are absolute.
    pub async fn alter_offsets(
        &self,
        name: &str,
        offsets: &ConnectorOffsets,
    ) -> Result<MessageBody> {
        let body = serde_json::to_vec(offsets).map_err(|e| DebeziumError::BadResponse {
            method: "PATCH".into(),
            path: format!("/connectors/{name}/offsets"),
            message: format!("cannot serialize offsets: {e}"),
        })?;
        let a = self
            .call(
                name,
                Method::PATCH,
                &["connectors", name, "offsets"],
                &[],
                Some(body),
                Idempotency::Idempotent,
            )
            .await?;
        parse(
            &Method::PATCH,
            &format!("/connectors/{name}/offsets"),
            &a.body,
        )
    }

    /// `PUT /connector-plugins/{class}/config/validate`: checks a config without applying it.
    pub async fn validate(
        &self,
        connector_class: &str,
        config: &ConnectorConfig,
    ) -> Result<ValidationResult> {
        let body = serde_json::to_vec(config).map_err(|e| DebeziumError::BadResponse {
            method: "PUT".into(),
            path: "/connector-plugins/.../config/validate".into(),
            message: format!("cannot serialize config: {e}"),
        })?;
        let a = self
            .call(
                config.get("name").map(String::as_str).unwrap_or(""),
                Method::PUT,
                &["connector-plugins", connector_class, "config", "validate"],
                &[],
                Some(body),
                Idempotency::Idempotent,
            )
            .await?;
        parse(
            &Method::PUT,
            &format!("/connector-plugins/{connector_class}/config/validate"),
            &a.body,
        )
    }

    async fn get_json<T: DeserializeOwned>(&self, connector: &str, segments: &[&str]) -> Result<T> {
        let a = self
            .call(
                connector,
                Method::GET,
                segments,
                &[],
                None,
                Idempotency::Idempotent,
            )
            .await?;
        parse(&Method::GET, &path_of(segments), &a.body)
    }

    async fn put_empty(&self, name: &str, action: &str) -> Result<()> {
        self.call(
            name,
            Method::PUT,
            &["connectors", name, action],
            &[],
            None,
            Idempotency::Idempotent,
        )
        .await?;
        Ok(())
    }

    /// Sends a request, retrying transient failures within the policy's bounds.
    async fn call(
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

fn bool_str(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

fn path_of(segments: &[&str]) -> String {
    format!("/{}", segments.join("/"))
}

fn parse<T: DeserializeOwned>(method: &Method, path: &str, body: &[u8]) -> Result<T> {
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

impl std::fmt::Debug for KafkaConnectClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaConnectClient")
            .field("base", &cdc_core::secret::redact(self.base.as_str()))
            .field("auth", &self.auth)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}
