//! What a verdict is made of — the state of each expectation and of the run, the checks with
//! their measurements and sources, the run-wide caveats — and its table for the terminal.

use serde::{Deserialize, Serialize};

/// The state of one expectation, or of the whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Pass,
    Fail,
    Inconclusive,
    /// No expectation was set: nothing to conclude.
    None,
}

impl State {
    /// `PASS`, `FAIL`, `INCONCLUSIVE`, `NO EXPECTATIONS`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Fail => "FAIL",
            Self::Inconclusive => "INCONCLUSIVE",
            Self::None => "NO EXPECTATIONS",
        }
    }
}

/// One evaluated expectation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// `rps`, `replicas`, `p95`, `p99`, `error_rate`, `scale_within`, `new_pod_serves_within`,
    /// `scale_in_errors`, `max_pod_share`.
    pub name: String,
    pub wanted: String,
    /// What was measured, or why nothing could be (`no data: …`).
    pub measured: String,
    pub state: State,
    /// What the measurement is based on.
    pub source: String,
    /// Why the state is what it is, when the measurement alone does not say.
    pub note: Option<String>,
}

/// All checks of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub state: State,
    pub checks: Vec<Check>,
    /// Run-wide reasons the evidence cannot support a pass.
    pub caveats: Vec<String>,
}

/// The verdict as a plain-text table for the terminal.
pub fn table(verdict: &Verdict) -> String {
    let mut out = String::new();
    if !verdict.checks.is_empty() {
        out.push_str("expectation   wanted          measured            result        source\n");
    }
    for c in &verdict.checks {
        out.push_str(&format!(
            "{:<13} {:<15} {:<19} {:<13} {}\n",
            c.name,
            c.wanted,
            c.measured,
            c.state.label().to_lowercase(),
            c.source
        ));
        if let Some(note) = &c.note {
            out.push_str(&format!("{:<13} ↳ {note}\n", ""));
        }
    }
    for caveat in &verdict.caveats {
        out.push_str(&format!("caveat: {caveat}\n"));
    }
    out.push_str(&format!("verdict: {}\n", verdict.state.label()));
    out
}
