#[tracehook::notrace(always)]
fn parse() {}

fn main() {
    parse();
}
