//! Listener TLS: both ways of writing certificates, defaults, path
//! resolution, and every rejection with its line:col.

use super::tests::{check_cases, fails, load, BASE};
use super::*;

fn cert(cert: &str, key: &str, ocsp: Option<&str>) -> CertificateConfig {
    CertificateConfig {
        cert: cert.into(),
        key: key.into(),
        ocsp: ocsp.map(PathBuf::from),
    }
}

/// The TLS settings of the listener appended to `BASE` (listener 1).
fn tls_of(body: &str) -> ListenerTls {
    let c = load(&format!("{BASE}{body}\n"));
    assert_eq!(c.listeners[0].tls, None, "the BASE listener is plaintext");
    c.listeners[1].tls.clone().expect("a TLS listener")
}

#[test]
fn inline_tls_with_defaults() {
    let tls = tls_of(
        r#"[[listener]]
address = "0.0.0.0:443"
tls = { cert = "/etc/portier/fullchain.pem", key = "/etc/portier/key.pem", ocsp = "/etc/portier/ocsp.der" }"#,
    );
    assert_eq!(
        tls,
        ListenerTls {
            certificates: vec![cert(
                "/etc/portier/fullchain.pem",
                "/etc/portier/key.pem",
                Some("/etc/portier/ocsp.der"),
            )],
            default_certificate: DefaultCertificateConfig::SelfSigned,
            policy: TlsPolicyConfig::Intermediate,
            session_tickets: false,
            handshake_timeout: Duration::from_secs(10),
        }
    );
    assert_eq!(DefaultCertificateConfig::default(), tls.default_certificate);
    assert_eq!(TlsPolicyConfig::default(), tls.policy);
    // Without ocsp; relative paths are joined to "." by load_str.
    let tls = tls_of("[[listener]]\naddress = \"0.0.0.0:443\"\ntls = { cert = \"fullchain.pem\", key = \"k/key.pem\" }");
    assert_eq!(
        tls.certificates,
        [cert("./fullchain.pem", "./k/key.pem", None)]
    );
    // A name on the inline table can be the default.
    let tls = tls_of("[[listener]]\naddress = \"0.0.0.0:443\"\ndefault_certificate = \"main\"\ntls = { cert = \"/c\", key = \"/k\", name = \"main\" }");
    assert_eq!(tls.default_certificate, DefaultCertificateConfig::Named(0));
}

#[test]
fn certificate_tables_with_every_key() {
    let tls = tls_of(
        r#"[[listener]]
address = "[::]:443"
default_certificate = "self-signed"
tls_policy = "intermediate"
session_tickets = false
tls_handshake_timeout = "10s"
[[listener.certificate]]
cert = "rsa.pem"
key = "rsa.key"
[[listener.certificate]]
cert = "ecdsa.pem"
key = "ecdsa.key"
ocsp = "ecdsa.ocsp.der""#,
    );
    assert_eq!(
        tls,
        ListenerTls {
            certificates: vec![
                cert("./rsa.pem", "./rsa.key", None),
                cert("./ecdsa.pem", "./ecdsa.key", Some("./ecdsa.ocsp.der")),
            ],
            default_certificate: DefaultCertificateConfig::SelfSigned,
            policy: TlsPolicyConfig::Intermediate,
            session_tickets: false,
            handshake_timeout: Duration::from_secs(10),
        }
    );
    let tls = tls_of(
        r#"[[listener]]
address = "[::]:443"
default_certificate = "ecdsa"
tls_policy = "modern"
session_tickets = true
tls_handshake_timeout = "500ms"
[[listener.certificate]]
cert = "/rsa.pem"
key = "/rsa.key"
name = "rsa"
[[listener.certificate]]
name = "ecdsa"
cert = "/ecdsa.pem"
key = "/ecdsa.key""#,
    );
    assert_eq!(tls.default_certificate, DefaultCertificateConfig::Named(1));
    assert_eq!(tls.policy, TlsPolicyConfig::Modern);
    assert!(tls.session_tickets);
    assert_eq!(tls.handshake_timeout, Duration::from_millis(500));
    assert_eq!(tls.certificates[1], cert("/ecdsa.pem", "/ecdsa.key", None));
    let tls = tls_of("[[listener]]\naddress = \"[::]:443\"\ndefault_certificate = \"reject\"\n[[listener.certificate]]\ncert = \"/c\"\nkey = \"/k\"");
    assert_eq!(tls.default_certificate, DefaultCertificateConfig::Reject);
    // An inline array of tables is the same thing.
    let tls = tls_of(
        "[[listener]]\naddress = \"[::]:443\"\ncertificate = [{ cert = \"/c\", key = \"/k\" }]",
    );
    assert_eq!(tls.certificates, [cert("/c", "/k", None)]);
}

