use tracehook::traceable;

#[traceable(level = "debug")]
fn parse() {}

fn main() {
    parse();
}
