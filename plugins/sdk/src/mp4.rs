//! What an adapter may need to know of an MP4 without decoding it.

/// The movie's length in seconds from its `moov/mvhd` box, or None when
/// the bytes hold no readable one. Vendors that continue a video
/// sometimes return the parent and the new part as one file; its length
/// against the parent's tells which they did.
pub fn seconds(bytes: &[u8]) -> Option<f64> {
    let moov = child(bytes, b"moov")?;
    let mvhd = child(moov, b"mvhd")?;
    let be32 = |at: usize| Some(u32::from_be_bytes(mvhd.get(at..at + 4)?.try_into().ok()?) as u64);
    let be64 = |at: usize| Some(u64::from_be_bytes(mvhd.get(at..at + 8)?.try_into().ok()?));
    let (timescale, duration) = match mvhd.first()? {
        0 => (be32(12)?, be32(16)?),
        1 => (be32(20)?, be64(24)?),
        _ => return None,
    };
    (timescale > 0).then(|| duration as f64 / timescale as f64)
}

/// The payload of the first box of type `kind` among the boxes in `data`.
fn child<'a>(data: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    let mut at = 0usize;
    while at + 8 <= data.len() {
        let size32 = u32::from_be_bytes(data[at..at + 4].try_into().ok()?) as u64;
        let (size, header) = match size32 {
            0 => ((data.len() - at) as u64, 8),
            1 => (u64::from_be_bytes(data.get(at + 8..at + 16)?.try_into().ok()?), 16),
            n => (n, 8),
        };
        if size < header as u64 || at as u64 + size > data.len() as u64 {
            return None;
        }
        let end = at + size as usize;
        if &data[at + 4..at + 8] == kind {
            return Some(&data[at + header..end]);
        }
        at = end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut b = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(payload);
        b
    }

    #[test]
    fn reads_both_mvhd_versions_and_refuses_truncation() {
        let mut v0 = vec![0u8; 4 + 8];
        v0.extend_from_slice(&1000u32.to_be_bytes());
        v0.extend_from_slice(&7500u32.to_be_bytes());
        let file = [boxed(b"ftyp", b"isom"), boxed(b"moov", &boxed(b"mvhd", &v0))].concat();
        assert_eq!(seconds(&file), Some(7.5));
        let mut v1 = vec![1u8, 0, 0, 0];
        v1.extend_from_slice(&[0u8; 16]);
        v1.extend_from_slice(&90000u32.to_be_bytes());
        v1.extend_from_slice(&450000u64.to_be_bytes());
        assert_eq!(seconds(&boxed(b"moov", &boxed(b"mvhd", &v1))), Some(5.0));
        assert_eq!(seconds(&file[..file.len() - 3]), None);
        assert_eq!(seconds(b"not a video"), None);
    }
}
