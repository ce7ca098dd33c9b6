use tracehook::traceable;

trait Shape {
    #[traceable]
    fn area(&self) -> f64;
}

fn main() {}
