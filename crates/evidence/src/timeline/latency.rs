//! Which latency a figure is: corrected (from each slot's due time) or raw (from the send).

/// Which latency a figure is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LatencyKind {
    /// From each slot's due time, dropped slots included (open model).
    Corrected,
    /// From the actual send (closed model: there is no due time).
    Raw,
}

impl LatencyKind {
    /// `corrected` or `raw`, as shown next to every latency figure.
    pub fn label(self) -> &'static str {
        match self {
            Self::Corrected => "corrected",
            Self::Raw => "raw",
        }
    }
}
