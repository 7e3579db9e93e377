//! TLS record costs of rustls's two server APIs, in memory (no sockets):
//! the buffered `ServerConnection` that `src/tls/stream.rs` drives today and
//! the caller-buffered `UnbufferedServerConnection`.
//!
//! Each API gets its own TLS 1.3 connection (TLS13_AES_128_GCM_SHA256,
//! self-signed ECDSA P-256 certificate from rcgen, aws-lc-rs provider) whose
//! handshake with an in-memory rustls client runs once, before measuring.
//! Measured per iteration:
//!
//! * `response_100B`: the server encrypts a 212-byte head + 100-byte body as
//!   one write (one record). Buffered, as stream.rs's `send`/`flush`: one
//!   vectored write of both pieces, then `write_tls` into a reused Vec until
//!   `!wants_write()`. Unbuffered: the pieces gathered into a reused scratch
//!   buffer (`encrypt` takes one slice), then `process_tls_records` ->
//!   `WriteTraffic::encrypt` into a reused buffer.
//! * `response_1MiB`: the same for a 1 MiB body written as 16 writes of 64 KiB.
//! * `upload_1MiB`: the server decrypts 1 MiB sent as 16 KiB records (which
//!   the client encrypts in `iter_batched`'s untimed setup). Buffered: 18 KiB
//!   socket-sized reads through `read_tls` + `process_new_packets` +
//!   `reader().read` into a reused buffer. Unbuffered: `process_tls_records`
//!   over the whole buffer (decrypted in place), each `next_record` payload
//!   copied into a reused buffer.
//!
//! Throughput is plaintext bytes. Run with `cargo bench --bench tls_records`
//! (short run: `cargo bench --bench tls_records -- --warm-up-time 1
//! --measurement-time 3`).

use std::hint::black_box;
use std::io::{IoSlice, Read, Write};
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rustls::crypto::aws_lc_rs;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::server::UnbufferedServerConnection;
use rustls::unbuffered::{ConnectionState, EncryptError, InsufficientSizeError};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};

/// stream.rs's ciphertext buffer: one full record plus overhead.
const CIPHER_BUF: usize = 18 * 1024;
const BODY_PIECE: usize = 64 * 1024;
const LARGE: usize = 1024 * 1024;
const UPLOAD_RECORD: usize = 16 * 1024;

const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\n\
Date: Tue, 14 Apr 2026 09:12:44 GMT\r\n\
Content-Type: application/json\r\n\
Content-Length: 100\r\n\
Cache-Control: no-store\r\n\
Strict-Transport-Security: max-age=63072000\r\n\
X-Content-Type-Options: nosniff\r\n\r\n";
const SMALL_BODY: &[u8; 100] = &[b'x'; 100];

fn configs() -> (Arc<ServerConfig>, Arc<ClientConfig>) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("ECDSA key");
    let params = rcgen::CertificateParams::new(vec!["bench.example".to_owned()]).expect("params");
    let cert = params.self_signed(&key).expect("self-signed certificate");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let server = ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3 server")
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .expect("server certificate");
    let mut provider = aws_lc_rs::default_provider();
    provider.cipher_suites = vec![aws_lc_rs::cipher_suite::TLS13_AES_128_GCM_SHA256];
    let mut roots = RootCertStore::empty();
    roots.add(cert.der().clone()).expect("root");
    let client = ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3 client")
        .with_root_certificates(roots)
        .with_no_client_auth();
    (Arc::new(server), Arc::new(client))
}

/// Everything `conn` wants to send.
fn drain<D>(conn: &mut rustls::ConnectionCommon<D>) -> Vec<u8> {
    let mut out = Vec::new();
    while conn.wants_write() {
        conn.write_tls(&mut out).expect("write_tls");
    }
    out
}

/// stream.rs's read path (socket-sized reads fed through `read_tls`,
/// plaintext taken out after each `process_new_packets`); also the
/// in-memory transport for the handshakes and the checks.
fn buffered_receive<D>(
    tls: &mut rustls::ConnectionCommon<D>,
    cipher: &[u8],
    plain: &mut [u8],
    mut sink: impl FnMut(&[u8]),
) -> usize {
    let mut got = 0;
    for mut read in cipher.chunks(CIPHER_BUF) {
        while !read.is_empty() {
            tls.read_tls(&mut read).expect("read_tls");
            let state = tls.process_new_packets().expect("decrypt");
            let mut avail = state.plaintext_bytes_to_read();
            while avail > 0 {
                let n = tls.reader().read(plain).expect("read plaintext");
                sink(&plain[..n]);
                got += n;
                avail -= n;
            }
        }
    }
    got
}

fn feed<D>(conn: &mut rustls::ConnectionCommon<D>, bytes: &[u8]) {
    buffered_receive(conn, bytes, &mut [0; 4096], |_| ());
}

