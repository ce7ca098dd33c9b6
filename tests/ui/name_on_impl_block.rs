use tracehook::traceable;

struct Parser;

#[traceable(name = "parser")]
impl Parser {
    fn parse(&self) {}
}

fn main() {
    Parser.parse();
}
