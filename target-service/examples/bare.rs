//! Benchmark baseline: a bare axum handler returning a constant prediction, with nothing else
//! (no model, no parsing, no middleware). Its throughput is the ceiling for `/predict` on a
//! machine. Usage: `cargo run --release -p target-service --example bare -- PORT`.

use axum::Router;
use axum::routing::post;

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(8081);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let app = Router::new().route(
            "/predict",
            post(|| async {
                (
                    [("content-type", "application/json")],
                    "{\"prediction\":[151.0]}",
                )
            }),
        );
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        println!("bare listening on {}", listener.local_addr()?);
        axum::serve(listener, app).await
    })
}
