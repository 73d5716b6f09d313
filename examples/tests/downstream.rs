//! A crate outside this workspace that depends on `eddy` by path, with no
//! `[patch]` of its own, gets eddy's forks of dimpl and dcsctp (they are
//! ordinary dependencies under their own names): a simulated WebRTC session
//! (ICE, DTLS, SCTP, a data channel message; `tests/data/downstream_main.rs`)
//! built in such a crate gives the same trace digest for the same seed in two
//! processes. Upstream dimpl seeds part of the DTLS random from the wall
//! clock, so two processes would differ with it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

#[test]
fn a_downstream_crate_gets_the_forks_and_is_reproducible() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR"));
    let core = examples
        .join("../core")
        .canonicalize()
        .expect("core/ exists");
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let krate = target.join("downstream-crate");
    std::fs::create_dir_all(krate.join("src")).expect("create the crate");
    std::fs::write(
        krate.join("Cargo.toml"),
        format!(
            "[package]\nname = \"downstream\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
             publish = false\n\n[dependencies]\neddy = {{ path = {:?}, features = [\"sim\"] }}\n\n\
             [workspace]\n",
            core.display().to_string()
        ),
    )
    .expect("write Cargo.toml");
    std::fs::copy(
        examples.join("tests/data/downstream_main.rs"),
        krate.join("src/main.rs"),
    )
    .expect("copy the program");

    let tree = cargo()
        .args(["tree", "--offline", "-e", "normal", "--prefix", "none"])
        .current_dir(&krate)
        .output()
        .expect("run cargo tree");
    let tree = String::from_utf8_lossy(&tree.stdout);
    assert!(tree.contains("eddy-dcsctp v0.1.16-eddy.1"), "{tree}");
    assert!(tree.contains("eddy-dimpl v0.9.0-eddy.1"), "{tree}");
    assert!(
        !tree
            .lines()
            .any(|l| l.starts_with("dimpl ") || l.starts_with("dcsctp ")),
        "{tree}"
    );

    let digest = || {
        let out = cargo()
            .args(["run", "--offline", "-q", "--", "--seed", "7"])
            .env("CARGO_TARGET_DIR", target.join("downstream-target"))
            .current_dir(&krate)
            .output()
            .expect("run the downstream crate");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
            .lines()
            .find(|l| l.contains("trace digest"))
            .unwrap_or_else(|| panic!("no digest in:\n{stdout}"))
            .to_owned()
    };
    let first = digest();
    let second = digest();
    assert_eq!(first, second, "same seed, two processes");
}