#[test]
fn self_signed_alone_is_a_tls_listener() {
    let tls = tls_of("[[listener]]\naddress = \"[::]:443\"\ndefault_certificate = \"self-signed\"\ntls_policy = \"modern\"");
    assert!(tls.certificates.is_empty());
    assert_eq!(
        tls.default_certificate,
        DefaultCertificateConfig::SelfSigned
    );
    assert_eq!(tls.policy, TlsPolicyConfig::Modern);
}

#[test]
fn certificates_attach_to_their_own_listener() {
    let c = load(&format!(
        r#"{BASE}[[listener]]
address = "127.0.0.1:443"
[[listener.certificate]]
cert = "/a1.pem"
key = "/a1.key"
[[listener.certificate]]
cert = "/a2.pem"
key = "/a2.key"
name = "a2"

[[listener]]
address = "127.0.0.1:8443"
default_certificate = "b1"
[[listener.certificate]]
cert = "/b1.pem"
key = "/b1.key"
name = "b1"

[[listener]]
address = "127.0.0.1:8081"
"#
    ));
    let tls: Vec<Option<&ListenerTls>> = c.listeners.iter().map(|l| l.tls.as_ref()).collect();
    assert_eq!(tls.len(), 4);
    assert!(tls[0].is_none() && tls[3].is_none());
    let (a, b) = (tls[1].unwrap(), tls[2].unwrap());
    assert_eq!(
        a.certificates,
        [
            cert("/a1.pem", "/a1.key", None),
            cert("/a2.pem", "/a2.key", None)
        ]
    );
    assert_eq!(a.default_certificate, DefaultCertificateConfig::SelfSigned);
    assert_eq!(b.certificates, [cert("/b1.pem", "/b1.key", None)]);
    assert_eq!(b.default_certificate, DefaultCertificateConfig::Named(0));
    assert_eq!(c.listeners[2].address, "127.0.0.1:8443".parse().unwrap());
}

