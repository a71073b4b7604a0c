//! Opt-in, read-only: the cluster watcher against a real cluster, through your kubeconfig.
//!
//! ```sh
//! SCALEPROOF_DEPLOYMENT=target-service [SCALEPROOF_NAMESPACE=demo] \
//!   cargo test --test real_cluster -- --ignored
//! ```
//!
//! It lists and watches the Deployment, its HPA, pods and events for a few seconds; it never
//! writes to the cluster and sends no load.

use scaleproof::cluster::{ClusterOptions, ClusterWatch};
use std::time::{Duration, Instant};

#[test]
#[ignore = "needs a real cluster: SCALEPROOF_DEPLOYMENT=NAME cargo test --test real_cluster -- --ignored"]
fn a_real_deployment_is_watched_without_warnings() {
    let deployment = std::env::var("SCALEPROOF_DEPLOYMENT")
        .expect("SCALEPROOF_DEPLOYMENT names the Deployment to watch");
    let watch = ClusterWatch::start(ClusterOptions {
        deployment,
        namespace: std::env::var("SCALEPROOF_NAMESPACE").ok(),
        ..Default::default()
    });
    assert!(
        watch.wait_settled(Duration::from_secs(10)),
        "no answer in 10 s"
    );
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    let recording = watch.finish(t0, Instant::now());
    assert!(
        recording.record.warnings.is_empty(),
        "{:#?}",
        recording.record.warnings
    );
    let s = recording.at(2.0);
    let (Some(_spec), Some(ready), Some(pods_ready)) =
        (s.deploy_spec_replicas, s.deploy_ready, s.pods_ready)
    else {
        panic!("replica columns unknown: {s:?}")
    };
    // readyReplicas counts ready pods of the Deployment's ReplicaSets, all of which match its
    // selector.
    assert!(pods_ready >= ready, "{s:?}");
    assert!(!recording.record.containers.is_empty());
}
