//! Benchmark baseline: a plain Goose attack, as a Goose user writes one — one transaction that
//! GETs `/`, Goose's own metrics on, telnet controller off. Compared with scaleproof in
//! bench/generator.py. Usage: `bare_goose HOST USERS SECONDS`; prints `requests N`.

use goose::prelude::*;

async fn get_root(user: &mut GooseUser) -> TransactionResult {
    let _ = user.get("/").await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), GooseError> {
    let mut args = std::env::args().skip(1);
    let host = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
    let users: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(32);
    let seconds: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(10);
    let mut config = goose::config::GooseConfiguration::default();
    config.host = Some(host);
    config.users = Some(users);
    config.increase_rate = Some(users.to_string());
    config.run_time = Some(format!("{seconds}s"));
    config.no_telnet = true;
    config.quiet = 1;
    config.no_print_metrics = true;
    let metrics = GooseAttack::initialize_with_config(config)?
        .register_scenario(scenario!("bare").register_transaction(transaction!(get_root)))
        .execute()
        .await?;
    let requests: usize = metrics
        .requests
        .values()
        .map(|r| r.success_count + r.fail_count)
        .sum();
    println!("requests {requests}");
    Ok(())
}
