#!/usr/bin/env python3
"""Writes src/cases.s: the hook bench's call shapes as assembly, each function at a chosen offset
from a 64-byte boundary, each case timed by the bench's own loop shape (src/main.rs).

The cases copy what the compiler emits for benches/common/hook_fns.rs (objdump of
target/release/examples/hook_cost), with thread-local accesses made rip-relative (one instruction
each, as the `%fs:` forms are):

  plainO        the plain function at offset O (0, 16, 32, 48)
  offO          the same with the off hook point (`mov $imm32, %eax`) in front
  handO         the hand-written fn-pointer hook calling the same increment
  bare_hH       the traced shape with nothing in it: the hook point's jump to `hooked`, its frame, the
                indirect call to an entry function that only increments
  before_hH_eE  traceable_on as it was at 47 instructions per call (`hooked` at offset H, the entry
                function at E)
  now_hH_eE     traceable_on at 42 instructions per call
  cut1_eE, cut2_eE, noparity_eE, nostores_eE
                traceable_on now (`hooked` at offset 0) with instructions cut from the entry function
                that the runtime cannot cut as it stands, to see what each would be worth: the live
                word compared in memory (one instruction fewer); that and the thread-local base
                folded into each access, as a local-exec access would be (one more in the entry
                function and one in `hooked`); that and no parity test of the section's number
                (which lets nested sections through); that and no stores to the reader record (the
                section's number is still loaded, but never written)

Run: bash scripts/frontend.sh [CASE-PREFIX...]; it prints each case's cycles per call (its fastest
chunk of calls, at the clock measured by a chain of dependent adds).
"""
import pathlib

BODY = """  movabs $0x9e3779b97f4a7c15,%rax
  imul %rax,%rdi
  rol $0x7,%rdi
  mov %rdi,%rax
"""

# The bench's loop (criterion's `iter_custom` around `black_box(f(black_box(x)))`).
def driver(name, f):
    return f"""
.p2align 6
d_{name}:
  push %r14
  push %rbx
  push %rax
  mov %rdi,%r14
  mov $5,%rbx
.p2align 6
1:
  mov %rbx,(%rsp)
  mov (%rsp),%rdi
  call {f}
  mov %rax,(%rsp)
  dec %r14
  jne 1b
  pop %rax
  pop %rbx
  pop %r14
  ret
"""

def at(offset):
    return ".p2align 6\n" + (f".skip {offset}, 0xcc\n" if offset else "")

HAND = """  push %rbx
  mov %rdi,%rbx
  mov HOOK(%rip),%rax
  test %rax,%rax
  je 2f
  call *%rax
2:
  movabs $0x9e3779b97f4a7c15,%rax
  imul %rax,%rbx
  rol $0x7,%rbx
  mov %rbx,%rax
  pop %rbx
  ret
"""

BARE_HOOKED = """  push %rbx
  mov %rdi,%rbx
  mov ENTRYPTR(%rip),%rdx
  call *%rdx
  movabs $0x9e3779b97f4a7c15,%rax
  imul %rax,%rbx
  rol $0x7,%rbx
  mov %rbx,%rax
  pop %rbx
  ret
"""
BARE_ENTRY = """  incq TLS+0x100(%rip)
  ret
"""

BEFORE_HOOKED = """  push %rbx
  sub $0x40,%rsp
  mov %rdi,%rbx
  mov ENTRYPTR(%rip),%rdx
  lea SITE(%rip),%rsi
  lea 0x30(%rsp),%rdi
  call *%rdx
  test $0x1,%al
  jne 9f
  movabs $0x9e3779b97f4a7c15,%rcx
  imul %rcx,%rbx
  rol $0x7,%rbx
  lea TLS(%rip),%rcx
  mov %rax,0x360(%rcx)
  mov %rbx,%rax
  add $0x40,%rsp
  pop %rbx
  ret
9: ud2
"""
# The site's direct path points at a `Direct` whose first word points at the ops' live word.
BEFORE_ENTRY = """  lea TLS(%rip),%r8
  mov 0x360(%r8),%rax
  mov %rsi,(%rdi)
  mov %rax,0x8(%rdi)
  mov 0x378(%r8),%rcx
  mov 0x40(%rcx),%r9
  test $0x1,%r9b
  jne 8f
  mov %r9,%r10
  or $0x1,%r10
  mov %r10,0x40(%rcx)
  mov 0x48(%rsi),%rsi
  mov (%rsi),%rsi
  mov (%rsi),%rsi
  cmp %rdx,%rsi
  jne 7f
  incq 0x100(%r8)
  add $0x2,%r9
  mov %r9,0x40(%rcx)
  mov %rdi,0x360(%r8)
  ret
7: ud2
8: ud2
"""

NOW_HOOKED = """  sub $0x28,%rsp
  mov %rdi,0x20(%rsp)
  mov ENTRYPTR(%rip),%rcx
  lea SITE(%rip),%rsi
  lea 0x10(%rsp),%rdi
  call *%rcx
  test $0x1,%dl
  jne 9f
  movabs $0x9e3779b97f4a7c15,%rax
  imul 0x20(%rsp),%rax
  rol $0x7,%rax
  lea TLS(%rip),%rcx
  mov %rdx,0x360(%rcx)
  add $0x28,%rsp
  ret
9: ud2
"""
# The site's direct path points at the ops' `Direct`, whose first word is the live word.
NOW_ENTRY = """  lea TLS(%rip),%r8
  mov 0x360(%r8),%rdx
  mov %rsi,(%rdi)
  mov %rdx,0x8(%rdi)
  mov 0x378(%r8),%rax
  mov 0x40(%rax),%r9
  test $0x1,%r9b
  jne 8f
  or $0x1,%r9
  mov %r9,0x40(%rax)
  mov 0x48(%rsi),%rsi
  mov (%rsi),%rsi
  cmp %rcx,%rsi
  jne 7f
  incq 0x100(%r8)
  inc %r9
  mov %r9,0x40(%rax)
  mov %rdi,0x360(%r8)
  ret
7: ud2
8: ud2
"""

