//! Interlaced frames, as hosts hand them whole (each effect asks for whole
//! frames): split into their two fields, first in time first, and woven
//! back. OFX counts rows from the bottom: the lower field is rows 0, 2, 4...
//! from the bottom; our frames are stored top-down.

use mattebox_core::Frame;

use crate::host::{FieldOrder, OfxResult};

/// Whether top-down row `i` of a frame `height` rows high belongs to the
/// field that comes first in time.
fn in_first_field(i: usize, height: usize, order: FieldOrder) -> bool {
    let lower = (height - 1 - i).is_multiple_of(2);
    lower == (order == FieldOrder::LowerFirst)
}

/// `frame` as the parts an effect processes on their own: the frame itself
/// when progressive, else its two fields (half-height frames, the first in
/// time first).
pub(crate) fn parts(frame: Frame, order: Option<FieldOrder>) -> OfxResult<Vec<Frame>> {
    let Some(order) = order else { return Ok(vec![frame]) };
    let (h, row) = (frame.height() as usize, frame.stride());
    let mut fields = Vec::with_capacity(2);
    for first in [true, false] {
        let rows: Vec<usize> = (0..h).filter(|&i| in_first_field(i, h, order) == first).collect();
        let mut field = Frame::new(frame.width(), rows.len().max(1) as u32, frame.format())?;
        let out = field.as_bytes_mut();
        for (k, &i) in rows.iter().enumerate() {
            out[k * row..(k + 1) * row].copy_from_slice(&frame.as_bytes()[i * row..(i + 1) * row]);
        }
        fields.push(field);
    }
    Ok(fields)
}

/// The inverse of [`parts`]: a progressive frame as it is, or two fields
/// woven into a frame `height` rows high.
pub(crate) fn join(mut parts: Vec<Frame>, order: Option<FieldOrder>, height: u32) -> OfxResult<Frame> {
    let (Some(order), 2) = (order, parts.len()) else { return Ok(parts.swap_remove(0)) };
    let (first, second) = (&parts[0], &parts[1]);
    let mut frame = Frame::new(first.width(), height, first.format())?;
    let (h, row) = (height as usize, frame.stride());
    let (mut k1, mut k2) = (0, 0);
    for i in 0..h {
        let (source, k) = if in_first_field(i, h, order) { (first, &mut k1) } else { (second, &mut k2) };
        let src = &source.as_bytes()[*k * row..(*k + 1) * row];
        frame.as_bytes_mut()[i * row..(i + 1) * row].copy_from_slice(src);
        *k += 1;
    }
    Ok(frame)
}

/// Field `which` (0: first in time) of `frame` as a full-height frame:
/// its own rows as they are, the other field's rows interpolated from the
/// rows above and below (a bob), so that fields of both parities sit at
/// their true height and can be compared, moved and blended.
pub(crate) fn bob(frame: &Frame, order: FieldOrder, which: usize) -> OfxResult<Frame> {
    let (h, row) = (frame.height() as usize, frame.stride());
    let mut out = Frame::new(frame.width(), frame.height(), frame.format())?;
    let own = |i: usize| in_first_field(i, h, order) == (which == 0);
    let src = frame.as_bytes();
    let mut above = vec![0.0f32; frame.width() as usize * 4];
    let mut below = above.clone();
    let mut mean = above.clone();
    for i in 0..h {
        if own(i) {
            out.as_bytes_mut()[i * row..(i + 1) * row].copy_from_slice(&src[i * row..(i + 1) * row]);
            continue;
        }
        // The nearest rows of the field itself; at the frame's edges, one.
        let up = (0..i).rev().find(|&r| own(r));
        let down = (i + 1..h).find(|&r| own(r));
        let (a, b) = match (up, down) {
            (Some(a), Some(b)) => (a, b),
            (Some(a), None) => (a, a),
            (None, Some(b)) => (b, b),
            (None, None) => (i, i),
        };
        frame.view().read_row_f32(a as u32, &mut above);
        frame.view().read_row_f32(b as u32, &mut below);
        mean.iter_mut().zip(above.iter().zip(&below)).for_each(|(m, (x, y))| *m = (x + y) * 0.5);
        out.view_mut().write_row_f32(i as u32, &mean);
    }
    Ok(out)
}

/// A frame whose first-in-time field comes from `first` and second from
/// `second` (both full height): the rows of each field taken from its own.
pub(crate) fn weave_from(first: &Frame, second: &Frame, order: FieldOrder) -> OfxResult<Frame> {
    let (h, row) = (first.height() as usize, first.stride());
    let mut out = first.clone();
    for i in (0..h).filter(|&i| !in_first_field(i, h, order)) {
        out.as_bytes_mut()[i * row..(i + 1) * row].copy_from_slice(&second.as_bytes()[i * row..(i + 1) * row]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mattebox_core::PixelFormat;

    #[test]
    fn fields_split_by_time_and_weave_back() {
        // Five rows, top-down 0..5: from the bottom, rows 4, 2, 0 (top-down)
        // are the lower field.
        let mut frame = Frame::new(1, 5, PixelFormat::Rgba8).unwrap();
        frame.as_bytes_mut().chunks_exact_mut(4).enumerate().for_each(|(i, p)| p.fill(i as u8));
        let lower_first = parts(frame.clone(), Some(FieldOrder::LowerFirst)).unwrap();
        assert_eq!(lower_first[0].as_bytes().iter().step_by(4).copied().collect::<Vec<_>>(), [0, 2, 4]);
        assert_eq!(lower_first[1].as_bytes().iter().step_by(4).copied().collect::<Vec<_>>(), [1, 3]);
        let upper_first = parts(frame.clone(), Some(FieldOrder::UpperFirst)).unwrap();
        assert_eq!(upper_first[0].as_bytes().iter().step_by(4).copied().collect::<Vec<_>>(), [1, 3]);
        for order in [FieldOrder::LowerFirst, FieldOrder::UpperFirst] {
            let woven = join(parts(frame.clone(), Some(order)).unwrap(), Some(order), 5).unwrap();
            assert_eq!(woven.as_bytes(), frame.as_bytes());
        }
        // A bob keeps its own rows and fills the others from its neighbours.
        let bobbed = bob(&frame, FieldOrder::LowerFirst, 0).unwrap();
        assert_eq!(bobbed.as_bytes().iter().step_by(4).copied().collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
        let bobbed = bob(&frame, FieldOrder::LowerFirst, 1).unwrap();
        assert_eq!(bobbed.as_bytes().iter().step_by(4).copied().collect::<Vec<_>>(), [1, 1, 2, 3, 3]);
        let woven = weave_from(&frame, &bobbed, FieldOrder::LowerFirst).unwrap();
        assert_eq!(woven.as_bytes().iter().step_by(4).copied().collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
        let progressive = parts(frame.clone(), None).unwrap();
        assert_eq!(progressive.len(), 1);
        assert_eq!(join(progressive, None, 5).unwrap().as_bytes(), frame.as_bytes());
    }
}
