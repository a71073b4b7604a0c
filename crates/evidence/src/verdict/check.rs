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

/// The verdict as a plain-text table for the terminal, each column as wide as its widest
/// cell (a long one, like a no-data explanation, up to 40 characters).
pub fn table(verdict: &Verdict) -> String {
    let rows: Vec<[String; 5]> = verdict
        .checks
        .iter()
        .map(|c| {
            [
                c.name.clone(),
                c.wanted.clone(),
                c.measured.clone(),
                c.state.label().to_lowercase(),
                c.source.clone(),
            ]
        })
        .collect();
    let header = ["expectation", "wanted", "measured", "result", "source"].map(String::from);
    let mut widths = [0usize; 4];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count().min(40));
        }
    }
    let mut out = String::new();
    for (i, row) in std::iter::once(&header).chain(&rows).enumerate() {
        if i == 0 && rows.is_empty() {
            break;
        }
        let mut line = String::new();
        for (w, cell) in widths.iter().zip(row) {
            line.push_str(&format!("{cell:<w$}  "));
        }
        line.push_str(&row[4]);
        out.push_str(line.trim_end());
        out.push('\n');
        if let Some(note) = i
            .checked_sub(1)
            .and_then(|k| verdict.checks[k].note.as_ref())
        {
            out.push_str(&format!("{:<w$}  ↳ {note}\n", "", w = widths[0]));
        }
    }
    for caveat in &verdict.caveats {
        out.push_str(&format!("caveat: {caveat}\n"));
    }
    out.push_str(&format!("verdict: {}\n", verdict.state.label()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, measured: &str, state: State, note: Option<&str>) -> Check {
        Check {
            name: name.to_owned(),
            wanted: "≥ 1,000 ok rps".to_owned(),
            measured: measured.to_owned(),
            state,
            source: "whole run".to_owned(),
            note: note.map(str::to_owned),
        }
    }

    #[test]
    fn the_table_lines_up_each_column_after_its_widest_cell() {
        let verdict = Verdict {
            state: State::Fail,
            checks: vec![
                check("rps", "523.6 ok rps", State::Fail, Some("failed requests")),
                check("p95", "1,572.86 ms corrected", State::Fail, None),
                check("replicas", "3", State::Pass, None),
            ],
            caveats: vec!["dropped".to_owned()],
        };
        let text = table(&verdict);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1 + 3 + 1 + 1 + 1, "{text}");
        // "result" and every result word start at the same character.
        let column = |line: &str, word: &str| {
            line.find(word)
                .map(|byte| line[..byte].chars().count())
                .unwrap_or_else(|| panic!("{word:?} not in {line:?}"))
        };
        let at = column(lines[0], "result");
        assert_eq!(column(lines[1], "fail"), at, "{text}");
        assert_eq!(column(lines[3], "fail"), at, "{text}");
        assert_eq!(column(lines[4], "pass"), at, "{text}");
        assert_eq!(
            at,
            "expectation  ≥ 1,000 ok rps  1,572.86 ms corrected  "
                .chars()
                .count()
        );
        assert!(
            lines[2].trim_start().starts_with("↳ failed requests"),
            "{text}"
        );
        assert_eq!(lines[5], "caveat: dropped");
        assert_eq!(lines[6], "verdict: FAIL");
        assert!(
            table(&Verdict {
                state: State::None,
                checks: vec![],
                caveats: vec![]
            })
            .starts_with("verdict: ")
        );
    }
}
