//! Object storage for shared runs (`--workers N`), through the `object_store` crate: where the
//! controller publishes the start time and the workers leave their readiness and their run
//! directories.
//!
//! `file:///abs/dir` (a ReadWriteMany volume mounted in every pod, or a local directory; a
//! bare path means the same) is always built. `s3://bucket/prefix`, `gs://bucket/prefix` and
//! `az://container/prefix` need the `cloud` cargo feature; their credentials and endpoints
//! come from the environment as each cloud's own tools read them (`AWS_ACCESS_KEY_ID`,
//! `AWS_ENDPOINT`, `GOOGLE_SERVICE_ACCOUNT`, `AZURE_STORAGE_ACCOUNT_NAME`, …).

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why the store could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("result store {url}: {message}")]
    Url { url: String, message: String },
    #[error("result store {url}: cannot {what}")]
    Remote {
        url: String,
        what: String,
        #[source]
        source: object_store::Error,
    },
    #[error("cannot {what} {}", path.display())]
    Local {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A place for a shared run's files: a store and the prefix under it.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    root: Key,
    url: String,
}

impl Store {
    /// Opens the store a URL names (see the module's documentation). Nothing is read yet.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        // Each cloud's builder takes the settings it knows (`aws_endpoint`, …) and ignores
        // the rest of the environment.
        Self::open_with(
            url,
            std::env::vars().map(|(k, v)| (k.to_ascii_lowercase(), v)),
        )
    }

    /// [`Store::open`] with the settings given (`aws_endpoint`, `aws_region`, …) instead of
    /// the environment's.
    pub fn open_with(
        url: &str,
        options: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, StoreError> {
        let bad = |message: String| StoreError::Url {
            url: url.to_owned(),
            message,
        };
        let parsed = if url.contains("://") {
            url::Url::parse(url).map_err(|e| bad(e.to_string()))?
        } else {
            // A bare path: a local directory, made absolute.
            let path = std::path::absolute(url).map_err(|e| bad(e.to_string()))?;
            url::Url::from_directory_path(&path)
                .map_err(|()| bad("not a usable directory path".to_owned()))?
        };
        match parsed.scheme() {
            "file" => {
                // object_store's local store wants the directory to exist.
                if let Ok(path) = parsed.to_file_path() {
                    std::fs::create_dir_all(&path).map_err(|source| StoreError::Local {
                        what: "create the result directory",
                        path,
                        source,
                    })?;
                }
            }
            "s3" | "s3a" | "gs" | "az" | "azure" | "abfs" | "abfss" if !cfg!(feature = "cloud") => {
                return Err(bad(format!(
                    "{}:// needs scaleproof built with the `cloud` feature (cargo build --release --features cloud); this build has file:// only",
                    parsed.scheme()
                )));
            }
            "s3" | "s3a" | "gs" | "az" | "azure" | "abfs" | "abfss" => {}
            other => {
                return Err(bad(format!(
                    "unknown scheme {other}:// (use file://, s3://, gs:// or az://)"
                )));
            }
        }
        let (inner, root) =
            object_store::parse_url_opts(&parsed, options).map_err(|e| bad(e.to_string()))?;
        Ok(Self {
            inner: Arc::from(inner),
            root,
            url: parsed.to_string(),
        })
    }

    /// The store's URL, as given (made absolute for a bare path).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The store under `prefix` (`a/b`): names are then relative to it.
    pub fn under(&self, prefix: &str) -> Self {
        Self {
            inner: self.inner.clone(),
            root: self.key(prefix),
            url: format!("{}/{}", self.url.trim_end_matches('/'), prefix),
        }
    }

    fn key(&self, name: &str) -> Key {
        name.split('/')
            .filter(|p| !p.is_empty())
            .fold(self.root.clone(), |key, part| key.join(part))
    }

    fn remote(&self, what: String) -> impl FnOnce(object_store::Error) -> StoreError + '_ {
        move |source| StoreError::Remote {
            url: self.url.clone(),
            what,
            source,
        }
    }

    /// Writes an object (whole: readers see the old one or the new one).
    pub async fn put(&self, name: &str, bytes: impl Into<Bytes>) -> Result<(), StoreError> {
        self.inner
            .put(&self.key(name), bytes.into().into())
            .await
            .map(drop)
            .map_err(self.remote(format!("write {name}")))
    }

    /// Reads an object; `None` if there is none.
    pub async fn get(&self, name: &str) -> Result<Option<Bytes>, StoreError> {
        match self.inner.get(&self.key(name)).await {
            Ok(found) => found
                .bytes()
                .await
                .map(Some)
                .map_err(self.remote(format!("read {name}"))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.remote(format!("read {name}"))(e)),
        }
    }

    /// The names of every object under `prefix`, relative to this store, sorted.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let base = self.key(prefix);
        let objects: Vec<_> = self
            .inner
            .list(Some(&base))
            .try_collect()
            .await
            .map_err(self.remote(format!("list {prefix}")))?;
        let mut names: Vec<String> = objects
            .into_iter()
            .filter_map(|o| {
                o.location
                    .prefix_match(&self.root)
                    .map(|parts| parts.map(|p| p.as_ref().to_owned()).collect::<Vec<_>>())
            })
            .map(|parts| parts.join("/"))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Copies every file under the local directory `dir` to `prefix/…`; returns how many.
    pub async fn upload_dir(&self, dir: &Path, prefix: &str) -> Result<usize, StoreError> {
        let mut files = Vec::new();
        walk(dir, dir, &mut files)?;
        for (relative, path) in &files {
            let bytes = std::fs::read(path).map_err(|source| StoreError::Local {
                what: "read",
                path: path.clone(),
                source,
            })?;
            self.put(&format!("{prefix}/{relative}"), bytes).await?;
        }
        Ok(files.len())
    }

    /// Copies every object under `prefix` into the local directory `dir` (made if missing),
    /// keeping the names below `prefix`; returns how many.
    pub async fn download_dir(&self, prefix: &str, dir: &Path) -> Result<usize, StoreError> {
        let names = self.list(prefix).await?;
        let start = prefix.trim_matches('/');
        for name in &names {
            let relative = name
                .strip_prefix(start)
                .unwrap_or(name)
                .trim_start_matches('/');
            let path = dir.join(relative);
            let Some(bytes) = self.get(name).await? else {
                continue;
            };
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|source| StoreError::Local {
                    what: "create",
                    path: parent.to_path_buf(),
                    source,
                })?;
            }
            std::fs::write(&path, &bytes).map_err(|source| StoreError::Local {
                what: "write",
                path: path.clone(),
                source,
            })?;
        }
        Ok(names.len())
    }
}

