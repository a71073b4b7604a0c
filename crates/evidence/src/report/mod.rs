//! Reports: everything a user shows to others, computed from the run directory alone.
//!
//! `summary.json` (versioned schema), PNG and SVG charts on one time axis, a 1920×1080
//! `dashboard.png` for video, and a self-contained `report.html`; every headline figure is
//! formatted once, in [`headline`].

pub mod dashboard;
pub mod draw;
pub mod gantt;
pub mod headline;
pub mod html;
pub mod kpi;
pub mod markup;
mod pods_html;
mod render;
pub mod replay;
pub mod series;
pub mod slides;
mod summary;

pub use render::{CHART_SIZE, CHARTS, Rendered, ReportError, dashboard_layout, render};
pub use summary::{ClusterSummary, ErrorSummary, SUMMARY_SCHEMA, Summary};
