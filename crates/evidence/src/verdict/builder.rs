//! The list of checks a verdict is built from, and the one rule for a check's state.

use super::check::{Check, State};

/// The checks so far, in the order they are shown.
pub(super) struct Builder {
    pub(super) checks: Vec<Check>,
}

impl Builder {
    pub(super) fn push(
        &mut self,
        name: &str,
        wanted: String,
        measured: String,
        state: State,
        source: &str,
    ) {
        self.checks.push(Check {
            name: name.to_owned(),
            wanted,
            measured,
            state,
            source: source.to_owned(),
            note: None,
        });
    }

    pub(super) fn note(&mut self, note: impl Into<String>) {
        if let Some(c) = self.checks.last_mut() {
            c.note = Some(note.into());
        }
    }
}

/// `pass` when the evidence meets the rule, else what the rule says instead.
pub(super) fn pass_or(pass: bool, otherwise: State) -> State {
    if pass { State::Pass } else { otherwise }
}
