//! What the load side needs to know, and nothing more: built from the run's configuration in
//! `run.rs`, so that the load never sees the scenario's expectations, the cluster or the
//! output folder.

use crate::config::{LoadShape, TlsConfig, WorkerShare};
use crate::scenario::RequestSpec;
use reqwest::header::HeaderName;
use std::path::PathBuf;
use std::time::Duration;

/// The load to drive.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// The scenario's name (Goose's scenario name).
    pub name: String,
    pub requests: Vec<RequestSpec>,
    pub shape: LoadShape,
    pub timeout: Duration,
    /// Reopen connections this often (`None`: keep them).
    pub recycle: Option<Duration>,
    /// The response header that names the serving endpoint.
    pub endpoint_header: HeaderName,
    /// Also write one CSV line per request here.
    pub request_log: Option<PathBuf>,
    /// Trust and client certificate for an `https://` target.
    pub tls: TlsConfig,
    /// Open model: the share of the plan's slots this process sends (closed-model users are
    /// split before they get here).
    pub share: Option<WorkerShare>,
    /// Start the clock at this wall-clock time rather than as soon as the users are in.
    pub start_at: Option<chrono::DateTime<chrono::Utc>>,
}
