use tracehook::traceable;

struct Parser;

#[traceable]
impl Parser {
    #[traceable]
    const fn limit() -> usize {
        8
    }

    #[traceable(bogus)]
    fn parse(&self) {}
}

fn main() {
    let _ = Parser::limit();
    Parser.parse();
}
