//! scaleproof's integration tests, one binary (`cargo test` links Goose, kube and plotters
//! once): each module is one area, sharing the helpers in `common` and the fake API server
//! (a test double of Kubernetes) in `fake_apiserver`.

mod common;
mod fake_apiserver;

mod binary;
mod capacity;
mod cluster;
mod cluster_requests;
mod compare;
mod deploy_scripts;
mod docs;
mod doctor;
mod engine;
mod fake_apiserver_protocol;
mod fleet;
mod live;
mod local;
mod pods;
mod real_cluster;
mod report;
mod scenarios;
mod structure;
mod targets;
mod workers;
