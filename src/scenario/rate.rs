//! Open-model rate plans: stages like `100:30s,1200:2m,1200:3m`, each ramping linearly from the
//! previous rate (0 at the start) to its target over its duration, and the send-slot schedule
//! they imply (slot *k* is due when the plan's cumulative request count reaches *k*).

use std::time::Duration;

/// One stage: reach `target_rps` (linearly) over `over`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    pub target_rps: f64,
    pub over: Duration,
}

/// Why a stage list is invalid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StageError {
    #[error("empty rate plan (expected RATE:DURATION[,RATE:DURATION…], e.g. 100:30s,1200:2m)")]
    Empty,
    #[error("stage {item:?}: expected RATE:DURATION, e.g. 1200:2m")]
    Syntax { item: String },
    #[error("stage {item:?}: {rate:?} is not a non-negative number of requests per second")]
    Rate { item: String, rate: String },
    #[error("stage {item:?}: {reason}")]
    Duration { item: String, reason: String },
    #[error("stage {item:?}: {rate} requests/s is more than one plan may ask for ({max})", max = crate::spec::values::MAX_RATE)]
    TooFast { item: String, rate: f64 },
    #[error("the plan lasts longer than a week")]
    TooLong,
    #[error("the plan lasts no time (give at least one stage a duration)")]
    NoTime,
    #[error("the plan sends no request (give at least one stage a rate above 0)")]
    NoRequests,
}

#[derive(Debug, Clone, Copy)]
struct Segment {
    /// Start time, seconds from the run start.
    start: f64,
    /// Length in seconds.
    len: f64,
    /// Rate at the start and the end of the segment.
    from: f64,
    to: f64,
    /// Cumulative requests before the segment.
    before: f64,
}

impl Segment {
    /// Requests within the first `tau` seconds of the segment.
    fn count(&self, tau: f64) -> f64 {
        self.from * tau + (self.to - self.from) * tau * tau / (2.0 * self.len)
    }
}

/// A validated plan with its cumulative request curve.
#[derive(Debug, Clone)]
pub struct RatePlan {
    stages: Vec<Stage>,
    segments: Vec<Segment>,
    total_s: f64,
    total_requests: f64,
}

