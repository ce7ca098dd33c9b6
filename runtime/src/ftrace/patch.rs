//! Hook points: the one instruction at the top of every traced function that decides whether the call
//! goes to its hook path, switched by patching the code, the way the kernel turns `__fentry__` calls
//! into nops and back.
//!
//! [`hook_point!`](crate::__hook_point) emits, on x86-64 Linux, one 5-byte instruction and a record of
//! it in the `tracehook_jump` linker section:
//!
//! ```text
//! 2:  e9 <rel32>      jmp  checked       (checked: loads the dispatch pointer, then the hook path)
//! 3:
//!     .pushsection tracehook_jump        { &SITE, 2b - ., hooked - . }
//! ```
//!
//! Only the opcode byte switches a hook point: `0xe9` is `jmp rel32`; `0xb8` turns the same five
//! bytes into `mov $imm32, %eax`, which reads nothing and only writes `eax` (the asm declares it
//! clobbered): unlike a `cmp` or `test`, it does not wait for whatever the caller left in `eax`. So a
//! site is switched by one single-byte store, which no other thread can see half done: a thread runs
//! either the old whole instruction or the new one. This is the last step of the kernel's
//! `text_poke_bp` (a single-byte write of the first opcode byte) without the `int3` steps, which exist
//! to change the other bytes.
//!
//! The displacement is written once, while the hook point is a `mov` (whose immediate is never used,
//! so no mix of old and new bytes can matter), before the hook point is first turned on: it then
//! jumps past the dispatch-pointer check, straight to the hook path (`hooked`). Until then, and for
//! good where hook points are not patched, it jumps to the check (`checked`). Skipping the check is
//! safe because a patched hook point is turned on only while its site has an ops, and the hook path
//! handles a site whose last ops went away meanwhile (it finds no snapshot, as the check would have).
//! A membarrier separates the displacement's write from the opcode's, so no thread can run the new
//! `jmp` with the old displacement bytes half replaced. Where the hook path starts with one direct
//! `jmp` (a sync traced function's tail call to `ftrace::hooked`), the displacement points at that
//! jump's target instead, so a hooked call takes one taken branch there, not two; never past a hook
//! point, whose instruction must run.
//!
//! Correctness needs one direction only: once an ops is attached to a site, its hook points jump
//! before the change returns. Publication stores the dispatch pointer, then the jumps, then runs
//! `membarrier(PRIVATE_EXPEDITED_SYNC_CORE)` so that every thread of the process executes a
//! core-serializing instruction (the cross-modifying-code rule of the Intel and AMD manuals) before
//! the writer returns. Turning a site off needs no barrier: a thread that still jumps finds no ops.
//!
//! Every hook point starts as a jump. The first touch of the runtime ([`crate::init`]) sorts the
//! table once and turns off the hook points of every site without an ops (the kernel's `ftrace_init`
//! converting the `mcount` calls of the whole kernel to nops at boot).
//!
//! Writes go through `/proc/self/mem`: the kernel writes the byte into a private copy of the page
//! (copy-on-write on the first write), so the text is never mapped writable. Where that is refused
//! (`proc_mem.force_override=never`) or does not reach the code (valgrind), the page is made writable
//! for the one-byte store with `mprotect` (`TRACEHOOK_PATCH=mprotect` chooses it, for tests). A probe
//! flips one hook point and back, reading each write back, before anything depends on the writer.
//! Where neither works, membarrier is missing, on other targets, or with `TRACEHOOK_NO_PATCH=1`, hook
//! points keep jumping and the hook path's pointer check decides: [`hook_points`] says which mode is
//! in force and why.

use crate::site::{self, Site};
use std::sync::OnceLock;
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
use std::sync::atomic::Ordering;

/// One hook point, as `hook_point!` emits it.
#[repr(C)]
pub(crate) struct Entry {
    site: &'static Site,
    /// The hook point's address, relative to this field's.
    code: i32,
    /// The hook path past the dispatch-pointer check, relative to this field's address.
    hooked: i32,
}

