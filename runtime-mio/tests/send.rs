//! The mio driver can be moved to the thread that runs it (a game engine's
//! worker, a thread pool): checked at compile time.

fn assert_send<T: Send>() {}

#[test]
fn the_driver_is_send() {
    assert_send::<eddy_mio::Driver>();
}
