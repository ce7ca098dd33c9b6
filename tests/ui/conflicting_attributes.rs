use tracehook::traceable;

// An identical repeat (as attribute-copying macros make) is one site; differing options conflict.
#[traceable]
#[traceable(skip_args)]
fn parse() {}

fn main() {
    parse();
}
