use tracehook::traceable;

#[traceable(name = "first", name = "second")]
fn parse() {}

fn main() {
    parse();
}