impl RatePlan {
    /// Parses `RATE:DURATION[,RATE:DURATION…]` (durations as `30s`, `2m`, `1h30m`, `500ms`).
    pub fn parse(text: &str) -> Result<Self, StageError> {
        let mut stages = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (rate, over) = item.split_once(':').ok_or_else(|| StageError::Syntax {
                item: item.to_owned(),
            })?;
            let target_rps = rate
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|r| r.is_finite() && *r >= 0.0)
                .ok_or_else(|| StageError::Rate {
                    item: item.to_owned(),
                    rate: rate.trim().to_owned(),
                })?;
            let over =
                humantime::parse_duration(over.trim()).map_err(|e| StageError::Duration {
                    item: item.to_owned(),
                    reason: e.to_string(),
                })?;
            stages.push(Stage { target_rps, over });
        }
        Self::new(stages)
    }

    /// Builds a plan from stages.
    pub fn new(stages: Vec<Stage>) -> Result<Self, StageError> {
        if stages.is_empty() {
            return Err(StageError::Empty);
        }
        let mut segments = Vec::with_capacity(stages.len());
        let (mut start, mut before, mut from) = (0.0, 0.0, 0.0);
        for stage in &stages {
            if stage.target_rps > crate::spec::values::MAX_RATE {
                return Err(StageError::TooFast {
                    item: format!(
                        "{}:{}",
                        stage.target_rps,
                        humantime::format_duration(stage.over)
                    ),
                    rate: stage.target_rps,
                });
            }
            let len = stage.over.as_secs_f64();
            if len > 0.0 {
                let segment = Segment {
                    start,
                    len,
                    from,
                    to: stage.target_rps,
                    before,
                };
                before += segment.count(len);
                start += len;
                segments.push(segment);
            }
            from = stage.target_rps;
        }
        if start <= 0.0 {
            return Err(StageError::NoTime);
        }
        if start > crate::spec::values::MAX_RUN_TIME.as_secs_f64() {
            return Err(StageError::TooLong);
        }
        if before < 1.0 {
            return Err(StageError::NoRequests);
        }
        Ok(Self {
            stages,
            segments,
            total_s: start,
            total_requests: before,
        })
    }

    /// The stages as given.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// The highest rate the plan reaches, requests/s.
    pub fn peak(&self) -> f64 {
        self.segments
            .iter()
            .map(|s| s.from.max(s.to))
            .fold(0.0, f64::max)
    }

    /// Length of the whole plan.
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.total_s)
    }

    /// Number of send slots in the plan.
    pub fn total_slots(&self) -> u64 {
        self.total_requests.ceil() as u64
    }

    /// Requests the plan asks for in `[0, t)` seconds.
    pub fn count_at(&self, t: f64) -> f64 {
        if t <= 0.0 {
            return 0.0;
        }
        for segment in &self.segments {
            if t < segment.start + segment.len {
                return segment.before + segment.count(t - segment.start);
            }
        }
        self.total_requests
    }

    /// Requests the plan asks for in second `[s, s+1)`, clipped to the plan's end.
    pub fn target_in_second(&self, s: u64) -> f64 {
        let s = s as f64;
        self.count_at(s + 1.0) - self.count_at(s)
    }

    /// When slot `k` (0-based) is due, counted from the run start; `None` past the plan's end.
    pub fn due(&self, k: u64) -> Option<Duration> {
        let n = k as f64;
        if n >= self.total_requests {
            return None;
        }
        let segment = self
            .segments
            .iter()
            .rev()
            .find(|s| s.before <= n && (s.from > 0.0 || s.to > 0.0))?;
        let delta = n - segment.before;
        // Solve from·τ + a·τ² = delta with a = (to − from) / (2·len), in the form that stays
        // stable when a is 0 or negative.
        let a = (segment.to - segment.from) / (2.0 * segment.len);
        let b = segment.from;
        let disc = (b * b + 4.0 * a * delta).max(0.0);
        let denom = b + disc.sqrt();
        let tau = if denom > 0.0 {
            2.0 * delta / denom
        } else {
            0.0
        };
        Some(Duration::from_secs_f64(
            segment.start + tau.min(segment.len),
        ))
    }

    /// First slot index whose due time is at or after `t` seconds.
    pub fn first_slot_at_or_after(&self, t: f64) -> u64 {
        self.count_at(t).ceil() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(d: Option<Duration>) -> f64 {
        d.expect("slot within plan").as_secs_f64()
    }

    #[test]
    fn absurd_plans_are_refused() {
        assert!(matches!(
            RatePlan::parse("1e12:1s"),
            Err(StageError::TooFast { .. })
        ));
        assert_eq!(
            RatePlan::parse("10:1s,10:8days").err(),
            Some(StageError::TooLong)
        );
        assert!(RatePlan::parse("1000000:1h").is_ok());
    }

    #[test]
    fn parses_the_documented_example() {
        let plan = RatePlan::parse("100:30s,1200:2m,1200:3m").expect("valid");
        assert_eq!(plan.stages().len(), 3);
        assert_eq!(plan.duration(), Duration::from_secs(330));
        // 0→100 over 30 s: 1500; 100→1200 over 120 s: 78000; 1200 for 180 s: 216000.
        assert_eq!(plan.total_slots(), 1500 + 78_000 + 216_000);
    }

    #[test]
    fn constant_rate_slots_are_evenly_spaced() {
        let plan = RatePlan::parse("50:0s,50:2s").expect("valid");
        assert_eq!(plan.total_slots(), 100);
        assert!((secs(plan.due(0)) - 0.0).abs() < 1e-9);
        assert!((secs(plan.due(1)) - 0.02).abs() < 1e-9);
        assert!((secs(plan.due(99)) - 1.98).abs() < 1e-9);
        assert_eq!(plan.due(100), None);
        assert!((plan.target_in_second(0) - 50.0).abs() < 1e-9);
    }

    #[test]
    fn jump_then_hold_starts_at_full_rate() {
        let plan = RatePlan::parse("10:0s,10:1s").expect("valid");
        assert_eq!(plan.total_slots(), 10);
        assert!((secs(plan.due(5)) - 0.5).abs() < 1e-9);
    }

    #[test]
    fn ramp_slots_follow_the_cumulative_curve() {
        // 0→100 over 10 s: count(t) = 5 t², so slot k is due at sqrt(k / 5).
        let plan = RatePlan::parse("100:10s").expect("valid");
        assert_eq!(plan.total_slots(), 500);
        for k in [1u64, 20, 125, 499] {
            let want = (k as f64 / 5.0).sqrt();
            assert!((secs(plan.due(k)) - want).abs() < 1e-9, "slot {k}");
        }
        assert!((plan.target_in_second(9) - (5.0 * 100.0 - 5.0 * 81.0)).abs() < 1e-9);
    }

    #[test]
    fn ramp_down_is_monotone() {
        let plan = RatePlan::parse("100:0s,100:1s,0:2s").expect("valid");
        let dues: Vec<f64> = (0..plan.total_slots()).map(|k| secs(plan.due(k))).collect();
        assert!(dues.windows(2).all(|w| w[0] <= w[1]));
        assert!(dues.last().copied().unwrap_or_default() < 3.0);
        assert_eq!(plan.total_slots(), 200);
    }

    #[test]
    fn bad_plans_name_the_stage() {
        assert!(matches!(RatePlan::parse(""), Err(StageError::Empty)));
        assert!(
            matches!(RatePlan::parse("100"), Err(StageError::Syntax { item }) if item == "100")
        );
        assert!(matches!(
            RatePlan::parse("-5:10s"),
            Err(StageError::Rate { .. })
        ));
        assert!(matches!(
            RatePlan::parse("5:soon"),
            Err(StageError::Duration { .. })
        ));
        assert!(matches!(RatePlan::parse("5:0s"), Err(StageError::NoTime)));
        assert!(matches!(
            RatePlan::parse("0:10s"),
            Err(StageError::NoRequests)
        ));
    }

    #[test]
    fn first_slot_after_matches_due_times() {
        let plan = RatePlan::parse("0:0s,100:5s").expect("valid");
        let k = plan.first_slot_at_or_after(1.234);
        assert!(secs(plan.due(k)) >= 1.234 - 1e-9);
        assert!(secs(plan.due(k - 1)) < 1.234);
    }
}