/// A handshaken buffered server, set up like stream.rs's `TlsConn`.
fn buffered_pair(
    server: &Arc<ServerConfig>,
    cc: &Arc<ClientConfig>,
) -> (ServerConnection, ClientConnection) {
    let mut s = ServerConnection::new(Arc::clone(server)).expect("server connection");
    s.set_buffer_limit(None);
    let name = ServerName::try_from("bench.example").expect("server name");
    let mut c = ClientConnection::new(Arc::clone(cc), name).expect("client connection");
    for _ in 0..10 {
        let to_server = drain(&mut c);
        feed(&mut s, &to_server);
        let to_client = drain(&mut s);
        feed(&mut c, &to_client);
        if to_server.is_empty() && to_client.is_empty() && !c.is_handshaking() {
            return (s, c);
        }
    }
    panic!("buffered handshake did not finish");
}

/// A handshaken unbuffered server, driven through its state machine.
fn unbuffered_pair(
    server: &Arc<ServerConfig>,
    cc: &Arc<ClientConfig>,
) -> (UnbufferedServerConnection, ClientConnection) {
    let mut s = UnbufferedServerConnection::new(Arc::clone(server)).expect("server connection");
    let name = ServerName::try_from("bench.example").expect("server name");
    let mut c = ClientConnection::new(Arc::clone(cc), name).expect("client connection");
    let mut incoming = Vec::new();
    let mut outgoing = vec![0; 64 * 1024];
    let mut pending = 0;
    for _ in 0..10 {
        incoming.extend_from_slice(&drain(&mut c));
        let mut progress = !incoming.is_empty();
        loop {
            let status = s.process_tls_records(&mut incoming);
            let discard = status.discard;
            let more = match status.state.expect("server handshake") {
                ConnectionState::EncodeTlsData(mut e) => {
                    pending += e.encode(&mut outgoing[pending..]).expect("handshake fits");
                    true
                }
                ConnectionState::TransmitTlsData(t) => {
                    feed(&mut c, &outgoing[..pending]);
                    pending = 0;
                    progress = true;
                    t.done();
                    true
                }
                ConnectionState::BlockedHandshake | ConnectionState::WriteTraffic(_) => false,
                other => panic!("unexpected state in handshake: {other:?}"),
            };
            incoming.drain(..discard);
            if !more {
                break;
            }
        }
        if !progress && incoming.is_empty() && !c.is_handshaking() && !c.wants_write() {
            return (s, c);
        }
    }
    panic!("unbuffered handshake did not finish");
}

/// What each server API is asked to do.
trait Api {
    /// Encrypts `pieces` as one write, handing the ciphertext to `sink`.
    fn send(&mut self, pieces: &[&[u8]], sink: &mut dyn FnMut(&[u8])) -> usize;
    /// Decrypts `cipher` (whole records), returning the plaintext length.
    fn receive(&mut self, cipher: &mut [u8]) -> usize;
}

struct Buffered {
    tls: ServerConnection,
    out: Vec<u8>,
    plain: Vec<u8>,
}

impl Api for Buffered {
    /// stream.rs's `send`: one vectored write, then `flush` (records taken
    /// out with `write_tls` until 3 buffers' worth, then sent).
    fn send(&mut self, pieces: &[&[u8]], sink: &mut dyn FnMut(&[u8])) -> usize {
        let mut slices: Vec<IoSlice<'_>> = pieces.iter().map(|p| IoSlice::new(p)).collect();
        let mut rest = &mut slices[..];
        while !rest.is_empty() {
            let mut writer = self.tls.writer();
            let n = writer.write_vectored(rest).expect("write_vectored");
            assert!(n > 0, "rustls refused plaintext");
            IoSlice::advance_slices(&mut rest, n);
        }
        let mut sent = 0;
        loop {
            while self.tls.wants_write() && self.out.len() < 4 * CIPHER_BUF - CIPHER_BUF {
                self.tls.write_tls(&mut self.out).expect("write_tls");
            }
            if self.out.is_empty() {
                return sent;
            }
            sent += self.out.len();
            sink(&self.out);
            self.out.clear();
        }
    }

    fn receive(&mut self, cipher: &mut [u8]) -> usize {
        buffered_receive(&mut self.tls, cipher, &mut self.plain, consume)
    }
}

struct Unbuffered {
    tls: UnbufferedServerConnection,
    out: Vec<u8>,
    scratch: Vec<u8>,
    plain: Vec<u8>,
}

impl Api for Unbuffered {
    /// Gathers the pieces (`encrypt` takes one slice), then encrypts them
    /// into `out`, grown to the size rustls asks for when too small.
    fn send(&mut self, pieces: &[&[u8]], sink: &mut dyn FnMut(&[u8])) -> usize {
        let data = match pieces {
            [one] => *one,
            _ => {
                self.scratch.clear();
                pieces
                    .iter()
                    .for_each(|p| self.scratch.extend_from_slice(p));
                &self.scratch[..]
            }
        };
        let status = self.tls.process_tls_records(&mut []);
        let mut write = match status.state {
            Ok(ConnectionState::WriteTraffic(w)) => w,
            other => panic!("server cannot write: {other:?}"),
        };
        loop {
            match write.encrypt(data, &mut self.out) {
                Ok(n) => {
                    sink(&self.out[..n]);
                    return n;
                }
                Err(EncryptError::InsufficientSize(InsufficientSizeError { required_size })) => {
                    self.out.resize(required_size, 0)
                }
                Err(e) => panic!("encrypt: {e}"),
            }
        }
    }

