//! Generates the Tauri context (configuration, capabilities, embedded interface).

fn main() {
    tauri_build::build()
}
