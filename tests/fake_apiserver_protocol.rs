//! The fake API server (a test double, see `fake_apiserver/mod.rs`) checked against the parts
//! of the real list/watch protocol the watcher tests rely on, over plain HTTP on loopback:
//! paging, resourceVersions, watch resumption, bookmarks, server timeouts, 410 and selectors.

use crate::fake_apiserver;

use fake_apiserver::{FakeApiServer, Kind};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn pod(name: &str, app: &str) -> Value {
    json!({"metadata": {"name": name, "namespace": "demo", "labels": {"app": app}}})
}

async fn get_json(url: &str) -> Value {
    reqwest::get(url)
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

/// Reads a watch response to its end; returns its events and how long it stayed open.
async fn watch_all(url: &str) -> (Vec<Value>, Duration) {
    let started = Instant::now();
    let text = reqwest::get(url)
        .await
        .expect("watch")
        .text()
        .await
        .expect("body");
    let events = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON event per line"))
        .collect();
    (events, started.elapsed())
}

#[tokio::test]
async fn lists_page_and_carry_resource_versions() {
    let fake = FakeApiServer::start();
    for i in 0..5 {
        fake.apply(Kind::Pod, pod(&format!("web-{i}"), "web"));
    }
    fake.apply(Kind::Pod, pod("other", "other"));
    let base = format!("{}/api/v1/namespaces/demo/pods", fake.url);
    let first = get_json(&format!("{base}?labelSelector=app%3Dweb&limit=2")).await;
    assert_eq!(first["kind"], "PodList");
    assert_eq!(first["metadata"]["resourceVersion"], "6");
    assert_eq!(first["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(first["items"][0]["metadata"]["resourceVersion"], "1");
    let mut names = Vec::new();
    let mut page = first;
    loop {
        for item in page["items"].as_array().expect("items") {
            names.push(item["metadata"]["name"].as_str().expect("name").to_owned());
        }
        let Some(token) = page["metadata"]["continue"].as_str() else {
            break;
        };
        page = get_json(&format!(
            "{base}?labelSelector=app%3Dweb&limit=2&continue={token}"
        ))
        .await;
    }
    assert_eq!(names, ["web-0", "web-1", "web-2", "web-3", "web-4"]);
    let set = get_json(&format!("{base}?labelSelector=app+notin+%28web%29")).await;
    assert_eq!(set["items"][0]["metadata"]["name"], "other");
    let field = get_json(&format!("{base}?fieldSelector=metadata.name%3Dweb-3")).await;
    assert_eq!(field["items"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn watches_resume_send_bookmarks_end_on_timeout_and_expire_with_410() {
    let fake = FakeApiServer::start();
    fake.apply(Kind::Pod, pod("web-0", "web"));
    fake.apply(Kind::Pod, pod("web-1", "web"));
    let base = format!("{}/api/v1/namespaces/demo/pods", fake.url);
    // From resourceVersion 1: only what came after it, then bookmarks until the timeout.
    let (events, open) = watch_all(&format!(
        "{base}?watch=true&resourceVersion=1&timeoutSeconds=1&allowWatchBookmarks=true"
    ))
    .await;
    assert!(
        open >= Duration::from_millis(900) && open < Duration::from_secs(3),
        "{open:?}"
    );
    assert_eq!(events[0]["type"], "ADDED");
    assert_eq!(events[0]["object"]["metadata"]["name"], "web-1");
    let bookmark = events
        .iter()
        .find(|e| e["type"] == "BOOKMARK")
        .expect("a bookmark");
    assert_eq!(bookmark["object"]["kind"], "Pod");
    assert_eq!(bookmark["object"]["apiVersion"], "v1");
    assert_eq!(bookmark["object"]["metadata"]["resourceVersion"], "2");
    // After compaction, an old resourceVersion gets HTTP 200 and an in-stream 410.
    fake.apply(Kind::Pod, pod("web-2", "web"));
    fake.expire();
    let response = reqwest::get(format!("{base}?watch=true&resourceVersion=1"))
        .await
        .expect("watch");
    assert_eq!(response.status(), 200);
    let line: Value =
        serde_json::from_str(response.text().await.expect("body").trim()).expect("one event");
    assert_eq!(line["type"], "ERROR");
    assert_eq!(line["object"]["kind"], "Status");
    assert_eq!(line["object"]["code"], 410);
    assert_eq!(line["object"]["reason"], "Expired");
    // A label change out of a watch's selector is a DELETED for that watch.
    let url =
        format!("{base}?watch=true&resourceVersion=3&timeoutSeconds=1&labelSelector=app%3Dweb");
    let watch = tokio::spawn(async move { watch_all(&url).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    fake.apply(Kind::Pod, pod("web-0", "other"));
    let (events, _) = watch.await.expect("watch task");
    let deleted = events
        .iter()
        .find(|e| e["type"] != "BOOKMARK")
        .expect("an event");
    assert_eq!(deleted["type"], "DELETED");
    assert_eq!(deleted["object"]["metadata"]["name"], "web-0");
}

#[tokio::test]
async fn forbidden_resources_answer_403_with_a_status() {
    let fake = FakeApiServer::start();
    fake.forbid(Kind::Event);
    let response = reqwest::get(format!("{}/api/v1/namespaces/demo/events", fake.url))
        .await
        .expect("request");
    assert_eq!(response.status(), 403);
    let status: Value = response.json().await.expect("json");
    assert_eq!(
        (status["kind"].as_str(), status["code"].as_u64()),
        (Some("Status"), Some(403))
    );
}