    /// Decrypts in place, record by record, copying each payload out.
    fn receive(&mut self, cipher: &mut [u8]) -> usize {
        let (mut start, mut got) = (0, 0);
        while start < cipher.len() {
            let status = self.tls.process_tls_records(&mut cipher[start..]);
            let mut discard = status.discard;
            match status.state.expect("decrypt") {
                ConnectionState::ReadTraffic(mut r) => {
                    while let Some(record) = r.next_record() {
                        let record = record.expect("record");
                        discard += record.discard;
                        self.plain.clear();
                        self.plain.extend_from_slice(record.payload);
                        consume(&self.plain);
                        got += self.plain.len();
                    }
                }
                ConnectionState::WriteTraffic(_) if discard == 0 => break,
                ConnectionState::WriteTraffic(_) => {}
                other => panic!("unexpected state while reading: {other:?}"),
            }
            start += discard;
        }
        got
    }
}

/// Where the benchmarks send ciphertext and deliver plaintext.
fn consume(bytes: &[u8]) {
    black_box(bytes);
}

/// Both APIs, handshaken, each with its client.
fn apis() -> [(&'static str, Box<dyn Api>, ClientConnection); 2] {
    let (sc, cc) = configs();
    let (tls, bc) = buffered_pair(&sc, &cc);
    let buffered = Buffered {
        tls,
        out: Vec::with_capacity(CIPHER_BUF),
        plain: vec![0; BODY_PIECE],
    };
    let (tls, uc) = unbuffered_pair(&sc, &cc);
    let unbuffered = Unbuffered {
        tls,
        out: vec![0; 4 * CIPHER_BUF],
        scratch: Vec::with_capacity(1024),
        plain: Vec::with_capacity(UPLOAD_RECORD),
    };
    [
        ("buffered", Box::new(buffered), bc),
        ("unbuffered", Box::new(unbuffered), uc),
    ]
}

/// The client's 1 MiB upload, in 16 KiB records.
fn upload(client: &mut ClientConnection, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + body.len() / UPLOAD_RECORD * 32);
    for record in body.chunks(UPLOAD_RECORD) {
        client.writer().write_all(record).expect("client write");
        while client.wants_write() {
            client.write_tls(&mut out).expect("client write_tls");
        }
    }
    out
}

fn records(c: &mut Criterion) {
    let small: [&[u8]; 2] = [HEAD, SMALL_BODY];
    let small_plain = [HEAD, SMALL_BODY].concat();
    let large = vec![b'y'; LARGE];
    let pieces: Vec<&[u8]> = large.chunks(BODY_PIECE).collect();
    let mut apis = apis();

    // Once, untimed: the client reads back what each API sent.
    for (_, api, client) in &mut apis {
        let writes: [&[&[u8]]; 17] = std::array::from_fn(|i| match i {
            0 => &small[..],
            _ => &pieces[i - 1..i],
        });
        let mut sent = Vec::new();
        for w in writes {
            api.send(w, &mut |b| sent.extend_from_slice(b));
        }
        let mut got = Vec::new();
        buffered_receive(client, &sent, &mut [0; 4096], |p| got.extend_from_slice(p));
        let want = [&small_plain[..], &large].concat();
        assert!(got == want, "client read back wrong plaintext");
    }

    let mut g = c.benchmark_group("response_100B");
    g.throughput(Throughput::Bytes(small_plain.len() as u64));
    for (name, api, _) in &mut apis {
        g.bench_function(*name, |b| {
            b.iter(|| api.send(black_box(&small), &mut consume))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("response_1MiB");
    g.throughput(Throughput::Bytes(LARGE as u64));
    for (name, api, _) in &mut apis {
        g.bench_function(*name, |b| {
            b.iter(|| {
                let sends = pieces
                    .iter()
                    .map(|p| api.send(&[black_box(*p)], &mut consume));
                sends.sum::<usize>()
            })
        });
    }
    g.finish();

    // Records must be decrypted in sequence order: the client encrypts the
    // next 1 MiB in the (untimed) setup of every iteration.
    let body = vec![b'z'; LARGE];
    let mut g = c.benchmark_group("upload_1MiB");
    g.throughput(Throughput::Bytes(LARGE as u64));
    for (name, api, client) in &mut apis {
        g.bench_function(*name, |b| {
            b.iter_batched(
                || upload(client, &body),
                |mut cipher| {
                    assert_eq!(api.receive(&mut cipher), LARGE);
                    cipher
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, records);
criterion_main!(benches);