impl Entry {
    fn code(&self) -> usize {
        let field = std::ptr::from_ref(&self.code) as usize;
        field.wrapping_add_signed(self.code as isize)
    }

    /// The displacement that makes the hook point at `code` jump to the hook path proper. Where
    /// that path is one direct `jmp` (the tail call of a traced function's body closure to
    /// `ftrace::hooked`), the hook point jumps to its target instead, saving a taken branch on every
    /// hooked call; but never past another hook point (`points`: every hook point's address, sorted),
    /// whose instruction must run.
    fn hooked_rel32(&self, code: usize, points: &[usize]) -> [u8; 4] {
        let field = std::ptr::from_ref(&self.hooked) as usize;
        let label = field.wrapping_add_signed(self.hooked as isize);
        let target = match jump_target(label) {
            Some(target)
                if points.binary_search(&label).is_err()
                    && i32::try_from(target.wrapping_sub(code + 5).cast_signed()).is_ok() =>
            {
                target
            }
            // The label is in the same function, well within ±2 GiB.
            _ => label,
        };
        #[allow(
            clippy::cast_possible_truncation,
            reason = "checked or in range, see above"
        )]
        let rel32 = target.wrapping_sub(code + 5) as i32;
        rel32.to_le_bytes()
    }
}

/// Where the instruction at `address` jumps to, if it is a direct `jmp` (`e9 rel32` or `eb rel8`).
/// `address` is a hook path's label: the first byte of an instruction in the traced function's text.
fn jump_target(address: usize) -> Option<usize> {
    // SAFETY: see above: the byte is readable text.
    let opcode = unsafe { std::ptr::read_volatile(address as *const u8) };
    match opcode {
        0xe9 => {
            // SAFETY: the opcode says these four bytes are the rest of the same instruction.
            let rel = unsafe { std::ptr::read_volatile((address + 1) as *const [u8; 4]) };
            let rel = i32::from_le_bytes(rel) as isize;
            Some((address + 5).wrapping_add_signed(rel))
        }
        0xeb => {
            // SAFETY: the opcode says this byte is the rest of the same instruction.
            let rel = unsafe { std::ptr::read_volatile((address + 1) as *const i8) };
            Some((address + 2).wrapping_add_signed(isize::from(rel)))
        }
        _ => None,
    }
}

/// One hook point: its address and the displacement of its jump to the hook path proper.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Point {
    code: usize,
    hooked: [u8; 4],
}

/// How the hook points of this process are switched.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HookPoints {
    /// By patching: a call to a traced function without ops runs one `mov` to a clobbered register
    /// and no load.
    Patched,
    /// Not patched, for the reason given: every traced call jumps to its hook path, which loads the
    /// site's dispatch pointer to find out whether an ops is attached.
    Checked(String),
}

/// How hook points are switched in this process (after the runtime's first touch, which this is).
#[must_use]
pub fn hook_points() -> HookPoints {
    crate::init::ensure();
    match code() {
        Ok(_) => HookPoints::Patched,
        Err(reason) => HookPoints::Checked(reason.clone()),
    }
}

/// Whether each hook point of `site` jumps to its hook path (one per copy of the function in the
/// program: generic instances and inlined copies each have their own); empty when hook points are not
/// patched.
pub(crate) fn states(site: &Site) -> Vec<bool> {
    each_point(site, |point| read(point.code) == JMP)
}

/// Whether each hook point of `site` has the displacement of the hook path proper (see [`states`]).
pub(crate) fn direct_states(site: &Site) -> Vec<bool> {
    each_point(site, |point| read_rel32(point.code) == point.hooked)
}

/// `f` of each hook point of `site`; empty when hook points are not patched.
fn each_point(site: &Site, f: impl Fn(&Point) -> bool) -> Vec<bool> {
    match (code(), site::index_of(site)) {
        (Ok(code), Some(index)) => code.points(index).iter().map(f).collect(),
        _ => Vec::new(),
    }
}

