//! The search for one replica's knee, as MLPerf LoadGen searches for its peak: the offered
//! rate grows geometrically until a step fails the SLO, then the bracket between the last
//! pass and the first fail is bisected until it is within the precision. A step the
//! generator could not deliver is inconclusive, never the service's failure: it is tried once
//! more, and a second time ends the search with the bracket found so far.

use serde::{Deserialize, Serialize};

/// What one step showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The SLO held at this rate.
    Pass,
    /// The service did not hold it.
    Fail,
    /// The evidence cannot say (the generator was saturated or lagging).
    Inconclusive,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Inconclusive => "inconclusive",
        }
    }
}

/// Why the search ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// The bracket [pass, fail) is within the precision.
    Converged,
    /// The first, lowest step already failed: the knee is below it.
    BelowFirstStep,
    /// The generator could not deliver a step twice: the knee is at least the last pass.
    GeneratorLimited,
    /// `--max-time` ran out: the bracket found so far.
    OutOfTime,
    /// The highest rate allowed passed: the knee is at least that.
    AboveMaxRate,
    /// A signal stopped it: the bracket found so far.
    Interrupted,
}

impl Ending {
    /// In words, for the terminal and the chart.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Converged => "converged within the precision",
            Self::BelowFirstStep => {
                "the first step failed: the knee is below the lowest rate tried"
            }
            Self::GeneratorLimited => {
                "the generator could not deliver a step twice: the knee is at least the last pass"
            }
            Self::OutOfTime => "--max-time ran out: the bracket found so far",
            Self::AboveMaxRate => "the highest rate allowed held: the knee is at least that",
            Self::Interrupted => "a signal stopped it: the bracket found so far",
        }
    }
}

/// The search's state: the next rate to offer, from what the steps so far showed.
#[derive(Debug, Clone)]
pub struct Search {
    start: f64,
    factor: f64,
    precision: f64,
    max_rate: f64,
    /// Highest rate that passed, lowest that failed.
    pass: Option<f64>,
    fail: Option<f64>,
    /// The rate last found inconclusive, and whether it already was once.
    retried: Option<f64>,
    ended: Option<Ending>,
}

impl Search {
    /// From `start` rps, growing by `factor` (> 1), to a bracket whose width is at most
    /// `precision` of its lower end, never above `max_rate`.
    pub fn new(start: f64, factor: f64, precision: f64, max_rate: f64) -> Self {
        Self {
            start,
            factor,
            precision,
            max_rate,
            pass: None,
            fail: None,
            retried: None,
            ended: None,
        }
    }

    /// The highest rate that passed, and the lowest that failed.
    pub fn bracket(&self) -> (Option<f64>, Option<f64>) {
        (self.pass, self.fail)
    }

    /// Why it ended (`None`: still going).
    pub fn ended(&self) -> Option<Ending> {
        self.ended
    }

    /// Ends it on a signal.
    pub fn interrupted(&mut self) {
        self.ended.get_or_insert(Ending::Interrupted);
    }

    /// Ends it for lack of time.
    pub fn out_of_time(&mut self) {
        self.ended.get_or_insert(Ending::OutOfTime);
    }

    /// The next rate to offer, requests/s, or `None` once it has ended.
    pub fn next_rate(&mut self) -> Option<f64> {
        if self.ended.is_some() {
            return None;
        }
        if let Some(r) = self.retried {
            return Some(r);
        }
        let next = match (self.pass, self.fail) {
            (None, None) => self.start,
            (Some(p), None) => {
                if p >= self.max_rate {
                    self.ended = Some(Ending::AboveMaxRate);
                    return None;
                }
                (p * self.factor).min(self.max_rate)
            }
            (None, Some(_)) => {
                self.ended = Some(Ending::BelowFirstStep);
                return None;
            }
            (Some(p), Some(f)) => {
                if (f - p) <= self.precision * p {
                    self.ended = Some(Ending::Converged);
                    return None;
                }
                (p + f) / 2.0
            }
        };
        Some(round_rate(next))
    }