out, names = [], []

def case(name, text, f):
    out.append(driver(name, f))
    out.append(text)
    names.append(name)

def traced(name, hooked_at, entry_at, hooked, entry, one_hop):
    """A traced function (its hook point jumping to `hooked`) with its own site data."""
    direct = "LIVE" if one_hop else "DIRECT"
    text = f"""
.pushsection .data
.p2align 6
SITE_{name}: .skip 0x48
.quad {direct}_{name}
EP_{name}: .quad e_{name}
DIRECT_{name}: .quad LIVE_{name}
LIVE_{name}: .quad e_{name}
.popsection
.p2align 6
f_{name}:
  jmp h_{name}
""" + at(hooked_at) + f"h_{name}:\n" + hooked.replace("ENTRYPTR", f"EP_{name}").replace(
        "SITE", f"SITE_{name}") + at(entry_at) + f"e_{name}:\n" + entry
    case(name, text, f"f_{name}")

for o in (0, 16, 32, 48):
    case(f"plain{o}", at(o) + f"f_plain{o}:\n" + BODY + "  ret\n", f"f_plain{o}")
    case(f"off{o}", at(o) + f"f_off{o}:\n  mov $0x12345,%eax\n" + BODY + "  ret\n", f"f_off{o}")
    case(f"hand{o}", at(o) + f"f_hand{o}:\n" + HAND, f"f_hand{o}")
for h in (0, 16, 32, 48):
    traced(f"bare_h{h}", h, 0, BARE_HOOKED, BARE_ENTRY, False)
for h in (0, 16, 32, 48):
    for e in (0, 16, 32, 48):
        traced(f"before_h{h}_e{e}", h, e, BEFORE_HOOKED, BEFORE_ENTRY, False)
for h in (0, 16, 32, 48):
    for e in (0, 16, 32, 48):
        traced(f"now_h{h}_e{e}", h, e, NOW_HOOKED, NOW_ENTRY, True)

# Cuts the runtime cannot make as it stands, each on top of the one before (see the docstring).
CUT1_ENTRY = NOW_ENTRY.replace("  mov (%rsi),%rsi\n  cmp %rcx,%rsi\n", "  cmp %rcx,(%rsi)\n")
CUT2_ENTRY = (CUT1_ENTRY.replace("  lea TLS(%rip),%r8\n", "")
              .replace("(%r8)", "+TLS(%rip)"))
CUT2_HOOKED = NOW_HOOKED.replace("  lea TLS(%rip),%rcx\n  mov %rdx,0x360(%rcx)\n",
                                 "  mov %rdx,0x360+TLS(%rip)\n")
NOPARITY_ENTRY = CUT2_ENTRY.replace("  test $0x1,%r9b\n  jne 8f\n", "")
NOSTORES_ENTRY = (NOPARITY_ENTRY.replace("  or $0x1,%r9\n  mov %r9,0x40(%rax)\n", "")
                  .replace("  inc %r9\n  mov %r9,0x40(%rax)\n", ""))
assert len({NOW_ENTRY, CUT1_ENTRY, CUT2_ENTRY, NOPARITY_ENTRY, NOSTORES_ENTRY}) == 5
for e in (0, 16, 32, 48):
    traced(f"cut1_e{e}", 0, e, NOW_HOOKED, CUT1_ENTRY, True)
    traced(f"cut2_e{e}", 0, e, CUT2_HOOKED, CUT2_ENTRY, True)
    traced(f"noparity_e{e}", 0, e, CUT2_HOOKED, NOPARITY_ENTRY, True)
    traced(f"nostores_e{e}", 0, e, CUT2_HOOKED, NOSTORES_ENTRY, True)

header = """
.data
.p2align 6
.globl TLS
TLS: .skip 0x400
.globl READER
READER: .skip 0x80
HOOK: .quad bump
.text
.p2align 6
bump:
  incq TLS+0x100(%rip)
  ret
d_chain:
  xor %eax,%eax
1:
.rept 100
  add $1,%rax
.endr
  dec %rdi
  jnz 1b
  ret
"""
here = pathlib.Path(__file__).resolve().parent
(here / "src" / "cases.s").write_text(header + "".join(out))
(here / "src" / "names.rs").write_text(
    "// Written by gen.py.\n"
    + "pub const NAMES: &[&str] = &[" + ", ".join(f'"{n}"' for n in names) + "];\n"
    + "unsafe extern \"C\" {\n"
    + "    pub fn d_chain(n: u64) -> u64;\n"
    + "".join(f"    fn d_{n}(n: u64) -> u64;\n" for n in names) + "}\n"
    + "pub const FNS: &[unsafe extern \"C\" fn(u64) -> u64] = &["
    + ", ".join(f"d_{n}" for n in names) + "];\n")
