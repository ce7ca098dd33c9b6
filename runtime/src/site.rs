//! The per-function record (`Site`) and the linker-section registry that collects them.
//!
//! Every `#[traceable]` function owns one `static Site`, and a reference to it is placed in the
//! `SITES` distributed slice: the linker gathers the references of every crate in the binary into
//! one section, the way the kernel's `__mcount_loc` collects call sites. No code runs before `main`.
//!
//! [`available_functions`] sorts the slice once, by path and then file and line, so the order (and the
//! 1-based index that filters accept) is the same in every run of the same program.

use crate::ftrace::dispatch::{Direct, EnterFn, Snapshot};
use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering};

#[doc(hidden)]
#[linkme::distributed_slice]
pub static SITES: [&'static Site];

/// The site is an `async fn`: hooks run at the first poll and when the future completes or is dropped.
pub(crate) const CAP_ASYNC: u8 = 1 << 0;
/// The site can show its arguments (`SAVE_REGS`).
pub(crate) const CAP_ARGS: u8 = 1 << 1;
/// The site can be redirected to a replacement (`IPMODIFY`).
pub(crate) const CAP_REDIRECT: u8 = 1 << 2;

/// The dispatch pointer of a site never called yet: non-null, so the first call takes the slow path,
/// which applies the start-up configuration ([`crate::init`]) and then clears it. Never dereferenced.
pub(crate) const UNTOUCHED: *mut Snapshot = std::ptr::NonNull::<Snapshot>::dangling().as_ptr();

/// The record of one traceable function: its names and location, and its dispatch pointer.
pub struct Site {
    /// Null when no ops is attached; else the current immutable snapshot of attached ops.
    pub(crate) dispatch: AtomicPtr<Snapshot>,
    /// The direct path of the snapshot in `dispatch` (part of the ops of its only entry, which the
    /// snapshot keeps alive), or `ftrace::dispatch::NO_DIRECT` when it has none: published with it,
    /// so the common hooked call finds what to call, and whether it may, with two loads and one
    /// compare.
    pub(crate) direct: AtomicPtr<Direct>,
    /// The entry function of `direct` (`ftrace::dispatch::EnterFn`): the one the hook path calls.
    pub(crate) enter: AtomicPtr<()>,
    /// 1-based position in [`available_functions`], written when the registry is first sorted (0 before).
    position: AtomicU32,
    name: &'static str,
    path: &'static str,
    file: &'static str,
    line: u32,
    caps: u8,
    /// The redirect type's text, or (without `CAP_REDIRECT`) why the site has none.
    signature: &'static str,
}

impl Site {
    #[doc(hidden)]
    #[must_use]
    pub const fn __new(
        name: &'static str,
        path: &'static str,
        file: &'static str,
        line: u32,
        caps: u8,
        signature: &'static str,
    ) -> Self {
        Self {
            dispatch: AtomicPtr::new(UNTOUCHED),
            direct: AtomicPtr::new((&raw const crate::ftrace::dispatch::NO_DIRECT).cast_mut()),
            enter: AtomicPtr::new(crate::ftrace::dispatch::enter_dyn as EnterFn as *mut ()),
            position: AtomicU32::new(0),
            name,
            path,
            file,
            line,
            caps,
            signature,
        }
    }

    /// Whether any ops is attached: the whole cost of a traced call while tracing is off.
    #[doc(hidden)]
    #[inline(always)]
    pub fn __is_hooked(&self) -> bool {
        // Relaxed: only a hint whether to take the slow path, which loads the pointer again with
        // Acquire inside a read-side section before using it.
        !self.dispatch.load(Ordering::Relaxed).is_null()
    }

    /// The published snapshot (null: no ops), reading a never-called site as null: for writers and
    /// listings, which see sites that were never called (call paths run `first_call` first).
    #[inline(always)]
    pub(crate) fn snapshot(&self, order: Ordering) -> *mut Snapshot {
        let snapshot = self.dispatch.load(order);
        if snapshot == UNTOUCHED {
            std::ptr::null_mut()
        } else {
            snapshot
        }
    }

    /// At a call's slow path: if this is the site's first call, applies the start-up configuration
    /// (the first touch of the runtime) and marks the site as seen.
    #[inline(always)]
    pub(crate) fn first_call(&self) {
        if self.dispatch.load(Ordering::Relaxed) == UNTOUCHED {
            self.touch();
        }
    }

    #[cold]
    #[inline(never)]
    fn touch(&self) {
        // Inside a callback some ops is registered, so the configuration was (or is being) applied;
        // waiting for it here could wait for a grace period that waits for us.
        if !crate::sync::in_read_section() {
            crate::init::ensure();
        }
        // Relaxed: a writer that published meanwhile wins (the exchange fails); readers load the
        // pointer again with Acquire.
        let _ = self.dispatch.compare_exchange(
            UNTOUCHED,
            std::ptr::null_mut(),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    /// The function's name: `parse`, or `Parser::parse` when the impl's type is known (the attribute is
    /// on the `impl` block or on a module around it), or the `name = "…"` given to the attribute.
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The full path: `mycrate::parser::Parser::parse`.
    #[must_use]
    pub fn path(&self) -> &'static str {
        self.path
    }

    /// The module the function is defined in: `mycrate::parser`.
    #[must_use]
    pub fn module_path(&self) -> &'static str {
        let cut = self.path.len() - self.name.len();
        self.path[..cut]
            .strip_suffix("::")
            .unwrap_or(&self.path[..cut])
    }

    /// The source file, as `file!()` gives it.
    #[must_use]
    pub fn file(&self) -> &'static str {
        self.file
    }

    /// The line of the function's name in [`Site::file`].
    #[must_use]
    pub fn line(&self) -> u32 {
        self.line
    }

    /// Whether the function is an `async fn`.
    #[must_use]
    pub fn is_async(&self) -> bool {
        self.caps & CAP_ASYNC != 0
    }

    /// Whether the site can give its arguments to callbacks (`SAVE_REGS`).
    #[must_use]
    pub fn has_args(&self) -> bool {
        self.caps & CAP_ARGS != 0
    }

    /// Whether the site can be redirected to a replacement function (`IPMODIFY`).
    #[must_use]
    pub fn can_redirect(&self) -> bool {
        self.caps & CAP_REDIRECT != 0
    }

    /// The function-pointer type a replacement must have, for example `fn(&str) -> u32` or
    /// `for<'s> fn(&'s Parser, &str) -> Option<&'s Token>`; empty when the site cannot be redirected.
    #[must_use]
    pub fn signature(&self) -> &'static str {
        if self.can_redirect() {
            self.signature
        } else {
            ""
        }
    }

    /// Why the site cannot be redirected (`IPMODIFY`), for example "it is generic over `T`"; `None`
    /// when it can. `#[traceable]` never fails to compile a function it cannot give a redirect
    /// type: the site loses redirect instead, and says why here.
    #[must_use]
    pub fn redirect_refusal(&self) -> Option<&'static str> {
        if self.can_redirect() {
            None
        } else {
            Some(if self.signature.is_empty() {
                "the site was built without a redirect type"
            } else {
                self.signature
            })
        }
    }

    /// Whether each of the function's hook points jumps to its hook path (see
    /// [`hook_points`](crate::ftrace::hook_points)); empty when hook points are not patched. For tests.
    #[doc(hidden)]
    #[must_use]
    pub fn __hook_points(&self) -> Vec<bool> {
        crate::init::ensure();
        crate::ftrace::patch::states(self)
    }

    /// Whether each of the function's hook points, when it jumps, jumps straight to the hook path
    /// (past the dispatch-pointer check); empty when hook points are not patched. For tests.
    #[doc(hidden)]
    #[must_use]
    pub fn __hook_points_direct(&self) -> Vec<bool> {
        crate::init::ensure();
        crate::ftrace::patch::direct_states(self)
    }

    /// The 1-based position of this site in [`available_functions`].
    #[must_use]
    pub fn index(&self) -> usize {
        index_of(self).map_or(0, |i| i + 1)
    }
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path)
    }
}

