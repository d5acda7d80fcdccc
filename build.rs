//! With the `bridge` feature on Linux, checks that the system libzmq is installed (it is
//! linked instead of a vendored copy, see `.cargo/config.toml`) and otherwise stops the build
//! with the command that installs it, rather than with a linker error.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let bridge = std::env::var_os("CARGO_FEATURE_BRIDGE").is_some();
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    if !(bridge && linux) {
        return;
    }
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let dirs = [
        format!("/usr/lib/{arch}-linux-gnu"),
        "/usr/lib".to_string(),
        "/usr/lib64".to_string(),
        "/usr/local/lib".to_string(),
    ];
    let found = dirs
        .iter()
        .any(|d| std::path::Path::new(d).join("libzmq.so").exists());
    if !found {
        panic!(
            "\n\nThe `bridge` feature links the system libzmq (with CURVE), which is not installed.\n\
             Install it, then build again:\n\n    sudo apt-get install libzmq3-dev\n\n\
             (searched for libzmq.so in {})\n",
            dirs.join(", ")
        );
    }
}
