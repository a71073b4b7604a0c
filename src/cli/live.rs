//! The live page's flags (`--live`, its port, address and linger) and their merge with the
//! scenario's `[live]`.

use crate::spec::values;
use clap::Args;
use std::time::Duration;

/// The live page: the run as it happens, in a browser, for recording a demo.
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "Live page (the run as it happens, in a browser)")]
pub struct LiveArgs {
    /// Serve a live page during the run (URL printed at the start): figures, charts and scale
    /// events growing second by second, then the verdict and a link to report.html. Laid out
    /// for a 1920×1080 window, to record
    #[arg(long)]
    pub live: bool,
    /// Port of the live page [default: any free one]
    #[arg(long, value_name = "PORT", requires = "live")]
    pub live_port: Option<u16>,
    /// Address the live page listens on [default: 127.0.0.1; 0.0.0.0 shows the run to anyone
    /// who can reach this machine]
    #[arg(long, value_name = "IP", requires = "live", value_parser = values::bind_address)]
    pub live_bind: Option<std::net::IpAddr>,
    /// How long the live page stays up after the run, showing the verdict (Ctrl-C ends it
    /// sooner; 0s: not at all) [default: 2m]
    #[arg(long, value_name = "DURATION", requires = "live", value_parser = values::duration_or_zero)]
    pub live_linger: Option<Duration>,
}

impl LiveArgs {
    /// The live page's options, flags over the scenario's `[live]`; `None` when not asked for.
    pub fn resolve(&self, spec: &crate::scenario::LiveSpec) -> Option<crate::config::LiveOptions> {
        (self.live || spec.enabled == Some(true)).then(|| crate::config::LiveOptions {
            bind: self
                .live_bind
                .or(spec.bind)
                .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)),
            port: self.live_port.or(spec.port).unwrap_or(0),
            linger: self
                .live_linger
                .or(spec.linger)
                .unwrap_or(Duration::from_secs(120)),
        })
    }
}
