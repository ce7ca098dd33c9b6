use tracehook::traceable;

#[traceable]
struct Config {
    verbose: bool,
}

fn main() {
    let _ = Config { verbose: true }.verbose;
}