    /// Records what the step at `rate` showed.
    pub fn record(&mut self, rate: f64, outcome: Outcome) {
        match outcome {
            Outcome::Pass => {
                self.retried = None;
                self.pass = Some(self.pass.map_or(rate, |p| p.max(rate)));
            }
            Outcome::Fail => {
                self.retried = None;
                self.fail = Some(self.fail.map_or(rate, |f| f.min(rate)));
            }
            Outcome::Inconclusive => {
                if self.retried == Some(rate) {
                    self.retried = None;
                    self.ended = Some(Ending::GeneratorLimited);
                } else {
                    self.retried = Some(rate);
                }
            }
        }
    }
}

/// Rates are offered in whole requests/s (0.1 below 10), so that steps read plainly.
fn round_rate(r: f64) -> f64 {
    if r >= 10.0 {
        r.round()
    } else {
        (r * 10.0).round() / 10.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the search against a service that holds the SLO up to `capacity` rps.
    fn against(capacity: f64, start: f64) -> (Search, Vec<f64>) {
        let mut s = Search::new(start, 2.0, 0.05, 100_000.0);
        let mut tried = Vec::new();
        while let Some(rate) = s.next_rate() {
            tried.push(rate);
            let outcome = if rate <= capacity {
                Outcome::Pass
            } else {
                Outcome::Fail
            };
            s.record(rate, outcome);
        }
        (s, tried)
    }

    #[test]
    fn a_known_capacity_is_bracketed_within_the_precision() {
        for capacity in [37.0, 180.0, 199.0, 1234.0, 9000.0] {
            let (s, tried) = against(capacity, 25.0);
            let (Some(p), Some(f)) = s.bracket() else {
                panic!("{capacity}: {tried:?}")
            };
            assert_eq!(s.ended(), Some(Ending::Converged));
            assert!(p <= capacity && capacity < f, "{capacity}: {p}..{f}");
            assert!(f - p <= 0.05 * p + 1.0, "{capacity}: {p}..{f} {tried:?}");
            // Geometric growth then bisection: log2 steps of each, not a sweep.
            let growth = (capacity / 25.0).log2().ceil() + 1.0;
            let bisection = (1.0 / 0.05f64).log2().ceil() + 1.0;
            assert!(
                tried.len() as f64 <= growth + bisection,
                "{capacity}: {tried:?}"
            );
        }
    }

    #[test]
    fn growth_doubles_from_the_start_and_bisection_halves_the_bracket() {
        let (_, tried) = against(180.0, 25.0);
        assert_eq!(tried[..5], [25.0, 50.0, 100.0, 200.0, 150.0]);
        assert_eq!(tried[5..], [175.0, 188.0, 182.0]);
    }

    #[test]
    fn a_first_step_that_fails_says_the_knee_is_below_it() {
        let (s, tried) = against(10.0, 25.0);
        assert_eq!(tried, [25.0]);
        assert_eq!(s.ended(), Some(Ending::BelowFirstStep));
        assert_eq!(s.bracket(), (None, Some(25.0)));
    }

    #[test]
    fn an_inconclusive_step_is_tried_again_and_twice_ends_the_search_not_as_a_fail() {
        let mut s = Search::new(100.0, 2.0, 0.05, 1e6);
        assert_eq!(s.next_rate(), Some(100.0));
        s.record(100.0, Outcome::Pass);
        assert_eq!(s.next_rate(), Some(200.0));
        s.record(200.0, Outcome::Inconclusive);
        assert_eq!(s.next_rate(), Some(200.0), "tried once more");
        s.record(200.0, Outcome::Inconclusive);
        assert_eq!(s.next_rate(), None);
        assert_eq!(s.ended(), Some(Ending::GeneratorLimited));
        assert_eq!(s.bracket(), (Some(100.0), None), "never counted as a fail");
        // Inconclusive once, then a real answer: the search goes on.
        let mut s = Search::new(100.0, 2.0, 0.05, 1e6);
        s.next_rate();
        s.record(100.0, Outcome::Inconclusive);
        assert_eq!(s.next_rate(), Some(100.0));
        s.record(100.0, Outcome::Pass);
        assert_eq!(s.next_rate(), Some(200.0));
    }

    #[test]
    fn the_highest_rate_allowed_caps_growth() {
        let mut s = Search::new(100.0, 2.0, 0.05, 300.0);
        for expect in [100.0, 200.0, 300.0] {
            assert_eq!(s.next_rate(), Some(expect));
            s.record(expect, Outcome::Pass);
        }
        assert_eq!(s.next_rate(), None);
        assert_eq!(s.ended(), Some(Ending::AboveMaxRate));
    }
}
