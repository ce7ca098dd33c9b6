use tracehook::traceable;

#[traceable]
#[traceable]
fn parse() {}

fn main() {
    parse();
}