/// The patcher, or why there is none. Made once, under the registry lock, at the first publication.
static CODE: OnceLock<Result<Code, String>> = OnceLock::new();

pub(crate) fn code() -> &'static Result<Code, String> {
    CODE.get_or_init(Code::new)
}

/// What can patch the hook points: the table of hook points by site, and `/proc/self/mem`.
pub(crate) struct Code {
    /// Hook points, grouped by site: site `i` of [`site::all`] owns `points[starts[i]..starts[i + 1]]`.
    points: Vec<Point>,
    starts: Vec<usize>,
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    writer: Writer,
}

/// How bytes are written into the text.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
enum Writer {
    /// `pwrite` to `/proc/self/mem`: the kernel writes a private copy of the page; the text is never
    /// mapped writable.
    ProcMem(std::fs::File),
    /// The page is made writable (and still executable) for the one-byte store, then read-only again.
    Mprotect,
}

/// The byte at a hook point.
fn read(point: usize) -> u8 {
    // SAFETY: `point` is a hook point's address (checked against the section), in readable text.
    unsafe { std::ptr::read_volatile(point as *const u8) }
}

/// The displacement of the hook point at `point`.
fn read_rel32(point: usize) -> [u8; 4] {
    // SAFETY: as in `read`: the four bytes after the opcode are the rest of the instruction.
    unsafe { std::ptr::read_volatile((point + 1) as *const [u8; 4]) }
}

const JMP: u8 = 0xe9;
const OFF: u8 = 0xb8;

impl Code {
    fn new() -> Result<Self, String> {
        if std::env::var_os("TRACEHOOK_NO_PATCH").is_some_and(|v| v != "0") {
            return Err("TRACEHOOK_NO_PATCH is set".to_owned());
        }
        Self::open()
    }

    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    fn open() -> Result<Self, String> {
        Err("hook points are patched on x86-64 Linux only".to_owned())
    }

    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    fn open() -> Result<Self, String> {
        if !crate::sync::membarrier::register_sync_core() {
            return Err("membarrier(PRIVATE_EXPEDITED_SYNC_CORE) is unavailable".to_owned());
        }
        let sites = site::all();
        let mut codes: Vec<usize> = entries().iter().map(Entry::code).collect();
        codes.sort_unstable();
        let mut pairs: Vec<(usize, Point)> = Vec::with_capacity(entries().len());
        for entry in entries() {
            let index = site::index_of(entry.site)
                .ok_or_else(|| format!("a hook point of `{}` has no site record", entry.site))?;
            let code = entry.code();
            let opcode = read(code);
            if opcode != JMP && opcode != OFF {
                return Err(format!(
                    "the hook point of `{}` at {code:#x} holds {opcode:#04x}, not a hook point",
                    entry.site
                ));
            }
            let hooked = entry.hooked_rel32(code, &codes);
            pairs.push((index, Point { code, hooked }));
        }
        pairs.sort_unstable();
        pairs.dedup();
        let mut starts = Vec::with_capacity(sites.len() + 1);
        let mut next = 0;
        for index in 0..sites.len() {
            starts.push(next);
            while next < pairs.len() && pairs[next].0 == index {
                next += 1;
            }
        }
        starts.push(next);
        let points: Vec<Point> = pairs.into_iter().map(|(_, point)| point).collect();
        let proc_mem = match std::fs::OpenOptions::new().read(true).write(true).open(
            if std::env::var_os("TRACEHOOK_PATCH").is_some_and(|v| v == "mprotect") {
                // Chooses the second writer, so tests run it where the first works.
                "/proc/self/mem-not-used"
            } else {
                "/proc/self/mem"
            },
        ) {
            Ok(file) => {
                let code = Self {
                    points: points.clone(),
                    starts: starts.clone(),
                    writer: Writer::ProcMem(file),
                };
                match code.probe() {
                    Ok(()) => return Ok(code),
                    Err(error) => format!("/proc/self/mem: {error}"),
                }
            }
            Err(error) => format!("/proc/self/mem: {error}"),
        };
        let code = Self {
            points,
            starts,
            writer: Writer::Mprotect,
        };
        match code.probe() {
            Ok(()) => Ok(code),
            Err(error) => Err(format!(
                "cannot write hook points ({proc_mem}; mprotect: {error})"
            )),
        }
    }

