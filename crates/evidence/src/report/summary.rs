//! `summary.json`: the run's totals, KPIs and verdict in one versioned document.

use super::kpi::Kpis;
use crate::scaling::Scaling;
use crate::spec::expectations::Expectations;
use crate::timeline::{ClusterRecord, ErrorRow, PodRow, TlsRecord, Totals, WorkloadSource};
use crate::verdict::Verdict;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The `schema` value of `summary.json`.
pub const SUMMARY_SCHEMA: &str = "scaleproof-summary/3";

/// Contents of `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub schema: String,
    pub scenario: String,
    pub target: String,
    pub started_at: DateTime<Utc>,
    pub duration_s: f64,
    pub end_reason: String,
    pub totals: Totals,
    pub expectations: Expectations,
    pub kpis: Kpis,
    pub verdict: Verdict,
    /// Cluster context when a cluster was watched (null otherwise).
    pub cluster: Option<ClusterSummary>,
    /// How an `https://` target was trusted (null for `http://`); `insecure: true` means the
    /// server's certificate was not verified.
    pub tls: Option<TlsRecord>,
    /// The error catalogue (`errors.csv`) with a hint per message: by kind, most frequent
    /// first.
    pub errors: Vec<ErrorSummary>,
    /// Scale-out chains, termination windows, per-pod traffic and the warnings they raise.
    pub scaling: Scaling,
    /// `pods.csv` (every pod's story), as read.
    pub pods: Vec<PodRow>,
}

impl Summary {
    /// The replicas were local processes (simulated on one machine), not a cluster's.
    pub fn is_local(&self) -> bool {
        self.cluster
            .as_ref()
            .is_some_and(|c| c.record.source == WorkloadSource::Local)
    }
}

/// One distinct failure message, and the likely cause and fix when it is a common one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorSummary {
    #[serde(flatten)]
    pub row: ErrorRow,
    pub hint: Option<String>,
}

impl ErrorSummary {
    pub fn new(row: ErrorRow) -> Self {
        let hint = row.hint().map(str::to_owned);
        Self { row, hint }
    }
}

/// The cluster part of `summary.json`: the context from `run.json` and what happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterSummary {
    #[serde(flatten)]
    pub record: ClusterRecord,
    /// Rows of `events.csv`, and how many of them are scale events.
    pub events: usize,
    pub scale_events: usize,
}
