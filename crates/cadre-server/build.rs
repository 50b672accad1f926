//! Rebuilds the crate when the web UI's build output (`web/dist`, embedded into release
//! binaries by `api::ui`) changes, appears or disappears: rust-embed alone tracks only the
//! files it embedded last time.

fn main() {
    println!("cargo:rerun-if-changed=../../web/dist");
    println!("cargo:rerun-if-changed=build.rs");
}
