//! A replica process as the kubelet handles one: its readiness probe (`GET /ready`), SIGTERM,
//! and how its exit is written in the run directory.

use std::net::SocketAddr;
use std::process::Child;
use std::time::Duration;

/// GET /ready answers 200.
pub(super) async fn ready(addr: SocketAddr) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let check = async {
        let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
        s.write_all(b"GET /ready HTTP/1.1\r\nHost: local\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut head = [0u8; 12];
        s.read_exact(&mut head).await.ok()?;
        Some(head.starts_with(b"HTTP/1.1 200"))
    };
    tokio::time::timeout(Duration::from_secs(1), check)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}

/// SIGTERM, as the kubelet sends it.
pub(super) fn terminate(child: &Child) {
    #[cfg(unix)]
    {
        use nix::sys::signal::{Signal, kill};
        use nix::unistd::Pid;
        if let Ok(pid) = i32::try_from(child.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
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
