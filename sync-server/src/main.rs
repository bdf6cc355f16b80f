//! The sync server a centre runs. The protocol, scope rules and admin commands come with the
//! sync-server issue; until then the binary reports what it is.

fn main() {
    println!(
        "sync-server {}: not yet serving; see README.md",
        env!("CARGO_PKG_VERSION")
    );
}
