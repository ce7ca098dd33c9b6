//! Handlers defined at compile time (`eventhandler_define!`): records in a linker section, joined to
//! their list when the list is created.

use super::list::Thunk;
use std::any::TypeId;

#[doc(hidden)]
#[linkme::distributed_slice]
pub static STATIC_HANDLERS: [StaticHandler];

/// A static handler's record.
#[doc(hidden)]
pub struct StaticHandler {
    pub(crate) name: &'static str,
    pub(crate) signature: fn() -> TypeId,
    pub(crate) signature_text: &'static str,
    pub(crate) priority: i32,
    pub(crate) call: Thunk,
    pub(crate) file: &'static str,
    pub(crate) line: u32,
}

impl StaticHandler {
    #[doc(hidden)]
    #[must_use]
    pub const fn __new(
        name: &'static str,
        signature: fn() -> TypeId,
        signature_text: &'static str,
        priority: i32,
        call: unsafe fn(*const (), *const ()) -> bool,
        file: &'static str,
        line: u32,
    ) -> Self {
        Self {
            name,
            signature,
            signature_text,
            priority,
            call,
            file,
            line,
        }
    }
}