    /// Proves that writes reach the code before any hook point depends on them: flips one hook point
    /// and back, reading each write back. Safe to flip: this runs at the first publication, before
    /// any ops is attached to any site, so no call can need the hook path meanwhile.
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    fn probe(&self) -> std::io::Result<()> {
        let Some(&Point { code: point, .. }) = self.points.first() else {
            return Ok(());
        };
        let original = read(point);
        let flipped = if original == JMP { OFF } else { JMP };
        for byte in [flipped, original] {
            self.write(point, &[byte])?;
            if read(point) != byte {
                // Seen under valgrind, whose /proc/self/mem is not the code it runs.
                return Err(std::io::Error::other("the write did not reach the code"));
            }
        }
        Ok(())
    }

    /// The hook points of site `index` (of [`site::all`]).
    fn points(&self, index: usize) -> &[Point] {
        &self.points[self.starts[index]..self.starts[index + 1]]
    }

    /// Makes the hook points of site `index` jump (`on`) or not. Returns whether any was turned on:
    /// the caller then runs [`Code::sync`] before it returns to its user.
    pub(crate) fn set(&self, index: usize, on: bool) -> bool {
        if on && self.retarget(index) {
            self.sync();
        }
        let byte = if on { JMP } else { OFF };
        let mut turned_on = false;
        for &Point { code, .. } in self.points(index) {
            if read(code) == byte {
                continue;
            }
            match self.write(code, &[byte]) {
                Ok(()) => turned_on |= on,
                // A hook point left jumping is only slower.
                Err(_) if !on => {}
                Err(error) => fail(index, code, &error),
            }
        }
        turned_on
    }

    /// Points the hook points of site `index` that are off (`mov`) at the hook path proper, if they do
    /// not point there yet; returns whether any changed (they must not be turned on before a
    /// [`Code::sync`]). A hook point still jumping keeps its displacement: it jumps to the check.
    fn retarget(&self, index: usize) -> bool {
        let mut changed = false;
        for point in self.points(index) {
            if read(point.code) != OFF || read_rel32(point.code) == point.hooked {
                continue;
            }
            match self.write(point.code + 1, &point.hooked) {
                Ok(()) => changed = true,
                Err(error) => fail(index, point.code, &error),
            }
        }
        changed
    }

    /// Makes every thread execute a core-serializing instruction, so none runs an old instruction of
    /// a hook point turned on before this call.
    #[allow(
        clippy::unused_self,
        reason = "only a `Code` that exists may sync: it registered for the barrier"
    )]
    pub(crate) fn sync(&self) {
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        if !crate::sync::membarrier::sync_core() {
            fail_sync();
        }
    }

    /// Writes `bytes` at `at` in the text: one opcode byte (atomically, so a thread running the hook
    /// point meanwhile runs the whole old instruction or the whole new one), or a displacement.
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    fn write(&self, at: usize, bytes: &[u8]) -> std::io::Result<()> {
        match &self.writer {
            Writer::ProcMem(file) => {
                use std::os::unix::fs::FileExt;
                let written = file.write_at(bytes, at as u64)?;
                if written == bytes.len() {
                    Ok(())
                } else {
                    Err(std::io::Error::from(std::io::ErrorKind::WriteZero))
                }
            }
            Writer::Mprotect => {
                // SAFETY: sysconf has no preconditions.
                let page_size = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
                    .map_err(|_| std::io::Error::last_os_error())?;
                // A displacement may straddle two pages.
                let first = at & !(page_size - 1);
                let len = ((at + bytes.len() - 1) & !(page_size - 1)) + page_size - first;
                let protect = |prot| {
                    // SAFETY: `first..first + len` are the mapped text pages holding the bytes; only
                    // their protection changes, and they stay readable and executable throughout.
                    if unsafe { libc::mprotect(first as *mut libc::c_void, len, prot) } == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                };
                protect(libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC)?;
                if let [byte] = bytes {
                    // SAFETY: the page is writable now; one byte, written atomically.
                    unsafe {
                        (*(at as *const std::sync::atomic::AtomicU8))
                            .store(*byte, Ordering::Relaxed);
                    }
                } else {
                    // SAFETY: the pages are writable now. A displacement is written only behind a
                    // `mov` opcode, which only moves it into a clobbered register, and made visible
                    // by a membarrier before the opcode changes.
                    unsafe {
                        std::ptr::copy_nonoverlapping(bytes.as_ptr(), at as *mut u8, bytes.len());
                    }
                }
                protect(libc::PROT_READ | libc::PROT_EXEC)
            }
        }
    }

    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    fn write(&self, _at: usize, _bytes: &[u8]) -> std::io::Result<()> {
        Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
    }
}

