//! A replica process as the kubelet handles one: its readiness probe (`GET` a path, ready on
//! 2xx or 3xx), its signals, and how its exit is written in the run directory.

use std::net::SocketAddr;
use std::time::Duration;

/// The bundled replica's readiness: `GET /ready` answers within a second.
pub(super) async fn ready(addr: SocketAddr) -> bool {
    probe(addr, "/ready", Duration::from_secs(1)).await.is_ok()
}

/// `GET path` on `addr` answers 2xx or 3xx within `timeout`: `Ok(status line)`, else what it
/// got (for the warning that names the probe).
pub(super) async fn probe(addr: SocketAddr, path: &str, timeout: Duration) -> Result<(), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let check = async {
        let mut s = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| e.to_string())?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        s.write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut head = [0u8; 12];
        s.read_exact(&mut head).await.map_err(|e| e.to_string())?;
        let status = std::str::from_utf8(&head[9..12])
            .ok()
            .and_then(|c| c.parse::<u16>().ok())
            .ok_or_else(|| "not an HTTP response".to_owned())?;
        if (200..400).contains(&status) {
            Ok(())
        } else {
            Err(format!("HTTP {status}"))
        }
    };
    tokio::time::timeout(timeout, check)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {timeout:?}")))
}

/// The signals a kubelet sends.
pub(super) enum Sig {
    Term,
    Kill,
}

/// Sends `sig` to process `pid`, or with `group` to its whole process group (a `sh`
/// wrapper and a gunicorn master alike).
pub(super) fn signal(pid: u32, group: bool, sig: Sig) {
    #[cfg(unix)]
    {
        use nix::sys::signal::{Signal, kill};
        use nix::unistd::Pid;
        let Ok(pid) = i32::try_from(pid) else { return };
        let target = if group { -pid } else { pid };
        let sig = match sig {
            Sig::Term => Signal::SIGTERM,
            Sig::Kill => Signal::SIGKILL,
        };
        let _ = kill(Pid::from_raw(target), sig);
    }
}

/// How a replica's exit reads in the run directory: drained, exited, killed by a signal.
pub(super) fn exit_text(status: std::process::ExitStatus, expected: bool) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return format!("killed (signal {sig})");
        }
    }
    match (status.success(), expected) {
        (true, true) => "drained".to_owned(),
        (true, false) => "exited".to_owned(),
        _ => format!("{status}"),
    }
}
