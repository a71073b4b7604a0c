//! The replay as an animated PNG: exact colours and frame rate; after the first frame only
//! the rectangle that changed, its unchanged pixels transparent and blended over the
//! previous picture.

use std::io::BufWriter;

type File = BufWriter<std::fs::File>;

/// An APNG being written, frame by frame.
pub(super) struct ApngSink {
    writer: png::Writer<File>,
    width: usize,
    height: usize,
    /// The picture as shown after the previous frame (RGB).
    shown: Option<Vec<u8>>,
}

impl ApngSink {
    /// Starts an APNG of `frames` frames of `w`×`h` pixels at `fps` in `file`.
    pub(super) fn create(
        file: File,
        (w, h): (u32, u32),
        frames: u32,
        fps: u16,
    ) -> Result<Self, png::EncodingError> {
        // RGBA: after the first frame, pixels that did not change are transparent and
        // blended over the previous picture, as in the GIF.
        let mut encoder = png::Encoder::new(file, w, h);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_animated(frames, 0)?;
        encoder.set_frame_delay(1, fps)?;
        Ok(Self {
            writer: encoder.write_header()?,
            width: w as usize,
            height: h as usize,
            shown: None,
        })
    }

    /// Adds the RGB picture `rgb`.
    pub(super) fn push(&mut self, rgb: &[u8]) -> Result<(), png::EncodingError> {
        let (w, h) = (self.width, self.height);
        let (x0, y0, x1, y1) = match self.shown.as_deref() {
            None => (0, 0, w, h),
            Some(before) => bounds(before, rgb, w, h, 3),
        };
        let mut rgba = Vec::with_capacity((x1 - x0) * (y1 - y0) * 4);
        for y in y0..y1 {
            let row = (y * w + x0) * 3..(y * w + x1) * 3;
            let now = rgb[row.clone()].chunks_exact(3);
            match self.shown.as_deref() {
                None => now.for_each(|px| rgba.extend_from_slice(&[px[0], px[1], px[2], 255])),
                Some(before) => {
                    for (px, was) in now.zip(before[row].chunks_exact(3)) {
                        rgba.extend_from_slice(&if px == was {
                            [0; 4]
                        } else {
                            [px[0], px[1], px[2], 255]
                        });
                    }
                }
            }
        }
        let writer = &mut self.writer;
        // Position (0, 0) first: the size is checked against the current position.
        writer.reset_frame_position()?;
        writer.set_frame_dimension((x1 - x0) as u32, (y1 - y0) as u32)?;
        writer.set_frame_position(x0 as u32, y0 as u32)?;
        writer.set_dispose_op(png::DisposeOp::None)?;
        writer.set_blend_op(if self.shown.is_some() {
            png::BlendOp::Over
        } else {
            png::BlendOp::Source
        })?;
        writer.write_image_data(&rgba)?;
        match &mut self.shown {
            Some(before) => before.copy_from_slice(rgb),
            None => self.shown = Some(rgb.to_vec()),
        }
        Ok(())
    }

    /// Ends the APNG.
    pub(super) fn finish(self) -> Result<(), png::EncodingError> {
        self.writer.finish()
    }
}

/// The rectangle `(x0, y0, x1, y1)` (ends excluded) holding every pixel of `now` that differs
/// from `before`, both `w`×`h` pixels of `bytes` bytes; `(0, 0, 1, 1)` when none does.
pub(super) fn bounds(
    before: &[u8],
    now: &[u8],
    w: usize,
    h: usize,
    bytes: usize,
) -> (usize, usize, usize, usize) {
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
    let stride = w * bytes;
    for (y, (b, n)) in before
        .chunks_exact(stride)
        .zip(now.chunks_exact(stride))
        .enumerate()
        .take(h)
    {
        // Whole rows compare as one memcmp; most rows of a frame are unchanged.
        if b == n {
            continue;
        }
        let first = b.iter().zip(n).position(|(p, q)| p != q).unwrap_or(0);
        let last = b.iter().zip(n).rposition(|(p, q)| p != q).unwrap_or(0);
        x0 = x0.min(first / bytes);
        x1 = x1.max(last / bytes + 1);
        y0 = y0.min(y);
        y1 = y + 1;
    }
    if x0 >= x1 {
        // Nothing changed: one (transparent) pixel.
        (0, 0, 1, 1)
    } else {
        (x0, y0, x1, y1)
    }
}
