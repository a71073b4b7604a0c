//! Putting two runs on one clock: by second from the load's start when their plans last
//! equally long; when they differ in length and both are open-model plans of as many stages,
//! by load stage — each of the candidate's stages stretched or shrunk onto the base's, so that
//! "the ramp", "the hold" and "the step down" line up in the picture.

use crate::timeline::LoadRecord;

/// How the candidate's seconds map onto the base's clock.
#[derive(Debug, Clone, PartialEq)]
pub enum Alignment {
    BySecond,
    /// Per stage: (candidate start, candidate end, base start, base end), seconds.
    ByStage(Vec<(f64, f64, f64, f64)>),
}

impl Alignment {
    /// From the two runs' load records.
    pub fn of(base: &LoadRecord, cand: &LoadRecord) -> Self {
        let (LoadRecord::Open { stages: b, .. }, LoadRecord::Open { stages: c, .. }) = (base, cand)
        else {
            return Self::BySecond;
        };
        let total = |s: &[crate::timeline::StageRecord]| s.iter().map(|x| x.over_s).sum::<f64>();
        if b.len() != c.len() || (total(b) - total(c)).abs() < 1e-9 {
            return Self::BySecond;
        }
        let (mut bt, mut ct) = (0.0, 0.0);
        let mut segments = Vec::new();
        for (bs, cs) in b.iter().zip(c) {
            segments.push((ct, ct + cs.over_s, bt, bt + bs.over_s));
            bt += bs.over_s;
            ct += cs.over_s;
        }
        Self::ByStage(segments)
    }

    /// The candidate's second `t` on the base's clock.
    pub fn map(&self, t: f64) -> f64 {
        let Self::ByStage(segments) = self else {
            return t;
        };
        for &(c0, c1, b0, b1) in segments {
            if t <= c1 || (c0, c1, b0, b1) == *segments.last().expect("one stage") {
                if c1 > c0 {
                    return b0 + (t - c0) * (b1 - b0) / (c1 - c0);
                }
                return b0;
            }
        }
        t
    }

    /// In words (the picture, compare.json).
    pub fn describe(&self) -> &'static str {
        match self {
            Self::BySecond => "aligned by second from the load's start",
            Self::ByStage(_) => {
                "aligned by load stage (the plans differ in length): the candidate's stages stretched onto the base's"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::StageRecord;

    fn open(stages: &[(f64, f64)]) -> LoadRecord {
        LoadRecord::Open {
            stages: stages
                .iter()
                .map(|&(target_rps, over_s)| StageRecord { target_rps, over_s })
                .collect(),
            max_users: 100,
            max_lag_s: 1.0,
        }
    }

    #[test]
    fn equal_plans_align_by_second_and_longer_ones_stage_by_stage() {
        let base = open(&[(1000.0, 10.0), (1000.0, 50.0)]);
        assert_eq!(Alignment::of(&base, &base), Alignment::BySecond);
        // A ramp twice as long and a hold half as long: each maps onto the base's.
        let cand = open(&[(1000.0, 20.0), (1000.0, 25.0)]);
        let a = Alignment::of(&base, &cand);
        assert_eq!(a.map(0.0), 0.0);
        assert_eq!(a.map(10.0), 5.0);
        assert_eq!(a.map(20.0), 10.0);
        assert_eq!(a.map(32.5), 35.0);
        assert_eq!(a.map(45.0), 60.0);
        // Past the plan (the last requests), the last stage's scale goes on.
        assert_eq!(a.map(46.0), 62.0);
        // Different stage counts, or a closed model: by second.
        let three = open(&[(1.0, 1.0), (1.0, 1.0), (1.0, 1.0)]);
        assert_eq!(Alignment::of(&base, &three), Alignment::BySecond);
    }
}
