//! The REST endpoints of the [`KafkaConnectClient`], one method each: connectors, their
//! config, status, topics, lifecycle (pause, resume, stop, restart, delete), offsets and
//! config validation. Apart from the transport so that the API reads as a list of calls; each
//! says its idempotency and how its answer is parsed.

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use super::KafkaConnectClient;
use super::transport::{Idempotency, parse, path_of};
use crate::connect::types::{
    Applied, ConnectorConfig, ConnectorInfo, ConnectorListEntry, ConnectorOffsets, ConnectorStatus,
    MessageBody, RestartOptions, RestartOutcome, ServerInfo, ValidationResult,
};
use crate::error::{DebeziumError, Result};

impl KafkaConnectClient {
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
}

fn bool_str(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}