/// An attached ops whose site cannot be made to jump would silently miss calls; the write worked at
/// start-up on this very page, so this is the kernel refusing memory to the process.
#[cold]
fn fail(index: usize, code: usize, error: &std::io::Error) -> ! {
    #[allow(clippy::print_stderr, reason = "the process is about to abort")]
    {
        eprintln!(
            "tracehook: cannot turn on the hook point of `{}` at {code:#x}: {error}; aborting, \
             because an attached ops would miss its calls",
            site::all()[index]
        );
    }
    std::process::abort()
}

#[cold]
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn fail_sync() -> ! {
    #[allow(clippy::print_stderr, reason = "the process is about to abort")]
    {
        eprintln!(
            "tracehook: membarrier(PRIVATE_EXPEDITED_SYNC_CORE) failed after it had been \
             registered; aborting, because threads could run stale hook points"
        );
    }
    std::process::abort()
}

/// The hook points of every crate in the program.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn entries() -> &'static [Entry] {
    unsafe extern "Rust" {
        #[link_name = "__start_tracehook_jump"]
        static START: [Entry; 0];
        #[link_name = "__stop_tracehook_jump"]
        static STOP: [Entry; 0];
    }
    // Makes the section exist, so the linker defines both symbols in a program without hook points.
    #[used]
    #[unsafe(link_section = "tracehook_jump")]
    static mut ANCHOR: [Entry; 0] = [];

    // SAFETY: the linker defines the two symbols around the section, which holds only `Entry` records
    // (`hook_point!` emits them 8-aligned and 16 bytes each, the layout of `Entry`).
    unsafe {
        let start = (&raw const START).cast::<Entry>();
        let stop = (&raw const STOP).cast::<Entry>();
        let len = (stop as usize - start as usize) / std::mem::size_of::<Entry>();
        std::slice::from_raw_parts(start, len)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::jump_target;

    #[test]
    fn jump_targets_are_decoded() {
        let near = [0xe9_u8, 0x10, 0, 0, 0];
        let address = near.as_ptr() as usize;
        assert_eq!(jump_target(address), Some(address + 5 + 0x10));
        let back = [0xe9_u8, 0xfb, 0xff, 0xff, 0xff];
        let address = back.as_ptr() as usize;
        assert_eq!(jump_target(address), Some(address), "rel32 -5: to itself");
        let short = [0xeb_u8, 0xfe];
        let address = short.as_ptr() as usize;
        assert_eq!(jump_target(address), Some(address), "rel8 -2: to itself");
        let short = [0xeb_u8, 0x7f];
        let address = short.as_ptr() as usize;
        assert_eq!(jump_target(address), Some(address + 2 + 0x7f));
        for other in [
            [0xb8_u8, 0, 0, 0, 0],
            [0x48, 0x89, 0xf8, 0x90, 0x90],
            [0xff, 0x25, 0, 0, 0],
        ] {
            assert_eq!(jump_target(other.as_ptr() as usize), None, "{other:02x?}");
        }
    }
}
