use super::*;

const BODY: &[u8] = b"5;name=value;q=\"a \\\" b\"\r\nhello\r\n\
    1A ; ext\r\nabcdefghijklmnopqrstuvwxyz\r\n\
    000001\r\n!\r\n\
    0;last\r\nTrailer-One: x\r\nChecksum: \t abc \r\n\r\n";
const PAYLOAD: &[u8] = b"helloabcdefghijklmnopqrstuvwxyz!";

fn decode_all(input: &[u8]) -> Result<(Vec<u8>, Progress), ChunkedError> {
    let mut out = Vec::new();
    let p = ChunkedDecoder::new().decode_into(input, &mut out)?;
    Ok((out, p))
}

fn decode_err(input: &[u8]) -> ChunkedError {
    match decode_all(input) {
        Err(e) => e,
        Ok((_, p)) => panic!("accepted {:?}: {p:?}", String::from_utf8_lossy(input)),
    }
}

/// Reframes `input` delivered as the pieces ending at `cuts`, the way a
/// session does: the read buffer grows, consumed bytes are not re-fed.
fn reframe_in_pieces(input: &[u8], cuts: &[usize]) -> (Vec<u8>, u64, usize) {
    let mut dec = ChunkedDecoder::new();
    let mut wire = Vec::new();
    let (mut consumed, mut data) = (0, 0);
    for &end in cuts.iter().chain([input.len()].iter()) {
        let mut g = Gather::new();
        let p = dec.reframe(&input[..end], consumed, &mut g).unwrap();
        wire.extend_from_slice(&g.to_vec(&input[..end]));
        consumed += p.consumed;
        data += p.data;
        if p.done {
            break;
        }
    }
    assert!(dec.is_done());
    (wire, data, consumed)
}

#[test]
fn decodes_extensions_and_trailers() {
    let (out, p) = decode_all(BODY).unwrap();
    assert_eq!(out, PAYLOAD);
    assert_eq!(
        p,
        Progress {
            consumed: BODY.len(),
            data: PAYLOAD.len() as u64,
            done: true
        }
    );
}

#[test]
fn reframes_payload_only() {
    let mut g = Gather::new();
    let p = ChunkedDecoder::new().reframe(BODY, 0, &mut g).unwrap();
    assert!(p.done);
    assert_eq!(
        g.to_vec(BODY),
        b"5\r\nhello\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n1\r\n!\r\n0\r\n\r\n"
    );
}

#[test]
fn every_split_gives_the_same_payload() {
    for cut in 0..=BODY.len() {
        let (wire, data, consumed) = reframe_in_pieces(BODY, &[cut]);
        assert_eq!(consumed, BODY.len(), "cut {cut}");
        assert_eq!(data, PAYLOAD.len() as u64, "cut {cut}");
        // The re-framed output is itself valid chunked with the same payload.
        let (again, p) = decode_all(&wire).unwrap();
        assert_eq!(again, PAYLOAD, "cut {cut}");
        assert_eq!(p.consumed, wire.len());

        let mut dec = ChunkedDecoder::new();
        let mut out = Vec::new();
        dec.decode_into(&BODY[..cut], &mut out).unwrap();
        dec.decode_into(&BODY[cut..], &mut out).unwrap();
        assert_eq!(out, PAYLOAD, "cut {cut}");
    }
}

#[test]
fn byte_at_a_time() {
    let cuts: Vec<usize> = (1..BODY.len()).collect();
    let (wire, data, _) = reframe_in_pieces(BODY, &cuts);
    assert_eq!(data, PAYLOAD.len() as u64);
    assert_eq!(decode_all(&wire).unwrap().0, PAYLOAD);
}

#[test]
fn leaves_the_next_message_unconsumed() {
    let mut input = BODY.to_vec();
    input.extend_from_slice(b"GET / HTTP/1.1\r\n");
    let mut g = Gather::new();
    let mut dec = ChunkedDecoder::new();
    let p = dec.reframe(&input, 0, &mut g).unwrap();
    assert!(p.done);
    assert_eq!(p.consumed, BODY.len());
    // Once done, nothing more is consumed or produced.
    let mut g2 = Gather::new();
    let p2 = dec.reframe(&input, BODY.len(), &mut g2).unwrap();
    assert_eq!(
        p2,
        Progress {
            consumed: 0,
            data: 0,
            done: true
        }
    );
    assert!(g2.is_empty());
}

#[test]
fn start_offset_is_respected() {
    let mut input = b"skip".to_vec();
    input.extend_from_slice(b"3\r\nabc\r\n0\r\n\r\n");
    let mut g = Gather::new();
    let p = ChunkedDecoder::new().reframe(&input, 4, &mut g).unwrap();
    assert_eq!(p.consumed, input.len() - 4);
    assert_eq!(g.to_vec(&input), b"3\r\nabc\r\n0\r\n\r\n");
}

#[test]
fn sizes() {
    assert_eq!(decode_all(b"ffffffffffffffff\r\n").unwrap().1.consumed, 18);
    assert!(decode_all(b"0000000000000000\r\n\r\n").unwrap().1.done);
    assert_eq!(
        decode_err(b"00000000000000001\r\n"),
        ChunkedError::SizeOverflow
    );
    assert_eq!(
        decode_err(b"10000000000000000\r\n"),
        ChunkedError::SizeOverflow
    );
    assert_eq!(decode_err(b"0x10\r\n"), ChunkedError::InvalidSize);
    assert_eq!(decode_err(b"-1\r\n"), ChunkedError::InvalidSize);
    assert_eq!(decode_err(b"+1\r\n"), ChunkedError::InvalidSize);
    assert_eq!(decode_err(b"\r\n"), ChunkedError::InvalidSize);
    assert_eq!(decode_err(b";a\r\n"), ChunkedError::InvalidSize);
    assert_eq!(decode_err(b" 1\r\n"), ChunkedError::InvalidSize);
    assert_eq!(decode_err(b"g\r\n"), ChunkedError::InvalidSize);
}