#[test]
fn relative_paths_resolve_against_the_base_dir() {
    let text = format!("{BASE}[[listener]]\naddress = \"[::]:443\"\ntls = {{ cert = \"certs/a.pem\", key = \"/abs/a.key\", ocsp = \"../a.der\" }}\n");
    let c = load_str_in(&text, "t.toml", Path::new("/etc/portier")).unwrap();
    let tls = c.listeners[1].tls.as_ref().unwrap();
    assert_eq!(
        tls.certificates,
        [cert(
            "/etc/portier/certs/a.pem",
            "/abs/a.key",
            Some("/etc/portier/../a.der")
        )]
    );
    assert_eq!(
        load_str(&text, "t.toml"),
        load_str_in(&text, "t.toml", Path::new("."))
    );

    // load_file uses the file's directory; the files need not exist.
    let dir = std::env::temp_dir().join(format!("portier-tls-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("p.toml");
    std::fs::write(&path, &text).unwrap();
    let c = load_file(&path).unwrap();
    let tls = c.listeners[1].tls.as_ref().unwrap();
    assert_eq!(tls.certificates[0].cert, dir.join("certs/a.pem"));
    assert_eq!(tls.certificates[0].key, PathBuf::from("/abs/a.key"));
    assert_eq!(tls.certificates[0].ocsp, Some(dir.join("../a.der")));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Rejected listeners, in the format of `tests::CASES`: `BASE` (9 lines)
/// followed by the lines under each `## line:col message-fragment`.
const CASES: &str = r#"
## 12:7 listener.tls cannot be combined with [[listener.certificate]]
[[listener]]
address = "127.0.0.1:443"
tls = { cert = "a.pem", key = "a.key" }
[[listener.certificate]]
cert = "b.pem"
key = "b.key"
## 12:14 listener.tls_policy only applies to TLS listeners; add tls = { cert = ..., key = ... }
[[listener]]
address = "127.0.0.1:443"
tls_policy = "modern"
## 12:23 listener.default_certificate only applies to TLS listeners
[[listener]]
address = "127.0.0.1:443"
default_certificate = "reject"
## 12:23 listener.default_certificate only applies to TLS listeners
[[listener]]
address = "127.0.0.1:443"
default_certificate = "main"
## 12:19 listener.session_tickets only applies to TLS listeners
[[listener]]
address = "127.0.0.1:443"
session_tickets = false
## 12:25 listener.tls_handshake_timeout only applies to TLS listeners
[[listener]]
address = "127.0.0.1:443"
tls_handshake_timeout = "5s"
session_tickets = true
## 12:23 listener.default_certificate: unknown certificate name "main"; expected "self-signed", "reject" or a certificate's name (defined names: rsa, ecdsa)
[[listener]]
address = "127.0.0.1:443"
default_certificate = "main"
[[listener.certificate]]
cert = "a.pem"
key = "a.key"
name = "rsa"
[[listener.certificate]]
cert = "c.pem"
key = "c.key"
[[listener.certificate]]
cert = "b.pem"
key = "b.key"
name = "ecdsa"
## 12:23 unknown certificate name "Self-Signed"; expected "self-signed", "reject" or a certificate's name (no certificate has a name = "..." key)
[[listener]]
address = "127.0.0.1:443"
default_certificate = "Self-Signed"
tls = { cert = "a.pem", key = "a.key" }
## 19:8 duplicate certificate name "rsa" (first defined on line 15)
[[listener]]
address = "127.0.0.1:443"
[[listener.certificate]]
cert = "a.pem"
key = "a.key"
name = "rsa"
[[listener.certificate]]
cert = "b.pem"
key = "b.key"
name = "rsa"
## 12:47 listener.tls.name: "reject" is reserved for default_certificate
[[listener]]
address = "127.0.0.1:443"
tls = { cert = "a.pem", key = "a.key", name = "reject" }
## 15:8 listener.certificate.name: invalid certificate name "a b"
[[listener]]
address = "127.0.0.1:443"
[[listener.certificate]]
cert = "a.pem"
key = "a.key"
name = "a b"
## 12:14 listener.tls_policy must be "intermediate" or "modern", got "old"
[[listener]]
address = "127.0.0.1:443"
tls_policy = "old"
tls = { cert = "a.pem", key = "a.key" }
## 12:25 listener.tls_handshake_timeout must be greater than zero
[[listener]]
address = "127.0.0.1:443"
tls_handshake_timeout = "0s"
default_certificate = "self-signed"
## 12:25 listener.tls_handshake_timeout: invalid duration "10": missing unit
[[listener]]
address = "127.0.0.1:443"
tls_handshake_timeout = 10
default_certificate = "self-signed"
## 12:19 invalid type: string "yes", expected a boolean
[[listener]]
address = "127.0.0.1:443"
session_tickets = "yes"
## 12:16 listener.tls.cert is empty; expected the path of a PEM certificate chain
[[listener]]
address = "127.0.0.1:443"
tls = { cert = "", key = "a.key" }
## 14:7 listener.certificate.key is empty; expected the path of a PEM private key
[[listener]]
address = "127.0.0.1:443"
[[listener.certificate]]
cert = "a.pem"
key = ""
## 12:39 listener.tls.ocsp is empty; expected the path of a DER OCSP response
[[listener]]
address = "127.0.0.1:443"
tls = { cert = "a", key = "b", ocsp = "" }
## 12:32 unknown field `chain`, expected one of `cert`, `key`, `ocsp`, `name`
[[listener]]
address = "127.0.0.1:443"
tls = { cert = "a", key = "b", chain = "c" }
## 15:1 unknown field `chain`
[[listener]]
address = "127.0.0.1:443"
[[listener.certificate]]
cert = "a.pem"
key = "a.key"
chain = "c.pem"
## 12:7 missing field `key`
[[listener]]
address = "127.0.0.1:443"
tls = { cert = "a.pem" }
## 12:7 expected a table such as { cert = "fullchain.pem", key = "key.pem" }
[[listener]]
address = "127.0.0.1:443"
tls = "a.pem"
## 12:15 write [[listener.certificate]], not [listener.certificate]
[[listener]]
address = "127.0.0.1:443"
certificate = { cert = "a.pem", key = "a.key" }
## 12:1 write [[listener.certificate]], not [listener.certificate]
[[listener]]
address = "127.0.0.1:443"
[listener.certificate]
cert = "a.pem"
key = "a.key"
## 12:12 unknown field `certificates`
[[listener]]
address = "127.0.0.1:443"
[[listener.certificates]]
cert = "a.pem"
key = "a.key"
"#;

#[test]
fn tls_rejections_name_line_and_column() {
    assert_eq!(check_cases(CASES), 25);
    // The same checks apply to the first listener of a file.
    fails(
        "[[listener]]\naddress = \"127.0.0.1:1\"\nsession_tickets = true\n",
        3,
        19,
        "listener.session_tickets only applies to TLS listeners",
    );
}
