//! The wasm entry point trunk builds: mounts the app on the page.

fn main() {
    yew::Renderer::<app_ui::app::App>::new().render();
}