impl fmt::Debug for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Site")
            .field("path", &self.path)
            .field("file", &self.file)
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

impl PartialEq for Site {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Eq for Site {}

fn sorted() -> &'static [&'static Site] {
    static SORTED: OnceLock<Box<[&'static Site]>> = OnceLock::new();
    SORTED.get_or_init(|| {
        let mut sites: Vec<&'static Site> = SITES.iter().copied().collect();
        sites.sort_by(|a, b| (a.path, a.file, a.line).cmp(&(b.path, b.file, b.line)));
        for (index, site) in sites.iter().enumerate() {
            let position = u32::try_from(index + 1).expect("fewer than 2^32 traceable functions");
            // Relaxed: published to other threads by the OnceLock that returns the sorted slice.
            site.position.store(position, Ordering::Relaxed);
        }
        sites.into_boxed_slice()
    })
}

/// Every traceable function linked into the program, in a stable order (by path, then file and line).
///
/// Like the kernel's `available_filter_functions`: a filter's numeric token `N` selects the N-th entry
/// (1-based).
pub fn available_functions() -> impl ExactSizeIterator<Item = &'static Site> + Clone {
    crate::init::ensure();
    sorted().iter().copied()
}

/// The sites as a slice, in [`available_functions`] order.
pub(crate) fn all() -> &'static [&'static Site] {
    sorted()
}

/// The 0-based position of `site` in [`all`] (`None` for a site not in the registry, e.g. one made by
/// hand outside the linker section).
#[inline]
pub(crate) fn index_of(site: &Site) -> Option<usize> {
    let sites = sorted();
    // Relaxed: written before `sorted` returned (OnceLock publishes it).
    let position = site.position.load(Ordering::Relaxed) as usize;
    let index = position.checked_sub(1)?;
    sites
        .get(index)
        .filter(|s| std::ptr::eq(**s, site))
        .map(|_| index)
}
