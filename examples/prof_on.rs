use tracehook::ftrace::Ops;
#[tracehook::traceable]
#[inline(never)]
fn traced(x: u64) -> u64 {
    std::hint::black_box(x).wrapping_mul(3)
}
fn main() {
    let ops = Ops::new(|_| {
        std::hint::black_box(1);
    });
    ops.set_filter("traced", true).unwrap();
    ops.register().unwrap();
    let mut x = 0;
    let n: u64 = std::env::args()
        .nth(1)
        .map_or(100_000, |a| a.parse().unwrap());
    for _ in 0..n {
        x = traced(x);
    }
    std::hint::black_box(x);
}
