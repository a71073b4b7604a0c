//! Findings of `scaleproof doctor`: each check's name, its state (ok / warn / fail), what was
//! found, and the fix in one line. A leaf type the cluster checks and the doctor both name.

use serde::{Deserialize, Serialize};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    /// Something that may spoil the evidence; the run can still go ahead.
    Warn,
    /// Something that will spoil the evidence: fix it before spending load on a run.
    Fail,
}

impl Status {
    /// `ok`, `warn`, `FAIL`, as the terminal shows them.
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        }
    }
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable name, e.g. `metrics-api`.
    pub check: String,
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// What to do about it (warn and fail only).
    pub fix: Option<String>,
}

impl Finding {
    pub fn ok(check: &str, detail: impl Into<String>) -> Self {
        Self {
            check: check.to_owned(),
            status: Status::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    pub fn warn(check: &str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            check: check.to_owned(),
            status: Status::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn fail(check: &str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            check: check.to_owned(),
            status: Status::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    /// `FAIL metrics-api: … (fix: …)` on one line, as run.json's `preflight` keeps it.
    pub fn summary(&self) -> String {
        format!(
            "{} {}: {}{}",
            self.status.label(),
            self.check,
            self.detail,
            self.fix
                .as_deref()
                .map(|fix| format!(" (fix: {fix})"))
                .unwrap_or_default()
        )
    }

    /// `ok    deployment    3/3 replicas ready`, then `      fix: …` on warn and fail.
    pub fn line(&self) -> String {
        let mut text = format!(
            "{:<5} {:<14} {}",
            self.status.label(),
            self.check,
            self.detail
        );
        if let Some(fix) = &self.fix {
            text.push_str(&format!("\n      fix: {fix}"));
        }
        text
    }
}

/// The worst status among `findings` (ok when there are none).
pub fn worst(findings: &[Finding]) -> Status {
    findings
        .iter()
        .map(|f| f.status)
        .max()
        .unwrap_or(Status::Ok)
}
