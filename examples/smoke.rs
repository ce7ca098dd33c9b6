use tracehook::ftrace::{self, Flags, Ops};
use tracehook::traceable;

#[traceable]
fn leaf(x: u32) -> u32 {
    x + 1
}

#[traceable]
fn outer((a, b): (u32, u32)) -> u32 {
    leaf(a) + leaf(b)
}

fn main() {
    let ops = Ops::new(|call| {
        let args: Vec<String> = call.args().unwrap_or(&[]).iter().map(ToString::to_string).collect();
        println!("{} <-{} {:?}", call.site().name(), call.parent().map_or("", |p| p.name()), args);
    })
    .with_flags(Flags::SAVE_REGS);
    ops.register().unwrap();
    println!("{}", outer((1, 2)));
    ops.unregister().unwrap();
    for s in ftrace::available_functions() {
        println!("{} {} {}:{} sig={}", s.index(), s.path(), s.file(), s.line(), s.signature());
    }
}
