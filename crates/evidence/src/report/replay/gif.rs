//! The replay as an animated GIF: a fixed 256-colour palette (the charts' own colours
//! exact), and after the first frame only the rectangle that changed, its unchanged pixels
//! transparent.

use super::apng::bounds;
use crate::report::series::PALETTE;
use std::collections::HashMap;
use std::io::{BufWriter, Write};

type File = BufWriter<std::fs::File>;

/// The fixed GIF palette: the dashboard's own colours first, then a 6×6×6 colour cube and a
/// grey ramp for the anti-aliased edges between them.
fn palette() -> Vec<[u8; 3]> {
    let mut colours: Vec<[u8; 3]> = vec![
        [255, 255, 255],
        [0, 0, 0],
        [245, 246, 248],
        [31, 41, 51],
        [203, 210, 217],
        [120, 120, 120],
        [235, 235, 235],
        [200, 200, 200],
        [90, 90, 90],
        [160, 60, 160],
        [47, 158, 68],
        [201, 42, 42],
        [230, 119, 0],
        [92, 103, 125],
    ];
    colours.extend(PALETTE.iter().map(|c| [c.0, c.1, c.2]));
    for r in 0..6u8 {
        for g in 0..6u8 {
            for b in 0..6u8 {
                colours.push([r * 51, g * 51, b * 51]);
            }
        }
    }
    let mut grey = 8u8;
    while colours.len() < 255 {
        colours.push([grey; 3]);
        grey = grey.saturating_add(12);
    }
    colours.truncate(255);
    // The last index is transparent: "as in the previous frame".
    colours.push([255, 0, 255]);
    colours
}

/// The palette index that keeps the previous frame's pixel.
const KEEP: u8 = 255;

/// Maps RGB pixels to palette indices (nearest colour, remembered per colour).
struct Quantizer {
    palette: Vec<[u8; 3]>,
    seen: HashMap<[u8; 3], u8>,
}

impl Quantizer {
    fn index(&mut self, px: [u8; 3]) -> u8 {
        if let Some(&i) = self.seen.get(&px) {
            return i;
        }
        let d = |c: &[u8; 3]| {
            (0..3)
                .map(|k| (i32::from(c[k]) - i32::from(px[k])).pow(2))
                .sum::<i32>()
        };
        let i = self.palette[..usize::from(KEEP)]
            .iter()
            .enumerate()
            .min_by_key(|(_, c)| d(c))
            .map_or(0, |(i, _)| i as u8);
        self.seen.insert(px, i);
        i
    }
}

/// An animated GIF being written, frame by frame.
pub(super) struct GifSink {
    encoder: gif::Encoder<File>,
    quantizer: Quantizer,
    width: u16,
    height: u16,
    indices: Vec<u8>,
    /// The picture as shown after the previous frame (palette indices).
    shown: Option<Vec<u8>>,
}

impl GifSink {
    /// Starts a looping GIF of `w`×`h` pixels in `file`.
    pub(super) fn create(file: File, w: u16, h: u16) -> Result<Self, gif::EncodingError> {
        let palette = palette();
        let flat: Vec<u8> = palette.iter().flatten().copied().collect();
        let mut encoder = gif::Encoder::new(file, w, h, &flat)?;
        encoder.set_repeat(gif::Repeat::Infinite)?;
        Ok(Self {
            encoder,
            quantizer: Quantizer {
                palette,
                seen: HashMap::new(),
            },
            width: w,
            height: h,
            indices: vec![0; usize::from(w) * usize::from(h)],
            shown: None,
        })
    }

    /// Adds the RGB picture `rgb`, shown for `delay` centiseconds.
    pub(super) fn push(&mut self, rgb: &[u8], delay: u16) -> Result<(), gif::EncodingError> {
        for (i, px) in rgb.chunks_exact(3).enumerate() {
            self.indices[i] = self.quantizer.index([px[0], px[1], px[2]]);
        }
        let (w, h) = (self.width, self.height);
        // After the first frame, only the rectangle that changed, its unchanged pixels
        // transparent (they keep the previous frame's): most of a frame is.
        let mut f = match self.shown.as_ref() {
            None => gif::Frame::from_indexed_pixels(w, h, self.indices.clone(), None),
            Some(before) => changed(before, &self.indices, usize::from(w), usize::from(h)),
        };
        match &mut self.shown {
            Some(before) => before.copy_from_slice(&self.indices),
            None => self.shown = Some(self.indices.clone()),
        }
        f.dispose = gif::DisposalMethod::Keep;
        f.delay = delay.max(1);
        self.encoder.write_frame(&f)
    }

    /// Ends the GIF and flushes the file.
    pub(super) fn finish(self) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let mut inner = self.encoder.into_inner()?;
        inner.flush()?;
        Ok(())
    }
}

/// The part of `now` that differs from `before` (both `w`×`h` palette indices): the bounding
/// rectangle, with pixels that did not change set to the transparent [`KEEP`].
fn changed(before: &[u8], now: &[u8], w: usize, h: usize) -> gif::Frame<'static> {
    let (x0, y0, x1, y1) = bounds(before, now, w, h, 1);
    let mut buffer = Vec::with_capacity((x1 - x0) * (y1 - y0));
    for y in y0..y1 {
        for x in x0..x1 {
            let i = y * w + x;
            buffer.push(if before[i] == now[i] { KEEP } else { now[i] });
        }
    }
    let mut f =
        gif::Frame::from_indexed_pixels((x1 - x0) as u16, (y1 - y0) as u16, buffer, Some(KEEP));
    f.left = x0 as u16;
    f.top = y0 as u16;
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gif_palette_holds_the_chart_colours_exactly() {
        let palette = palette();
        assert_eq!(palette.len(), 256);
        assert_eq!(
            palette[usize::from(KEEP)],
            [255, 0, 255],
            "the transparent index"
        );
        let mut q = Quantizer {
            palette: palette.clone(),
            seen: HashMap::new(),
        };
        for c in PALETTE {
            let i = q.index([c.0, c.1, c.2]);
            assert_eq!(palette[i as usize], [c.0, c.1, c.2]);
        }
    }
}
