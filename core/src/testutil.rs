//! Helpers shared by the unit tests.

use std::sync::OnceLock;
use std::time::Instant;

/// One fixed `Instant` for tests to count from. Tests may read the clock;
/// the code under test never does.
#[allow(clippy::disallowed_methods)]
pub(crate) fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// A proptest configuration whose failure seeds are written to the
/// workspace's `proptest-regressions/NAME.txt`, where they are committed.
macro_rules! proptest_config {
    ($name:literal) => {
        proptest::test_runner::Config {
            failure_persistence: Some(Box::new(
                proptest::test_runner::FileFailurePersistence::Direct(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../proptest-regressions/",
                    $name,
                    ".txt"
                )),
            )),
            ..proptest::test_runner::Config::default()
        }
    };
}
pub(crate) use proptest_config;
