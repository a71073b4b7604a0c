//! Goose's test plan, `USERS,TIMESPAN;…`, checked here as Goose reads it: the one value of a
//! scenario whose syntax is Goose's own, so it lives on the load side of the crate boundary.

use std::time::Duration;

use crate::spec::values::{MAX_RUN_TIME, MAX_USERS};

/// A Goose test plan, `USERS,TIMESPAN;…` (timespans as Goose reads them: `30`, `30s`, `2m`,
/// `1h30m`), checked here exactly as Goose will parse it so that a bad plan is refused before
/// anything is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestPlan(String);

impl TestPlan {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Parses a [`TestPlan`].
pub fn test_plan(text: &str) -> Result<TestPlan, String> {
    let mut any_users = false;
    let mut total = Duration::ZERO;
    for step in text.split(';') {
        let bad = || {
            format!(
                "step {:?} is not USERS,TIMESPAN (e.g. 100,30s;100,2m;0,10s)",
                step.trim()
            )
        };
        let (users, span) = step.split_once(',').ok_or_else(bad)?;
        let users: usize = users.trim().parse().map_err(|_| bad())?;
        if users > MAX_USERS {
            return Err(format!(
                "step {:?}: {users} users is more than {MAX_USERS}",
                step.trim()
            ));
        }
        let seconds = goose::util::parse_timespan(span.trim()).ok_or_else(bad)?;
        total += Duration::from_secs(seconds as u64);
        any_users |= users > 0;
    }
    if !any_users {
        return Err("the plan starts no user".into());
    }
    if total > MAX_RUN_TIME {
        return Err("the plan lasts longer than a week".into());
    }
    Ok(TestPlan(text.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_plans_are_checked_as_goose_reads_them() {
        assert!(test_plan("100,30s;100,2m;0,10s").is_ok());
        assert!(test_plan("10,1h30m").is_ok());
        for bad in [
            "",
            "abc",
            "10;5s",
            "10,5x",
            "0,10s",
            "10,10s;x,5s",
            "1000000,1s",
        ] {
            assert!(test_plan(bad).is_err(), "{bad:?}");
        }
    }
}