#[test]
fn line_endings() {
    assert_eq!(decode_err(b"5\r\nhelloXX"), ChunkedError::MissingCrlf);
    assert_eq!(decode_err(b"5\r\nhello\rX"), ChunkedError::MissingCrlf);
    assert_eq!(decode_err(b"5\nhello\r\n"), ChunkedError::MissingCrlf);
    assert_eq!(
        decode_err(b"5\r\nhello\n0\r\n\r\n"),
        ChunkedError::MissingCrlf
    );
    assert_eq!(decode_err(b"5\rhello"), ChunkedError::MissingCrlf);
    assert_eq!(decode_err(b"0\r\n\n"), ChunkedError::MissingCrlf);
    assert_eq!(decode_err(b"0\r\n\rX"), ChunkedError::MissingCrlf);
    assert_eq!(decode_err(b"0\r\nA: b\n\r\n"), ChunkedError::MissingCrlf);
    assert_eq!(decode_err(b"0;a=b\n"), ChunkedError::MissingCrlf);
}

#[test]
fn extensions() {
    for good in [
        &b"1;a\r\nx\r\n0\r\n\r\n"[..],
        b"1 ; a = b ;c\r\nx\r\n0\r\n\r\n",
        b"1;a=\"\\\"\"\r\nx\r\n0\r\n\r\n",
    ] {
        assert_eq!(
            decode_all(good).unwrap().0,
            b"x",
            "{}",
            String::from_utf8_lossy(good)
        );
    }
    for bad in [
        &b"1;\r\n"[..],
        b"1;=b\r\n",
        b"1;a=\r\n",
        b"1;a b\r\n",
        b"1 \r\n",
        b"1;a \r\n",
        b"1;a=b \r\n",
        b"1;a=\"b\r\n",
        b"1;a=\"\x01\"\r\n",
        b"1;a=b\"c\"\r\n",
        b"1;a=\"b\"c\r\n",
        b"1;a@b\r\n",
    ] {
        assert_eq!(
            decode_err(bad),
            ChunkedError::InvalidExtension,
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn extension_bytes_are_bounded_per_body() {
    let long = format!("1;a={}\r\nx\r\n", "b".repeat(MAX_EXTENSIONS));
    assert_eq!(decode_err(long.as_bytes()), ChunkedError::ExtensionTooLong);
    // Many small extensions add up too.
    let many = "1;abcdefghijklmno\r\nx\r\n".repeat(MAX_EXTENSIONS / 16 + 1);
    assert_eq!(decode_err(many.as_bytes()), ChunkedError::ExtensionTooLong);
    let fits = format!("1;a={}\r\nx\r\n0\r\n\r\n", "b".repeat(MAX_EXTENSIONS - 3));
    assert!(decode_all(fits.as_bytes()).unwrap().1.done);
}

#[test]
fn trailers() {
    assert_eq!(
        decode_err(b"0\r\n : x\r\n\r\n"),
        ChunkedError::InvalidTrailer
    );
    assert_eq!(
        decode_err(b"0\r\nA : x\r\n\r\n"),
        ChunkedError::InvalidTrailer
    );
    assert_eq!(
        decode_err(b"0\r\nA: x\r\n folded\r\n\r\n"),
        ChunkedError::InvalidTrailer
    );
    assert_eq!(
        decode_err(b"0\r\nA: \x00\r\n\r\n"),
        ChunkedError::InvalidTrailer
    );
    assert_eq!(
        decode_err(b"0\r\nNoColon\r\n\r\n"),
        ChunkedError::InvalidTrailer
    );
    assert_eq!(decode_err(b"0\r\n:x\r\n\r\n"), ChunkedError::InvalidTrailer);
    let big = format!("0\r\nA: {}\r\n\r\n", "b".repeat(MAX_TRAILERS));
    assert_eq!(decode_err(big.as_bytes()), ChunkedError::TrailersTooLarge);
    let fits = format!("0\r\nA: {}\r\n\r\n", "b".repeat(MAX_TRAILERS - 7));
    assert!(decode_all(fits.as_bytes()).unwrap().1.done);
}

#[test]
fn large_chunk_is_streamed_in_ranges() {
    let mut dec = ChunkedDecoder::new();
    let mut g = Gather::new();
    let head = b"100000\r\n";
    let p = dec.reframe(head, 0, &mut g).unwrap();
    assert_eq!((p.consumed, p.data, p.done), (head.len(), 0, false));
    assert!(g.is_empty());
    let piece = vec![b'z'; 4096];
    let p = dec.reframe(&piece, 0, &mut g).unwrap();
    assert_eq!(p.data, 4096);
    assert_eq!(g.to_vec(&piece).len(), 4096 + "1000\r\n\r\n".len());
}

#[test]
fn size_lines_are_lowercase_hex() {
    let mut line = [0u8; 18];
    assert_eq!(size_line(1, &mut line), b"1\r\n");
    assert_eq!(size_line(0x1a2b, &mut line), b"1a2b\r\n");
    assert_eq!(size_line(u64::MAX, &mut line), b"ffffffffffffffff\r\n");
    assert_eq!(size_line(0, &mut line), b"0\r\n");
}
