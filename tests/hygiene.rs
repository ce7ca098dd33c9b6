//! Generated code uses fully qualified paths: it works in a module that shadows the prelude and the
//! standard crates' names.

mod shadowed {
    #![allow(dead_code, non_camel_case_types, clippy::all)]

    struct Option;
    struct Some;
    struct None;
    struct Result;
    struct Ok;
    struct Err;
    struct Box;
    struct Vec;
    mod core {}
    mod std {}
    mod tracehook {}

    #[::tracehook::traceable]
    pub(crate) fn shadow_plain(x: u32) -> u32 {
        x + 1
    }

    #[::tracehook::traceable]
    pub(crate) fn shadow_pattern((a, b): (u32, u32)) -> u32 {
        a + b
    }

    #[::tracehook::traceable]
    pub(crate) async fn shadow_async(x: u32) -> u32 {
        x * 2
    }

    pub(crate) struct Widget;

    #[::tracehook::traceable]
    impl Widget {
        pub(crate) fn shadow_method(&self) -> u8 {
            3
        }
    }

    #[::tracehook::traceable]
    pub(crate) mod inner {
        pub(crate) fn shadow_inner() -> u8 {
            4
        }
    }
}

#[test]
fn traced_code_ignores_shadowed_names() {
    use tracehook::ftrace::{Flags, Ops};
    let ops = Ops::new(|call| {
        assert!(call.args().is_some());
    })
    .with_flags(Flags::SAVE_REGS);
    ops.set_filter("shadow_*", true).unwrap();
    ops.register().unwrap();
    assert_eq!(shadowed::shadow_plain(1), 2);
    assert_eq!(shadowed::shadow_pattern((1, 2)), 3);
    assert_eq!(
        std::thread::spawn(|| {
            let waker = std::task::Waker::noop();
            let mut cx = std::task::Context::from_waker(waker);
            let mut future = std::pin::pin!(shadowed::shadow_async(2));
            loop {
                if let std::task::Poll::Ready(v) = future.as_mut().poll(&mut cx) {
                    break v;
                }
            }
        })
        .join()
        .unwrap(),
        4
    );
    assert_eq!(shadowed::Widget.shadow_method(), 3);
    assert_eq!(shadowed::inner::shadow_inner(), 4);
    ops.unregister().unwrap();
    assert!(ops.error().is_none());
}
