//! A write assembled from ranges of a buffer portier already holds (the
//! client's read buffer, say) plus a few bytes portier adds (new header
//! lines, chunk-size lines). The connection layer writes it with one
//! `writev`, so forwarded bytes are never copied into a second buffer.

use std::ops::Range;

/// One piece of a gathered write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// `base[start..end]`: bytes of the buffer handed to the write.
    Base { start: u32, end: u32 },
    /// `extra[start..end]`: bytes portier added.
    Extra { start: u32, end: u32 },
}

/// The bytes portier adds and the order in which all pieces are written.
#[derive(Clone, Debug, Default)]
pub struct Gather {
    pub extra: Vec<u8>,
    pub parts: Vec<Part>,
}

impl Gather {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn clear(&mut self) {
        self.extra.clear();
        self.parts.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Appends `base[range]`, merged with the previous piece when adjacent.
    pub fn push_base(&mut self, range: Range<usize>) {
        if range.is_empty() {
            return;
        }
        let (start, end) = (range.start as u32, range.end as u32);
        if let Some(Part::Base { end: prev_end, .. }) = self.parts.last_mut() {
            if *prev_end == start {
                *prev_end = end;
                return;
            }
        }
        self.parts.push(Part::Base { start, end });
    }

    /// Appends bytes portier adds, merged with the previous piece when adjacent.
    pub fn push_extra(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let start = self.extra.len() as u32;
        self.extra.extend_from_slice(bytes);
        let end = self.extra.len() as u32;
        if let Some(Part::Extra { end: prev_end, .. }) = self.parts.last_mut() {
            if *prev_end == start {
                *prev_end = end;
                return;
            }
        }
        self.parts.push(Part::Extra { start, end });
    }

    /// Total number of bytes the write will send.
    pub fn len(&self) -> usize {
        self.parts
            .iter()
            .map(|p| match *p {
                Part::Base { start, end } | Part::Extra { start, end } => (end - start) as usize,
            })
            .sum()
    }

    /// The bytes as they will appear on the wire (tests, and the rare
    /// copy-out path).
    pub fn to_vec(&self, base: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len());
        for p in &self.parts {
            match *p {
                Part::Base { start, end } => {
                    out.extend_from_slice(&base[start as usize..end as usize])
                }
                Part::Extra { start, end } => {
                    out.extend_from_slice(&self.extra[start as usize..end as usize])
                }
            }
        }
        out
    }
}

/// Per-worker stack of cleared gathers, so that idle connections hold none
/// and busy ones do not allocate one per request.
pub struct GatherPool {
    free: super::buf::Kept<Gather>,
}

impl GatherPool {
    pub fn new(max_kept: usize) -> Self {
        Self {
            free: super::buf::Kept::new(max_kept),
        }
    }

    pub fn take(&self) -> Gather {
        self.free.pop().unwrap_or_default()
    }

    /// Keeps `g` for reuse unless the pool is full or `g` never allocated.
    pub fn give(&self, mut g: Gather) {
        if g.extra.capacity() == 0 && g.parts.capacity() == 0 {
            return;
        }
        g.clear();
        self.free.push(g);
    }

    /// Frees the descriptions nobody used since the last trim.
    pub fn trim(&self) {
        self.free.trim();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_adjacent_pieces_and_reassembles() {
        let base = b"GET / HTTP/1.1\r\nHost: a\r\nTE: x\r\n\r\n";
        let mut g = Gather::new();
        g.push_base(0..16);
        g.push_base(16..25);
        g.push_extra(b"X-A: 1\r\n");
        g.push_extra(b"\r\n");
        assert_eq!(g.parts.len(), 2);
        assert_eq!(
            g.to_vec(base),
            b"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\r\n"
        );
        assert_eq!(g.len(), 35);
    }
}
