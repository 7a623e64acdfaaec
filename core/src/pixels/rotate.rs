//! Quarter turns of whole frames: how a picture stored sideways (phone
//! footage with a rotation tag) and a picture shown upright are matched.

use crate::error::Result;
use crate::frame::{Frame, FrameView};

/// `src` turned counterclockwise by `quarter_turns` x 90 degrees (any
/// integer; negative turns clockwise), as a new frame of the same format.
pub fn rotate_quarter_turns(src: &FrameView<'_>, quarter_turns: i32) -> Result<Frame> {
    let turns = quarter_turns.rem_euclid(4);
    let (w, h) = (src.width() as usize, src.height() as usize);
    let (dw, dh) = if turns % 2 == 1 { (h, w) } else { (w, h) };
    let mut dst = Frame::new(dw as u32, dh as u32, src.format())?;
    let bpp = src.format().bytes_per_pixel();
    let stride = dst.stride();
    let bytes = dst.as_bytes_mut();
    for yd in 0..dh {
        let row = &mut bytes[yd * stride..yd * stride + dw * bpp];
        for (xd, px) in row.chunks_exact_mut(bpp).enumerate() {
            // Where destination pixel (xd, yd) comes from.
            let (xs, ys) = match turns {
                0 => (xd, yd),
                1 => (w - 1 - yd, xd),
                2 => (w - 1 - xd, h - 1 - yd),
                _ => (yd, h - 1 - xd),
            };
            px.copy_from_slice(&src.row_bytes_at(ys as u32)[xs * bpp..(xs + 1) * bpp]);
        }
    }
    Ok(dst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::PixelFormat;

    /// A 3x2 frame whose red channel numbers the pixels 0..6 row by row.
    fn numbered() -> Frame {
        let mut f = Frame::new(3, 2, PixelFormat::Rgba8).unwrap();
        for (i, px) in f.as_bytes_mut().chunks_exact_mut(4).enumerate() {
            px[0] = i as u8;
        }
        f
    }

    fn reds(f: &Frame) -> Vec<u8> {
        f.as_bytes().chunks_exact(4).map(|p| p[0]).collect()
    }

    #[test]
    fn quarter_turns_move_corners_where_a_viewer_expects() {
        let f = numbered();
        // 0 1 2      counterclockwise:  2 5
        // 3 4 5                         1 4
        //                               0 3
        let ccw = rotate_quarter_turns(&f.view(), 1).unwrap();
        assert_eq!((ccw.width(), ccw.height()), (2, 3));
        assert_eq!(reds(&ccw), [2, 5, 1, 4, 0, 3]);
        assert_eq!(reds(&rotate_quarter_turns(&f.view(), 2).unwrap()), [5, 4, 3, 2, 1, 0]);
        assert_eq!(reds(&rotate_quarter_turns(&f.view(), -1).unwrap()), [3, 0, 4, 1, 5, 2]);
        let back = rotate_quarter_turns(&ccw.view(), -1).unwrap();
        assert_eq!(reds(&back), reds(&f));
    }
}
