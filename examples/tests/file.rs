//! file-send to file-receive on loopback: the file arrives whole, its
//! SHA-256 checked on both sides, and can be downloaded back.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// file-receive on a free loopback port, killed (by PID) when dropped,
/// with its folder removed.
struct Receiver {
    child: Child,
    base: String,
    folder: PathBuf,
}

impl Receiver {
    fn start(name: &str) -> Self {
        let folder = std::env::temp_dir().join(format!("eddy-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&folder);
        let mut child = Command::new(env!("CARGO_BIN_EXE_file-receive"))
            .args(["--listen", "127.0.0.1:0", "--max-size", "4000000", "--out"])
            .arg(&folder)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start file-receive");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        let base = first
            .strip_prefix("file-receive listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .trim_end_matches('/')
            .to_owned();
        // Keep reading its stdout so its writes never block or fail.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            base,
            folder,
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

fn send(receiver: &Receiver, path: &std::path::Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_file-send"))
        .args([
            "--url",
            &format!("{}/offer", receiver.base),
            "--timeout",
            "60",
        ])
        .arg(path)
        .output()
        .expect("run file-send");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn a_file_arrives_whole_and_downloads_back() {
    let receiver = Receiver::start("file-ok");
    let data: Vec<u8> = (0..3_000_017u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let source = std::env::temp_dir().join(format!("eddy-send-{}.bin", std::process::id()));
    std::fs::write(&source, &data).expect("write the source");
    let (ok, stdout) = send(&receiver, &source);
    let name = source
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned();
    let _ = std::fs::remove_file(&source);
    assert!(ok, "file-send failed: {stdout}");
    assert!(
        stdout.starts_with(&format!("file-send: OK {name}: 3000017 B in ")),
        "{stdout}"
    );
    assert!(stdout.contains("checked by the receiver"), "{stdout}");

    let kept = std::fs::read(receiver.folder.join(&name)).expect("the received file");
    assert!(kept == data, "the received file differs");

    let names: Vec<String> = ureq::get(&format!("{}/files", receiver.base))
        .call()
        .expect("GET /files")
        .body_mut()
        .read_json()
        .expect("JSON");
    assert_eq!(names, vec![name.clone()]);
    let downloaded = ureq::get(&format!("{}/files/{name}", receiver.base))
        .call()
        .expect("GET /files/NAME")
        .body_mut()
        .with_config()
        .limit(10_000_000)
        .read_to_vec()
        .expect("body");
    assert!(downloaded == data, "the download differs");
    // No way out of the folder.
    let escape = ureq::get(&format!("{}/files/..%2Fetc%2Fpasswd", receiver.base)).call();
    assert!(escape.is_err(), "a path outside the folder was served");
}

#[test]
fn a_file_over_the_limit_is_refused_and_not_kept() {
    let receiver = Receiver::start("file-big");
    let source = std::env::temp_dir().join(format!("eddy-big-{}.bin", std::process::id()));
    std::fs::write(&source, vec![7u8; 4_000_001]).expect("write the source");
    let (ok, stdout) = send(&receiver, &source);
    let _ = std::fs::remove_file(&source);
    assert!(!ok, "{stdout}");
    assert!(stdout.contains("over the limit"), "{stdout}");
    let left: Vec<_> = std::fs::read_dir(&receiver.folder)
        .expect("folder")
        .collect();
    assert!(left.is_empty(), "files left behind: {left:?}");
}