/// Every file under `dir`: (path relative to `root` with `/`, full path), sorted.
fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<(), StoreError> {
    let local = |what, path: &Path| {
        let path = path.to_path_buf();
        move |source| StoreError::Local { what, path, source }
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(local("read the directory", dir))?
        .collect::<Result<_, _>>()
        .map_err(local("read the directory", dir))?;
    entries.sort_by_key(std::fs::DirEntry::path);
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            walk(root, &path, out)?;
        } else {
            let relative = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            out.push((relative, path));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    #[test]
    fn a_directory_goes_up_and_comes_back_byte_for_byte() {
        let tmp = tempfile::tempdir().expect("tmp");
        let src = tmp.path().join("src");
        std::fs::create_dir_all(src.join("charts")).expect("mkdir");
        std::fs::write(src.join("run.json"), b"{\"a\":1}").expect("write");
        std::fs::write(src.join("charts/p95.png"), [0u8, 1, 2, 255]).expect("write");
        let url = format!("file://{}", tmp.path().join("store").display());
        let store = Store::open(&url).expect("open").under("runs/r1");
        runtime().block_on(async {
            assert_eq!(store.upload_dir(&src, "worker-0").await.expect("up"), 2);
            assert_eq!(
                store.list("worker-0").await.expect("list"),
                ["worker-0/charts/p95.png", "worker-0/run.json"]
            );
            assert_eq!(store.get("nothing/here").await.expect("get"), None);
            let back = tmp.path().join("back");
            assert_eq!(
                store.download_dir("worker-0", &back).await.expect("down"),
                2
            );
            assert_eq!(
                std::fs::read(back.join("charts/p95.png")).expect("read"),
                [0u8, 1, 2, 255]
            );
            assert_eq!(
                std::fs::read(back.join("run.json")).expect("read"),
                b"{\"a\":1}"
            );
        });
        // Under the store's own directory, as a volume mounted elsewhere would show it.
        assert!(tmp.path().join("store/runs/r1/worker-0/run.json").is_file());
    }

    #[test]
    fn a_bare_path_is_a_local_directory() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join("results");
        let store = Store::open(dir.to_str().expect("utf-8")).expect("open");
        assert!(store.url().starts_with("file:///"), "{}", store.url());
        runtime()
            .block_on(store.put("a/b.json", b"x".to_vec()))
            .expect("put");
        assert_eq!(std::fs::read(dir.join("a/b.json")).expect("read"), b"x");
    }

    /// An S3 round trip through object_store's real S3 client against moto's S3 server (a
    /// test double of S3, `pip install "moto[server]"`) on loopback.
    #[cfg(feature = "cloud")]
    #[test]
    fn s3_round_trip_against_a_local_s3_server() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut server = std::process::Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("moto_server on PATH (pip install \"moto[server]\"): the s3:// test needs it");
        struct Kill<'a>(&'a mut std::process::Child);
        impl Drop for Kill<'_> {
            fn drop(&mut self) {
                let _ = self.0.kill();
                let _ = self.0.wait();
            }
        }
        let _server = Kill(&mut server);
        let endpoint = format!("http://127.0.0.1:{port}");
        let tmp = tempfile::tempdir().expect("tmp");
        let src = tmp.path().join("run");
        std::fs::create_dir_all(src.join("charts")).expect("mkdir");
        std::fs::write(src.join("run.json"), b"{}").expect("write");
        std::fs::write(src.join("charts/a.png"), [7u8; 3000]).expect("write");
        runtime().block_on(async {
            let client = reqwest::Client::new();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            // Wait for the server, then make the bucket (object_store does not create buckets).
            loop {
                match client.put(format!("{endpoint}/results")).send().await {
                    Ok(r) if r.status().is_success() => break,
                    _ if std::time::Instant::now() < deadline => {
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                    other => panic!("moto_server did not come up: {other:?}"),
                }
            }
            let options = [
                ("aws_endpoint", endpoint.as_str()),
                ("aws_allow_http", "true"),
                ("aws_access_key_id", "test"),
                ("aws_secret_access_key", "test"),
                ("aws_region", "us-east-1"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()));
            let store = Store::open_with("s3://results/scaleproof", options)
                .expect("open s3")
                .under("runs/r1");
            assert_eq!(store.upload_dir(&src, "worker-0").await.expect("up"), 2);
            store
                .put("ready/worker-0.json", b"{}".to_vec())
                .await
                .expect("put");
            assert_eq!(
                store.list("worker-0").await.expect("list"),
                ["worker-0/charts/a.png", "worker-0/run.json"]
            );
            assert_eq!(store.get("start.json").await.expect("get"), None);
            let back = tmp.path().join("back");
            assert_eq!(
                store.download_dir("worker-0", &back).await.expect("down"),
                2
            );
            assert_eq!(
                std::fs::read(back.join("charts/a.png")).expect("read"),
                [7u8; 3000]
            );
        });
    }

    #[test]
    fn an_unknown_or_unbuilt_scheme_says_what_to_do() {
        let e = Store::open("ftp://host/x").expect_err("ftp").to_string();
        assert!(e.contains("unknown scheme ftp://"), "{e}");
        let s3 = Store::open("s3://bucket/prefix");
        if cfg!(feature = "cloud") {
            let store = s3.expect("s3 with the cloud feature");
            assert_eq!(store.url(), "s3://bucket/prefix");
        } else {
            let e = s3.expect_err("s3 without the cloud feature").to_string();
            assert!(e.contains("--features cloud"), "{e}");
        }
    }
}
