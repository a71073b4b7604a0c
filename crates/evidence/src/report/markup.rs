//! The pieces of HTML that report.html and its sections share: an inline chart with the
//! geometry its hover read-out needs, text escaping, SVG made fit to inline.

use super::draw::PlotBox;

/// One chart as inline SVG with the geometry the hover read-out needs.
#[derive(Debug)]
pub struct InlineChart {
    pub svg: String,
    pub plot: PlotBox,
    pub size: (u32, u32),
}

/// Escapes text for HTML; `:` too, so that no `scheme://` sequence appears in the file even
/// where the text shows a URL (the page must not reference anything outside itself).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            ':' => out.push_str("&#58;"),
            c => out.push(c),
        }
    }
    out
}

/// plotters writes `xmlns="http://www.w3.org/2000/svg"`; inline SVG in HTML needs no namespace.
pub(super) fn strip_namespace(svg: &str) -> String {
    svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1)
}
