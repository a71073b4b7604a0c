//! What the watch thread and the run share: the sources watched, and the state they fill
//! (changes on the run clock, events, the cluster context, pod lifecycles, which sources
//! have settled).

use super::pods::PodTracks;
use crate::timeline::{ClusterRecord, ClusterSample, EventRow};
use std::time::Instant;

/// The watches, by index into per-source arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    Deployment = 0,
    Hpa = 1,
    Pods = 2,
    Events = 3,
    EndpointSlices = 4,
}

/// How many sources there are.
pub(super) const SOURCES: usize = Source::ALL.len();

impl Source {
    /// Every source, in index order.
    pub(super) const ALL: [Source; 5] = [
        Source::Deployment,
        Source::Hpa,
        Source::Pods,
        Source::Events,
        Source::EndpointSlices,
    ];

    pub(super) fn resource(self) -> &'static str {
        match self {
            Source::Deployment => "deployments",
            Source::Hpa => "horizontalpodautoscalers",
            Source::Pods => "pods",
            Source::Events => "events",
            Source::EndpointSlices => "endpointslices",
        }
    }
}

/// State shared between the watch thread and the run.
#[derive(Debug, Default)]
pub(super) struct WatchState {
    /// Every distinct sample, with when it was first seen.
    pub(super) changes: Vec<(Instant, ClusterSample)>,
    /// Scale-related events, with when they arrived.
    pub(super) events: Vec<(Instant, EventRow)>,
    pub(super) record: ClusterRecord,
    /// Each watched pod's lifecycle.
    pub(super) pods: PodTracks,
    /// Sources that have listed or failed at least once (or are moot).
    pub(super) settled: [bool; SOURCES],
    /// No client could be built: nothing will ever settle.
    pub(super) no_client: bool,
    pub(super) quiet: bool,
}

impl WatchState {
    pub(super) fn settle(&mut self, source: Source) {
        self.settled[source as usize] = true;
    }

    pub(super) fn all_settled(&self) -> bool {
        self.no_client || self.settled.iter().all(|&s| s)
    }

    /// Records a warning (once) and prints it.
    pub(super) fn warn(&mut self, text: String) {
        if !self.record.warnings.contains(&text) {
            if !self.quiet {
                eprintln!("scaleproof: warning: cluster: {text}");
            }
            self.record.warnings.push(text);
        }
    }
}
