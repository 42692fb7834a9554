//! The routines every module carries: the bump allocator, string helpers, the pattern
//! matcher, sorting and set operations, and the graph walk.
//!
//! Each is written once here, with fixed function indices (`P_*`); generated code calls them.

use wasm_encoder::{BlockType, Instruction as I, ValType};

use crate::asm::Asm;
use crate::module::{G_ERR, G_FAILED, G_GRAPH, G_HP, G_MASKS, G_TOPOLOGY, Out};

pub const P_ALLOC: u32 = 0;
pub const P_ENSURE: u32 = 1;
pub const P_PUT: u32 = 2;
pub const P_PUT_INT: u32 = 3;
pub const P_FINISH: u32 = 4;
pub const P_STR_EQ: u32 = 5;
pub const P_STR_CMP: u32 = 6;
pub const P_I64_CMP: u32 = 7;
pub const P_CONCAT: u32 = 8;
pub const P_STARTS: u32 = 9;
pub const P_ENDS: u32 = 10;
pub const P_CONTAINS: u32 = 11;
pub const P_LEN: u32 = 12;
pub const P_LOWER: u32 = 13;
pub const P_UPPER: u32 = 14;
pub const P_TRIM: u32 = 15;
pub const P_SPLIT: u32 = 16;
pub const P_DFA: u32 = 17;
pub const P_SORT: u32 = 18;
pub const P_SETOP: u32 = 19;
pub const P_WALK: u32 = 20;
pub const P_BOX: u32 = 21;
pub const P_PUT_BYTE: u32 = 22;
pub const P_STR_EQ_ASCII_CI: u32 = 23;
pub const P_DFA_WALK: u32 = 24;
pub const P_DFA_WALK_NARROW: u32 = 25;
pub const P_STR_EQ_ASCII_CI_PREFIXED: u32 = 26;
pub const P_SUBJECT_MASK: u32 = 27;

/// Table slots for `call_indirect` comparisons.
pub const CMP_I64: i32 = 0;
pub const CMP_STR: i32 = 1;

/// Where the graph walk finds node fields (slots in the `Node` record, from the layout).
#[derive(Debug, Clone, Copy, Default)]
pub struct GraphSlots {
    pub nodes: u32,
    pub name: u32,
    pub kind: u32,
    pub tier: u32,
    pub owner: u32,
}

use I::*;

const I32: ValType = ValType::I32;
const I64: ValType = ValType::I64;

pub fn emit(out: &mut Out, graph: GraphSlots, topology_prefix: u64) {
    let f = |out: &mut Out, name: &str, params: &[ValType], results: &[ValType], asm: Asm| {
        let i = out.add_func(params, results, asm.finish());
        out.name(i, name);
    };
    f(out, "alloc", &[I32], &[I32], alloc());
    f(out, "ensure", &[I32], &[], ensure());
    f(out, "put", &[I64], &[], put());
    f(out, "put_int", &[I64], &[], put_int());
    f(out, "finish", &[I32], &[I64], finish());
    f(out, "str_eq", &[I64, I64], &[I32], str_eq());
    f(out, "str_cmp", &[I64, I64], &[I32], str_cmp());
    f(out, "i64_cmp", &[I64, I64], &[I32], i64_cmp());
    f(out, "concat", &[I64, I64], &[I64], concat());
    f(out, "starts_with", &[I64, I64], &[I32], starts_ends(false));
    f(out, "ends_with", &[I64, I64], &[I32], starts_ends(true));
    f(out, "contains", &[I64, I64], &[I32], contains());
    f(out, "len", &[I64], &[I64], len_chars());
    f(out, "lower", &[I64], &[I64], case(b'A', b'Z', 32));
    f(out, "upper", &[I64], &[I64], case(b'a', b'z', -32));
    f(out, "trim", &[I64], &[I64], trim());
    f(out, "split", &[I64, I64], &[I64], split());
    f(out, "dfa", &[I32, I64], &[I32], dfa());
    f(out, "sort", &[I64, I32], &[I64], sort());
    f(out, "setop", &[I64, I64, I32, I32], &[I64], setop());
    f(
        out,
        "walk",
        &[I64, I64, I32],
        &[I64],
        walk(graph, topology_prefix),
    );
    f(out, "box", &[I64], &[I64], boxed());
    f(out, "put_byte", &[I32], &[], put_byte());
    f(
        out,
        "str_eq_ascii_ci",
        &[I64, I64],
        &[I32],
        str_eq_ascii_ci(),
    );
    f(out, "dfa_walk", &[I32, I64], &[I32], dfa_walk(4));
    f(out, "dfa_walk_narrow", &[I32, I64], &[I32], dfa_walk(2));
    f(
        out,
        "str_eq_ascii_ci_prefixed",
        &[I64, I64, I64],
        &[I32],
        str_eq_ascii_ci_prefixed(),
    );
    f(out, "subject_mask", &[I32, I32], &[I64], subject_mask());
}

/// `alloc(n) -> addr`: 8-byte aligned bump allocation.
fn alloc() -> Asm {
    let mut a = Asm::new(1);
    let p = a.i32_local();
    a.i(GlobalGet(G_HP))
        .i32c(7)
        .i(I32Add)
        .i32c(-8)
        .i(I32And)
        .set(p);
    a.get(p).get(0).i(I32Add);
    ensure_inline(&mut a);
    a.get(p).get(0).i(I32Add).i(GlobalSet(G_HP));
    a.get(p);
    a
}

/// Consumes the address on the stack, growing memory when it is out of bounds: the test is
/// made here, and `ensure` is called only when memory must grow, so the common case costs no
/// call (and none of wasmtime's per-call checks).
fn ensure_inline(a: &mut Asm) {
    let end = a.i32_local();
    a.tee(end).i(MemorySize(0)).i32c(16).i(I32Shl).i(I32GtU);
    a.if_();
    a.get(end).call(P_ENSURE);
    a.end();
}

/// `ensure(end)`: grow memory so that `end` is in bounds; trap when it cannot.
fn ensure() -> Asm {
    let mut a = Asm::new(1);
    // end < 0 (as unsigned beyond 4 GiB) cannot be satisfied.
    a.get(0).i(MemorySize(0)).i32c(16).i(I32Shl).i(I32GtU);
    a.if_();
    {
        // pages = (end - size*65536 + 65535) >> 16
        a.get(0)
            .i(MemorySize(0))
            .i32c(16)
            .i(I32Shl)
            .i(I32Sub)
            .i32c(65535)
            .i(I32Add)
            .i32c(16)
            .i(I32ShrU);
        a.i(MemoryGrow(0)).i32c(-1).i(I32Eq);
        a.if_();
        a.i(Unreachable);
        a.end();
    }
    a.end();
    a
}

/// `put(s)`: append the bytes of `s` at the heap pointer.
fn put() -> Asm {
    let mut a = Asm::new(1);
    let n = a.i32_local();
    a.get(0).len().set(n);
    a.i(GlobalGet(G_HP)).get(n).i(I32Add);
    ensure_inline(&mut a);
    a.i(GlobalGet(G_HP)).get(0).ptr().get(n).i(MemoryCopy {
        src_mem: 0,
        dst_mem: 0,
    });
    a.i(GlobalGet(G_HP)).get(n).i(I32Add).i(GlobalSet(G_HP));
    a
}

/// Whether two strings are equal once ASCII letters are lower-cased: `lower(a) == lower(b)`
/// without building either string.
fn str_eq_ascii_ci() -> Asm {
    let mut a = Asm::new(2);
    let n = a.i32_local();
    let i = a.i32_local();
    let x = a.i32_local();
    let y = a.i32_local();
    a.get(0).len().tee(n).get(1).len().i(I32Ne);
    a.if_();
    a.i32c(0).i(Return);
    a.end();
    let lower = |a: &mut Asm, v: u32| {
        // v + 32 when v is in 'A'..='Z'
        a.get(v)
            .get(v)
            .i32c(i32::from(b'A'))
            .i(I32Sub)
            .i32c(26)
            .i(I32LtU)
            .i32c(5)
            .i(I32Shl)
            .i(I32Add)
            .set(v);
    };
    let b = a.block();
    let l = a.loop_();
    a.get(i).get(n).i(I32GeU);
    a.br_if(b);
    a.get(0).ptr().get(i).i(I32Add).load8(0).set(x);
    a.get(1).ptr().get(i).i(I32Add).load8(0).set(y);
    lower(&mut a, x);
    lower(&mut a, y);
    a.get(x).get(y).i(I32Ne);
    a.if_();
    a.i32c(0).i(Return);
    a.end();
    a.get(i).i32c(1).i(I32Add).set(i);
    a.br(l);
    a.end();
    a.end();
    a.i32c(1);
    a
}

/// `put_byte(b)`.
fn put_byte() -> Asm {
    let mut a = Asm::new(1);
    a.i(GlobalGet(G_HP)).i32c(1).i(I32Add);
    ensure_inline(&mut a);
    a.i(GlobalGet(G_HP)).get(0).store8(0);
    a.i(GlobalGet(G_HP)).i32c(1).i(I32Add).i(GlobalSet(G_HP));
    a
}

/// `put_int(v)`: append the decimal text of `v`.
fn put_int() -> Asm {
    let mut a = Asm::new(1);
    let u = a.i64_local();
    let digits = a.i32_local();
    let t = a.i64_local();
    let end = a.i32_local();
    a.get(0).i64c(0).i(I64LtS);
    a.if_();
    a.i32c(i32::from(b'-')).call(P_PUT_BYTE);
    a.i64c(0).get(0).i(I64Sub).set(u);
    a.else_();
    a.get(0).set(u);
    a.end();
    // Count digits.
    a.get(u).set(t);
    a.i32c(0).set(digits);
    let l = a.loop_();
    a.get(digits).i32c(1).i(I32Add).set(digits);
    a.get(t).i64c(10).i(I64DivU).tee(t).i64c(0).i(I64Ne);
    a.br_if(l);
    a.end();
    a.i(GlobalGet(G_HP)).get(digits).i(I32Add).tee(end);
    ensure_inline(&mut a);
    let l = a.loop_();
    a.get(end).i32c(1).i(I32Sub).tee(end);
    a.get(u)
        .i64c(10)
        .i(I64RemU)
        .i(I32WrapI64)
        .i32c(i32::from(b'0'))
        .i(I32Add);
    a.store8(0);
    a.get(u).i64c(10).i(I64DivU).tee(u).i64c(0).i(I64Ne);
    a.br_if(l);
    a.end();
    a.i(GlobalGet(G_HP))
        .get(digits)
        .i(I32Add)
        .i(GlobalSet(G_HP));
    a
}

/// `finish(start) -> str`: the bytes appended since `start`.
fn finish() -> Asm {
    let mut a = Asm::new(1);
    a.get(0);
    a.i(GlobalGet(G_HP)).get(0).i(I32Sub);
    a.pack();
    a
}

/// Byte-wise equality of two strings.
fn str_eq() -> Asm {
    let mut a = Asm::new(2);
    let n = a.i32_local();
    let i = a.i32_local();
    let p = a.i32_local();
    let q = a.i32_local();
    a.get(0).get(1).i(I64Eq);
    a.if_();
    a.i32c(1).i(Return);
    a.end();
    a.get(0).len().tee(n).get(1).len().i(I32Ne);
    a.if_();
    a.i32c(0).i(Return);
    a.end();
    a.get(0).ptr().set(p);
    a.get(1).ptr().set(q);
    // 8 bytes at a time, then the rest.
    let b = a.block();
    let l = a.loop_();
    a.get(i).i32c(8).i(I32Add).get(n).i(I32GtU);
    a.br_if(b);
    a.get(p).get(i).i(I32Add).i(I64Load(crate::asm::mem(0, 0)));
    a.get(q).get(i).i(I32Add).i(I64Load(crate::asm::mem(0, 0)));
    a.i(I64Ne);
    a.if_();
    a.i32c(0).i(Return);
    a.end();
    a.get(i).i32c(8).i(I32Add).set(i);
    a.br(l);
    a.end();
    a.end();
    let b = a.block();
    let l = a.loop_();
    a.get(i).get(n).i(I32GeU);
    a.br_if(b);
    a.get(p).get(i).i(I32Add).load8(0);
    a.get(q).get(i).i(I32Add).load8(0);
    a.i(I32Ne);
    a.if_();
    a.i32c(0).i(Return);
    a.end();
    a.get(i).i32c(1).i(I32Add).set(i);
    a.br(l);
    a.end();
    a.end();
    a.i32c(1);
    a
}

/// `str_eq_ascii_ci_prefixed(x, y, p) -> 0 | 1`: whether `p + x` equals `y` when both are
/// ASCII-lower-cased, without building `p + x`: `y` is as long as both, starts with `p` and ends
/// with `x` (each compared by `str_eq_ascii_ci`). It is `p + lower(x) == lower(y)` for a literal
/// `p` with no ASCII upper-case letter, which lower-casing leaves as it is.
fn str_eq_ascii_ci_prefixed() -> Asm {
    let mut a = Asm::new(3);
    let (x, y, p) = (0, 1, 2);
    let n = a.i32_local();
    let rest = a.i32_local();
    a.get(p).len().set(n);
    // `len(y) - len(p)`, when `y` is at least as long as `p`, must be `len(x)`.
    a.get(y).len().get(n).i(I32LtU);
    a.if_();
    a.i32c(0).i(Return);
    a.end();
    a.get(y).len().get(n).i(I32Sub).tee(rest);
    a.get(x).len().i(I32Ne);
    a.if_();
    a.i32c(0).i(Return);
    a.end();
    a.get(p);
    a.get(y).ptr().get(n).pack();
    a.call(P_STR_EQ_ASCII_CI).i(I32Eqz);
    a.if_();
    a.i32c(0).i(Return);
    a.end();
    a.get(x);
    a.get(y).ptr().get(n).i(I32Add).get(rest).pack();
    a.call(P_STR_EQ_ASCII_CI);
    a
}

/// Byte-wise order of two strings: -1, 0 or 1.
fn str_cmp() -> Asm {
    let mut a = Asm::new(2);
    let n = a.i32_local();
    let m = a.i32_local();
    let i = a.i32_local();
    let x = a.i32_local();
    let y = a.i32_local();
    a.get(0).len().set(n);
    a.get(1).len().set(m);
    let b = a.block();
    let l = a.loop_();
    a.get(i).get(n).i(I32GeU).get(i).get(m).i(I32GeU).i(I32Or);
    a.br_if(b);
    a.get(0).ptr().get(i).i(I32Add).load8(0).set(x);
    a.get(1).ptr().get(i).i(I32Add).load8(0).set(y);
    a.get(x).get(y).i(I32Ne);
    a.if_();
    a.get(x)
        .get(y)
        .i(I32GtU)
        .get(x)
        .get(y)
        .i(I32LtU)
        .i(I32Sub)
        .i(Return);
    a.end();
    a.get(i).i32c(1).i(I32Add).set(i);
    a.br(l);
    a.end();
    a.end();
    a.get(n).get(m).i(I32GtU).get(n).get(m).i(I32LtU).i(I32Sub);
    a
}

fn i64_cmp() -> Asm {
    let mut a = Asm::new(2);
    a.get(0).get(1).i(I64GtS).get(0).get(1).i(I64LtS).i(I32Sub);
    a
}

fn concat() -> Asm {
    let mut a = Asm::new(2);
    let start = a.i32_local();
    a.i(GlobalGet(G_HP)).set(start);
    a.get(0).call(P_PUT).get(1).call(P_PUT);
    a.get(start).call(P_FINISH);
    a
}

/// Byte comparison of `len` bytes at `p` and `q`, leaving i32 1 when equal.
fn bytes_equal(a: &mut Asm, p: u32, q: u32, len: u32) {
    let i = a.i32_local();
    let r = a.i32_local();
    a.i32c(1).set(r);
    a.i32c(0).set(i);
    let b = a.block();
    let l = a.loop_();
    a.get(i).get(len).i(I32GeU);
    a.br_if(b);
    a.get(p).get(i).i(I32Add).load8(0);
    a.get(q).get(i).i(I32Add).load8(0);
    a.i(I32Ne);
    a.if_();
    a.i32c(0).set(r);
    a.br(b);
    a.end();
    a.get(i).i32c(1).i(I32Add).set(i);
    a.br(l);
    a.end();
    a.end();
    a.get(r);
}

/// `starts_with(s, p)` / `ends_with(s, p)`.
fn starts_ends(ends: bool) -> Asm {
    let mut a = Asm::new(2);
    let n = a.i32_local();
    let m = a.i32_local();
    let p = a.i32_local();
    let q = a.i32_local();
    a.get(0).len().set(n);
    a.get(1).len().set(m);
    a.get(m).get(n).i(I32GtU);
    a.if_();
    a.i32c(0).i(Return);
    a.end();
    a.get(0).ptr().set(p);
    if ends {
        a.get(p).get(n).i(I32Add).get(m).i(I32Sub).set(p);
    }
    a.get(1).ptr().set(q);
    bytes_equal(&mut a, p, q, m);
    a
}

/// `contains(s, part)`: naive search.
fn contains() -> Asm {
    let mut a = Asm::new(2);
    let n = a.i32_local();
    let m = a.i32_local();
    let i = a.i32_local();
    let p = a.i32_local();
    let q = a.i32_local();
    a.get(0).len().set(n);
    a.get(1).len().set(m);
    a.get(1).ptr().set(q);
    a.get(m).get(n).i(I32GtU);
    a.if_();
    a.i32c(0).i(Return);
    a.end();
    let b = a.block();
    let l = a.loop_();
    a.get(i).get(m).i(I32Add).get(n).i(I32GtU);
    a.br_if(b);
    a.get(0).ptr().get(i).i(I32Add).set(p);
    bytes_equal(&mut a, p, q, m);
    a.if_();
    a.i32c(1).i(Return);
    a.end();
    a.get(i).i32c(1).i(I32Add).set(i);
    a.br(l);
    a.end();
    a.end();
    a.i32c(0);
    a
}

/// `len(s)`: Unicode scalar values = bytes that are not UTF-8 continuation bytes.
fn len_chars() -> Asm {
    let mut a = Asm::new(1);
    let n = a.i32_local();
    let i = a.i32_local();
    let c = a.i64_local();
    a.get(0).len().set(n);
    let b = a.block();
    let l = a.loop_();
    a.get(i).get(n).i(I32GeU);
    a.br_if(b);
    a.get(0)
        .ptr()
        .get(i)
        .i(I32Add)
        .load8(0)
        .i32c(0xC0)
        .i(I32And)
        .i32c(0x80)
        .i(I32Ne);
    a.i(I64ExtendI32U).get(c).i(I64Add).set(c);
    a.get(i).i32c(1).i(I32Add).set(i);
    a.br(l);
    a.end();
    a.end();
    a.get(c);
    a
}

/// ASCII case mapping: bytes in `lo..=hi` get `delta` added.
fn case(lo: u8, hi: u8, delta: i32) -> Asm {
    let mut a = Asm::new(1);
    let n = a.i32_local();
    let i = a.i32_local();
    let x = a.i32_local();
    let start = a.i32_local();
    a.get(0).len().set(n);
    // Most strings are already in the wanted case (logins, owners): when no byte needs
    // changing, the string itself is the answer, and nothing is allocated or copied.
    let in_range = |a: &mut Asm| {
        a.get(x)
            .i32c(i32::from(lo))
            .i(I32GeU)
            .get(x)
            .i32c(i32::from(hi))
            .i(I32LeU)
            .i(I32And);
    };
    // Eight bytes at a time while none is in range, then byte by byte from there. Per byte
    // `b` of the word: with `t = b & 0x7f`, `t + (0x80 - lo)` has its top bit set when `t >=
    // lo`, and `t + (0x7f - hi)` has it clear when `t <= hi` (neither sum carries into the
    // next byte); `b`'s own top bit must be clear. The test is exact, but only the byte loop
    // decides: a word that tests positive just hands over to it.
    let w = a.i64_local();
    let t = a.i64_local();
    let ones = 0x0101_0101_0101_0101_u64;
    let words = a.block();
    let word = a.loop_();
    a.get(i).i32c(8).i(I32Add).get(n).i(I32GtU);
    a.br_if(words);
    a.get(0).ptr().get(i).i(I32Add).load64(0).set(w);
    a.get(w).i64c(0x7f7f_7f7f_7f7f_7f7f).i(I64And).set(t);
    a.get(t)
        .i64c((ones * u64::from(0x80 - lo)) as i64)
        .i(I64Add)
        .get(t)
        .i64c((ones * u64::from(0x7f - hi)) as i64)
        .i(I64Add)
        .i64c(-1)
        .i(I64Xor)
        .i(I64And)
        .get(w)
        .i64c(-1)
        .i(I64Xor)
        .i(I64And)
        .i64c((ones * 0x80) as i64)
        .i(I64And)
        .i(I64Eqz)
        .i(I32Eqz);
    a.br_if(words);
    a.get(i).i32c(8).i(I32Add).set(i);
    a.br(word);
    a.end();
    a.end();
    let found = a.block();
    let scan = a.loop_();
    a.get(i).get(n).i(I32GeU);
    a.if_();
    a.get(0).i(Return);
    a.end();
    a.get(0).ptr().get(i).i(I32Add).load8(0).set(x);
    in_range(&mut a);
    a.br_if(found);
    a.get(i).i32c(1).i(I32Add).set(i);
    a.br(scan);
    a.end();
    a.end();
    // Copy the string, then change its bytes from `i`, the first that needs it.
    a.i(GlobalGet(G_HP)).set(start);
    a.get(0).call(P_PUT);
    let b = a.block();
    let l = a.loop_();
    a.get(i).get(n).i(I32GeU);
    a.br_if(b);
    a.get(start).get(i).i(I32Add).load8(0).set(x);
    in_range(&mut a);
    a.if_();
    a.get(start)
        .get(i)
        .i(I32Add)
        .get(x)
        .i32c(delta)
        .i(I32Add)
        .store8(0);
    a.end();
    a.get(i).i32c(1).i(I32Add).set(i);
    a.br(l);
    a.end();
    a.end();
    a.get(start).call(P_FINISH);
    a
}

/// Pushes i32 1 when the byte at address `p` is ASCII whitespace (space, \t, \n, \x0C, \r).
fn is_ascii_space(a: &mut Asm, p: u32) {
    let x = a.i32_local();
    a.get(p).load8(0).set(x);
    a.get(x).i32c(32).i(I32Eq);
    a.get(x).i32c(9).i(I32Eq).i(I32Or);
    a.get(x).i32c(10).i(I32Eq).i(I32Or);
    a.get(x).i32c(12).i(I32Eq).i(I32Or);
    a.get(x).i32c(13).i(I32Eq).i(I32Or);
}

fn trim() -> Asm {
    let mut a = Asm::new(1);
    let p = a.i32_local();
    let e = a.i32_local();
    let q = a.i32_local();
    a.get(0).ptr().set(p);
    a.get(p).get(0).len().i(I32Add).set(e);
    let b = a.block();
    let l = a.loop_();
    a.get(p).get(e).i(I32GeU);
    a.br_if(b);
    is_ascii_space(&mut a, p);
    a.i(I32Eqz);
    a.br_if(b);
    a.get(p).i32c(1).i(I32Add).set(p);
    a.br(l);
    a.end();
    a.end();
    let b = a.block();
    let l = a.loop_();
    a.get(e).get(p).i(I32LeU);
    a.br_if(b);
    a.get(e).i32c(1).i(I32Sub).set(q);
    is_ascii_space(&mut a, q);
    a.i(I32Eqz);
    a.br_if(b);
    a.get(q).set(e);
    a.br(l);
    a.end();
    a.end();
    a.get(p).get(e).get(p).i(I32Sub).pack();
    a
}

/// `split(s, sep)`: pieces between separators; an empty separator splits into characters.
fn split() -> Asm {
    let mut a = Asm::new(2);
    let n = a.i32_local();
    let m = a.i32_local();
    let i = a.i32_local();
    let count = a.i32_local();
    let out = a.i32_local();
    let k = a.i32_local();
    let start = a.i32_local();
    let p = a.i32_local();
    let q = a.i32_local();
    a.get(0).len().set(n);
    a.get(1).len().set(m);
    a.get(1).ptr().set(q);
    a.get(m).i(I32Eqz);
    a.if_();
    {
        // One piece per character: count lead bytes.
        a.get(0).call(P_LEN).i(I32WrapI64).set(count);
        a.get(count).i32c(3).i(I32Shl).call(P_ALLOC).set(out);
        a.i32c(0).set(start);
        a.i32c(1).set(i);
        let b = a.block();
        let l = a.loop_();
        a.get(start).get(n).i(I32GeU);
        a.br_if(b);
        // next char end: advance i while continuation bytes
        a.get(start).i32c(1).i(I32Add).set(i);
        let b2 = a.block();
        let l2 = a.loop_();
        a.get(i).get(n).i(I32GeU);
        a.br_if(b2);
        a.get(0)
            .ptr()
            .get(i)
            .i(I32Add)
            .load8(0)
            .i32c(0xC0)
            .i(I32And)
            .i32c(0x80)
            .i(I32Ne);
        a.br_if(b2);
        a.get(i).i32c(1).i(I32Add).set(i);
        a.br(l2);
        a.end();
        a.end();
        a.get(out).get(k).i32c(3).i(I32Shl).i(I32Add);
        a.get(0)
            .ptr()
            .get(start)
            .i(I32Add)
            .get(i)
            .get(start)
            .i(I32Sub)
            .pack();
        a.store64(0);
        a.get(k).i32c(1).i(I32Add).set(k);
        a.get(i).set(start);
        a.br(l);
        a.end();
        a.end();
        a.get(out).get(k).pack().i(Return);
    }
    a.end();
    // Count pieces: separators found + 1.
    a.i32c(1).set(count);
    let scan = |a: &mut Asm, on_found: &dyn Fn(&mut Asm)| {
        a.i32c(0).set(i);
        let b = a.block();
        let l = a.loop_();
        a.get(i).get(m).i(I32Add).get(n).i(I32GtU);
        a.br_if(b);
        a.get(0).ptr().get(i).i(I32Add).set(p);
        bytes_equal(a, p, q, m);
        a.if_();
        on_found(a);
        a.get(i).get(m).i(I32Add).set(i);
        a.else_();
        a.get(i).i32c(1).i(I32Add).set(i);
        a.end();
        a.br(l);
        a.end();
        a.end();
    };
    scan(&mut a, &|a: &mut Asm| {
        a.get(count).i32c(1).i(I32Add).set(count);
    });
    a.get(count).i32c(3).i(I32Shl).call(P_ALLOC).set(out);
    a.i32c(0).set(start);
    scan(&mut a, &|a: &mut Asm| {
        a.get(out).get(k).i32c(3).i(I32Shl).i(I32Add);
        a.get(0)
            .ptr()
            .get(start)
            .i(I32Add)
            .get(i)
            .get(start)
            .i(I32Sub)
            .pack();
        a.store64(0);
        a.get(k).i32c(1).i(I32Add).set(k);
        a.get(i).get(m).i(I32Add).set(start);
    });
    // The last piece.
    a.get(out).get(k).i32c(3).i(I32Shl).i(I32Add);
    a.get(0)
        .ptr()
        .get(start)
        .i(I32Add)
        .get(n)
        .get(start)
        .i(I32Sub)
        .pack();
    a.store64(0);
    a.get(out).get(count).pack();
    a
}

/// How many bytes the pattern walker reads per turn of its loop. wasmtime checks the epoch
/// deadline at the head of every loop, once per turn: one byte per turn made that check about
/// a third of a glob walk.
const UNROLL: usize = 4;

/// `dfa(table, subject) -> 0 | 1 | 2`: match a subject against a compiled pattern
/// (docs/abi.md, Patterns); 2 when the pattern is invalid (its error text is then in `G_ERR`,
/// and `G_FAILED` set). A glob table's literal filter is tested here and the walk is
/// `dfa_walk`'s, or `dfa_walk_narrow`'s for a table of 2-byte entries: most subjects are
/// refused by the filter, and this function's few locals make that cheap.
fn dfa() -> Asm {
    let mut a = Asm::new(2);
    let d = 0;
    let s = 1;
    let kind = a.i32_local();
    let nf = a.i32_local();
    let base = a.i32_local();
    let n = a.i32_local();
    a.get(d).load32(0).tee(kind).i(I32Eqz);
    a.if_();
    a.get(d).load64(16).i(GlobalSet(G_ERR));
    a.i32c(1).i(GlobalSet(G_FAILED));
    a.i32c(2).i(Return);
    a.end();
    a.get(kind).i32c(1).i(I32Eq);
    a.if_();
    a.get(d).load32(16).tee(nf);
    a.if_();
    a.get(s).ptr().set(base);
    a.get(s).len().set(n);
    literal_filter(&mut a, d, nf, base, n);
    a.end();
    a.end();
    a.get(d).load32(20).i32c(2).i(I32Eq);
    a.if_of(BlockType::Result(I32));
    a.get(d).get(s).call(P_DFA_WALK_NARROW);
    a.else_();
    a.get(d).get(s).call(P_DFA_WALK);
    a.end();
    a
}

/// `dfa_walk(table, subject) -> 0 | 1`: the walk of a valid compiled pattern (docs/abi.md,
/// Patterns), after `dfa` has tested its kind and its literal filter, for a table whose
/// `next` and `eoi` entries are `width` bytes (2 or 4; `dfa` chooses by the table's header).
fn dfa_walk(width: u32) -> Asm {
    // log2 of the entry size: an index times the entry size is a shift.
    let shift = if width == 2 { 1 } else { 2 };
    let entry = |a: &mut Asm| {
        if width == 2 {
            a.load16(0);
        } else {
            a.load32(0);
        }
    };
    let mut a = Asm::new(2);
    let d = 0;
    let s = 1;
    let nc = a.i32_local();
    let ns = a.i32_local();
    let st = a.i32_local();
    let next = a.i32_local();
    let eoi = a.i32_local();
    let acc = a.i32_local();
    let i = a.i32_local();
    let n = a.i32_local();
    let emitted = a.i32_local();
    let base = a.i32_local();
    let kind = a.i32_local();
    a.get(d).load32(0).set(kind);
    a.get(d).load32(4).set(nc);
    a.get(d).load32(8).set(ns);
    a.get(d).load32(12).set(st);
    // The filters start at 24 and the class map follows them.
    let nf = a.i32_local();
    let classes = a.i32_local();
    a.get(d).load32(16).set(nf);
    a.get(d)
        .i32c(24)
        .i(I32Add)
        .get(nf)
        .i32c(3)
        .i(I32Shl)
        .i(I32Add)
        .tee(classes)
        .i32c(256)
        .i(I32Add)
        .set(next);
    a.get(next)
        .get(ns)
        .get(nc)
        .i(I32Mul)
        .i32c(shift)
        .i(I32Shl)
        .i(I32Add)
        .set(eoi);
    a.get(eoi).get(ns).i32c(shift).i(I32Shl).i(I32Add).set(acc);
    a.get(s).ptr().set(base);
    a.get(s).len().set(n);
    // The walk keeps `row`, the byte offset of the current state's row in `next`; an entry is
    // the successor's row offset with bit 0 set when the successor is matching.
    let row = a.i32_local();
    a.get(st).get(nc).i(I32Mul).i32c(shift).i(I32Shl).set(row);
    // feed(byte on stack): state transition, early answers.
    let b = a.i32_local();
    let e = a.i32_local();
    let feed = |a: &mut Asm| {
        a.set(b);
        a.get(next).get(row).i(I32Add);
        a.get(classes).get(b).i(I32Add).load8(0);
        a.i32c(shift).i(I32Shl).i(I32Add);
        entry(a);
        a.tee(e);
        a.i32c(1).i(I32And);
        a.if_();
        a.i32c(1).i(Return);
        a.end();
        a.get(e).i(I32Eqz);
        a.if_();
        a.i32c(0).i(Return);
        a.end();
        a.get(e).set(row);
    };
    a.get(kind).i32c(1).i(I32Eq);
    a.if_();
    {
        // Glob: feed the normalised path in one pass. A `/` ends a segment (runs of them
        // count as one); a segment that is exactly `.` is skipped; before the first byte of
        // every kept segment but the first, one `/` is fed.
        let c = a.i32_local();
        let at_start = a.i32_local();
        a.i32c(1).set(at_start);
        let done = a.block();
        let l = a.loop_();
        for _ in 0..UNROLL {
            // A byte that is not fed (a `/`, a `.` segment) leaves `skip` instead of going
            // back to the loop's head, so the loop turns once per `UNROLL` bytes.
            let skip = a.block();
            a.get(i).get(n).i(I32GeU);
            a.br_if(done);
            a.get(base).get(i).i(I32Add).load8(0).set(c);
            a.get(i).i32c(1).i(I32Add).set(i);
            a.get(c).i32c(i32::from(b'/')).i(I32Eq);
            a.if_();
            a.i32c(1).set(at_start);
            a.br(skip);
            a.end();
            a.get(at_start);
            a.if_();
            {
                // `.` followed by the end or a `/` is a segment to drop.
                a.get(c).i32c(i32::from(b'.')).i(I32Eq);
                a.if_();
                a.get(i).get(n).i(I32GeU);
                a.if_of(BlockType::Result(I32));
                a.i32c(1);
                a.else_();
                a.get(base)
                    .get(i)
                    .i(I32Add)
                    .load8(0)
                    .i32c(i32::from(b'/'))
                    .i(I32Eq);
                a.end();
                a.br_if(skip);
                a.end();
                a.get(emitted);
                a.if_();
                a.i32c(i32::from(b'/'));
                feed(&mut a);
                a.end();
                a.i32c(1).set(emitted);
                a.i32c(0).set(at_start);
            }
            a.end();
            a.get(c);
            feed(&mut a);
            a.end();
        }
        a.br(l);
        a.end();
        a.end();
        a.get(emitted).i(I32Eqz);
        a.if_();
        a.i32c(0).i(Return);
        a.end();
    }
    a.else_();
    {
        let done = a.block();
        let l = a.loop_();
        for _ in 0..UNROLL {
            a.get(i).get(n).i(I32GeU);
            a.br_if(done);
            a.get(base).get(i).i(I32Add).load8(0);
            feed(&mut a);
            a.get(i).i32c(1).i(I32Add).set(i);
        }
        a.br(l);
        a.end();
        a.end();
    }
    a.end();
    // The state number of `row`, once, for the end-of-input step.
    a.get(row).get(nc).i32c(shift).i(I32Shl).i(I32DivU).set(st);
    a.get(eoi).get(st).i32c(shift).i(I32Shl).i(I32Add);
    entry(&mut a);
    a.set(st);
    a.get(acc).get(st).i(I32Add).load8(0);
    a
}

/// Entries of the per-evaluation cache of subjects' literal masks: direct-mapped by the
/// subject's address, each `u32` address, `u32` length, `u64` mask. A path is tested against
/// several lists (and a long list is several tables), so its mask is computed once per
/// evaluation, not once per table. Within an evaluation the bytes at an address never change
/// (the input, the data and the reserved records are not written, the heap only grows, and the
/// string builder writes only past its top), so an entry whose address and length are the
/// subject's holds its mask. The table is zeroed when an evaluation starts, and a zeroed entry
/// (length 0) never answers for a subject, which has two bytes or more when it is looked up.
const MASK_CACHE_ENTRIES: u32 = 64;

/// Bytes of the mask cache.
pub const MASK_CACHE_BYTES: u32 = MASK_CACHE_ENTRIES * 16;

/// The literal filter of a glob table (docs/abi.md, Patterns), for a table with `nf > 0`
/// filters at `d + 24`: returns 0 (no match) from the walker unless the mask of the subject
/// (`n` bytes at `base`) holds one of them. The mask is `blastwall_abi::dfa::filter`'s: for
/// each pair of adjacent bytes, read as a little-endian `u16` `p`, bit
/// `(p × 0x9E3779B1 mod 2³²) >> 26`. Each pair is one 16-bit load, so the bits of a subject
/// are computed side by side, not in a chain; and a subject's mask is computed once per
/// evaluation ([`MASK_CACHE_ENTRIES`]).
fn literal_filter(a: &mut Asm, d: u32, nf: u32, base: u32, n: u32) {
    let mask = a.i64_local();
    let j = a.i32_local();
    let f = a.i64_local();
    let entry = a.i32_local();
    // A subject of fewer than two bytes (most often the `""` of `x ?? ""`) has mask 0, which
    // holds no filter but 0; filters are in ascending order, so when the first is not 0 none
    // passes and the answer is known without the loop. (The mask local is 0 here.)
    let known = a.block();
    a.get(n).i32c(2).i(I32LtU);
    a.if_();
    a.get(d).load64(24).i64c(0).i(I64Ne);
    a.if_();
    a.i32c(0).i(Return);
    a.end();
    a.br(known);
    a.end();
    a.get(base)
        .i32c(0x9E37_79B1_u32 as i32)
        .i(I32Mul)
        .i32c(32 - MASK_CACHE_ENTRIES.trailing_zeros() as i32)
        .i(I32ShrU)
        .i32c(4)
        .i(I32Shl)
        .i(GlobalGet(G_MASKS))
        .i(I32Add)
        .tee(entry)
        .load32(0)
        .get(base)
        .i(I32Eq)
        .get(entry)
        .load32(4)
        .get(n)
        .i(I32Eq)
        .i(I32And);
    a.if_();
    a.get(entry).load64(8).set(mask);
    a.br(known);
    a.end();
    // Not cached: computed by `subject_mask`, out of line, so that this function keeps few
    // locals for the common case of a cached mask.
    a.get(base).get(n).call(P_SUBJECT_MASK).set(mask);
    a.get(entry).get(base).store32(0);
    a.get(entry).get(n).store32(4);
    a.get(entry).get(mask).store64(8);
    a.end();
    // The filters, `UNROLL` per turn (a union has up to 16).
    let passed = a.block();
    let next = a.loop_();
    for _ in 0..UNROLL {
        a.get(j).get(nf).i(I32GeU);
        a.if_();
        a.i32c(0).i(Return);
        a.end();
        a.get(d)
            .i32c(24)
            .i(I32Add)
            .get(j)
            .i32c(3)
            .i(I32Shl)
            .i(I32Add)
            .load64(0)
            .tee(f)
            .get(mask)
            .i(I64And)
            .get(f)
            .i(I64Eq);
        a.br_if(passed);
        a.get(j).i32c(1).i(I32Add).set(j);
    }
    a.br(next);
    a.end();
    a.end();
}

/// `subject_mask(base, n) -> mask`: the literal mask of the `n` bytes at `base` (`n` ≥ 2), one
/// 16-bit load per pair (see [`literal_filter`]).
fn subject_mask() -> Asm {
    let mut a = Asm::new(2);
    let (base, n) = (0, 1);
    let mask = a.i64_local();
    let p = a.i32_local();
    let last = a.i32_local();
    // Pairs start at `base` .. `base + n - 2`; `last` is one past the last start.
    a.get(base).set(p);
    a.get(base).get(n).i(I32Add).i32c(1).i(I32Sub).set(last);
    let done = a.block();
    let l = a.loop_();
    for _ in 0..UNROLL {
        a.get(p).get(last).i(I32GeU);
        a.br_if(done);
        a.get(mask)
            .i64c(1)
            .get(p)
            .load16(0)
            .i32c(0x9E37_79B1_u32 as i32)
            .i(I32Mul)
            .i32c(26)
            .i(I32ShrU)
            .i(I64ExtendI32U)
            .i(I64Shl)
            .i(I64Or)
            .set(mask);
        a.get(p).i32c(1).i(I32Add).set(p);
    }
    a.br(l);
    a.end();
    a.end();
    a.get(mask);
    a
}

/// `sort(list, cmp) -> set`: a sorted copy without duplicates (merge sort, bottom-up).
fn sort() -> Asm {
    let mut a = Asm::new(2);
    let n = a.i32_local();
    let src = a.i32_local();
    let dst = a.i32_local();
    let w = a.i32_local();
    let lo = a.i32_local();
    let mid = a.i32_local();
    let hi = a.i32_local();
    let i = a.i32_local();
    let j = a.i32_local();
    let k = a.i32_local();
    let t = a.i32_local();
    a.get(0).len().set(n);
    a.get(n).i32c(3).i(I32Shl).call(P_ALLOC).set(src);
    a.get(n).i32c(3).i(I32Shl).call(P_ALLOC).set(dst);
    a.get(src)
        .get(0)
        .ptr()
        .get(n)
        .i32c(3)
        .i(I32Shl)
        .i(MemoryCopy {
            src_mem: 0,
            dst_mem: 0,
        });
    let elem = |a: &mut Asm, arr: u32, idx: u32| {
        a.get(arr).get(idx).i32c(3).i(I32Shl).i(I32Add).load64(0);
    };
    let cmp = |a: &mut Asm| {
        a.get(1).i(CallIndirect {
            type_index: crate::module::CMP_TYPE,
            table_index: 0,
        });
    };
    a.i32c(1).set(w);
    let outer_b = a.block();
    let outer = a.loop_();
    a.get(w).get(n).i(I32GeU);
    a.br_if(outer_b);
    a.i32c(0).set(lo);
    let pass_b = a.block();
    let pass = a.loop_();
    a.get(lo).get(n).i(I32GeU);
    a.br_if(pass_b);
    // mid = min(lo + w, n); hi = min(lo + 2w, n)
    a.get(lo)
        .get(w)
        .i(I32Add)
        .tee(mid)
        .get(n)
        .get(mid)
        .get(n)
        .i(I32LtU)
        .i(Select)
        .set(mid);
    a.get(mid)
        .get(w)
        .i(I32Add)
        .tee(hi)
        .get(n)
        .get(hi)
        .get(n)
        .i(I32LtU)
        .i(Select)
        .set(hi);
    a.get(lo).set(i);
    a.get(mid).set(j);
    a.get(lo).set(k);
    let mb = a.block();
    let ml = a.loop_();
    a.get(k).get(hi).i(I32GeU);
    a.br_if(mb);
    // take from left when j == hi or (i < mid and src[i] <= src[j])
    a.get(i).get(mid).i(I32LtU);
    a.if_of(BlockType::Result(I32));
    a.get(j).get(hi).i(I32GeU);
    a.if_of(BlockType::Result(I32));
    a.i32c(1);
    a.else_();
    elem(&mut a, src, i);
    elem(&mut a, src, j);
    cmp(&mut a);
    a.i32c(0).i(I32LeS);
    a.end();
    a.else_();
    a.i32c(0);
    a.end();
    a.if_();
    a.get(dst).get(k).i32c(3).i(I32Shl).i(I32Add);
    elem(&mut a, src, i);
    a.store64(0);
    a.get(i).i32c(1).i(I32Add).set(i);
    a.else_();
    a.get(dst).get(k).i32c(3).i(I32Shl).i(I32Add);
    elem(&mut a, src, j);
    a.store64(0);
    a.get(j).i32c(1).i(I32Add).set(j);
    a.end();
    a.get(k).i32c(1).i(I32Add).set(k);
    a.br(ml);
    a.end();
    a.end();
    a.get(hi).set(lo);
    a.br(pass);
    a.end();
    a.end();
    a.get(src).set(t);
    a.get(dst).set(src);
    a.get(t).set(dst);
    a.get(w).i32c(1).i(I32Shl).set(w);
    a.br(outer);
    a.end();
    a.end();
    // Drop duplicates in place.
    a.i32c(0).set(k);
    a.i32c(0).set(i);
    let b = a.block();
    let l = a.loop_();
    a.get(i).get(n).i(I32GeU);
    a.br_if(b);
    a.get(k).i(I32Eqz);
    a.if_of(BlockType::Result(I32));
    a.i32c(1);
    a.else_();
    a.get(k).i32c(1).i(I32Sub).set(t);
    elem(&mut a, src, t);
    elem(&mut a, src, i);
    cmp(&mut a);
    a.i32c(0).i(I32Ne);
    a.end();
    a.if_();
    a.get(src).get(k).i32c(3).i(I32Shl).i(I32Add);
    elem(&mut a, src, i);
    a.store64(0);
    a.get(k).i32c(1).i(I32Add).set(k);
    a.end();
    a.get(i).i32c(1).i(I32Add).set(i);
    a.br(l);
    a.end();
    a.end();
    a.get(src).get(k).pack();
    a
}

/// `setop(a, b, cmp, op) -> set`: op 0 union, 1 intersection, 2 difference.
fn setop() -> Asm {
    let mut a = Asm::new(4);
    let x = a.i64_local();
    let y = a.i64_local();
    let na = a.i32_local();
    let nb = a.i32_local();
    let i = a.i32_local();
    let j = a.i32_local();
    let k = a.i32_local();
    let out = a.i32_local();
    let c = a.i32_local();
    let pa = a.i32_local();
    let pb = a.i32_local();
    a.get(0).get(2).call(P_SORT).tee(x).len().set(na);
    a.get(1).get(2).call(P_SORT).tee(y).len().set(nb);
    a.get(x).ptr().set(pa);
    a.get(y).ptr().set(pb);
    a.get(na)
        .get(nb)
        .i(I32Add)
        .i32c(3)
        .i(I32Shl)
        .call(P_ALLOC)
        .set(out);
    let push = |a: &mut Asm, arr: u32, idx: u32| {
        a.get(out).get(k).i32c(3).i(I32Shl).i(I32Add);
        a.get(arr).get(idx).i32c(3).i(I32Shl).i(I32Add).load64(0);
        a.store64(0);
        a.get(k).i32c(1).i(I32Add).set(k);
    };
    let b = a.block();
    let l = a.loop_();
    a.get(i).get(na).i(I32GeU).get(j).get(nb).i(I32GeU).i(I32Or);
    a.br_if(b);
    a.get(pa).get(i).i32c(3).i(I32Shl).i(I32Add).load64(0);
    a.get(pb).get(j).i32c(3).i(I32Shl).i(I32Add).load64(0);
    a.get(2).i(CallIndirect {
        type_index: crate::module::CMP_TYPE,
        table_index: 0,
    });
    a.tee(c).i32c(0).i(I32LtS);
    a.if_();
    a.get(3).i32c(1).i(I32Ne);
    a.if_();
    push(&mut a, pa, i);
    a.end();
    a.get(i).i32c(1).i(I32Add).set(i);
    a.else_();
    a.get(c).i32c(0).i(I32GtS);
    a.if_();
    a.get(3).i(I32Eqz);
    a.if_();
    push(&mut a, pb, j);
    a.end();
    a.get(j).i32c(1).i(I32Add).set(j);
    a.else_();
    a.get(3).i32c(2).i(I32Ne);
    a.if_();
    push(&mut a, pa, i);
    a.end();
    a.get(i).i32c(1).i(I32Add).set(i);
    a.get(j).i32c(1).i(I32Add).set(j);
    a.end();
    a.end();
    a.br(l);
    a.end();
    a.end();
    // Tails.
    a.get(3).i32c(1).i(I32Ne);
    a.if_();
    let b = a.block();
    let l = a.loop_();
    a.get(i).get(na).i(I32GeU);
    a.br_if(b);
    push(&mut a, pa, i);
    a.get(i).i32c(1).i(I32Add).set(i);
    a.br(l);
    a.end();
    a.end();
    a.end();
    a.get(3).i(I32Eqz);
    a.if_();
    let b = a.block();
    let l = a.loop_();
    a.get(j).get(nb).i(I32GeU);
    a.br_if(b);
    push(&mut a, pb, j);
    a.get(j).i32c(1).i(I32Add).set(j);
    a.br(l);
    a.end();
    a.end();
    a.end();
    a.get(out).get(k).pack();
    a
}

/// `walk(names, depth, dependents) -> [Reached]`: breadth-first over the graph index
/// (docs/abi.md, Topology). A malformed topology sets the error and returns an empty list.
fn walk(g: GraphSlots, topology_prefix: u64) -> Asm {
    let mut a = Asm::new(3);
    let graph = a.i32_local();
    let n = a.i32_local();
    let by_name = a.i32_local();
    let start = a.i32_local();
    let edges = a.i32_local();
    let nodes = a.i32_local();
    let dist = a.i32_local();
    let queue = a.i32_local();
    let qh = a.i32_local();
    let qt = a.i32_local();
    let k = a.i32_local();
    let lo = a.i32_local();
    let hi = a.i32_local();
    let mid = a.i32_local();
    let c = a.i32_local();
    let idx = a.i32_local();
    let d = a.i32_local();
    let e = a.i32_local();
    let e_end = a.i32_local();
    let j = a.i32_local();
    let maxd = a.i32_local();
    let buckets = a.i32_local();
    let out = a.i32_local();
    let node = a.i32_local();
    let rec = a.i32_local();
    let reached = a.i32_local();
    let name = a.i64_local();

    a.i(GlobalGet(G_GRAPH)).set(graph);
    a.get(graph).i(I32Eqz);
    a.if_();
    a.i(Unreachable);
    a.end();
    a.get(graph).load64(48).len();
    a.if_();
    a.i64c(topology_prefix as i64);
    a.get(graph).load64(48);
    a.call(P_CONCAT).i(GlobalSet(G_ERR));
    a.i32c(1).i(GlobalSet(G_FAILED));
    a.i64c(0).i(Return);
    a.end();
    a.get(graph).load32(0).set(n);
    a.get(graph).load32(8).set(by_name);
    a.get(2);
    a.if_();
    a.get(graph).load32(32).set(start);
    a.get(graph).load32(40).set(edges);
    a.else_();
    a.get(graph).load32(16).set(start);
    a.get(graph).load32(24).set(edges);
    a.end();
    a.i(GlobalGet(G_TOPOLOGY)).load32(g.nodes * 8).set(nodes);
    a.get(n).i32c(2).i(I32Shl).call(P_ALLOC).set(dist);
    a.get(dist)
        .i32c(255)
        .get(n)
        .i32c(2)
        .i(I32Shl)
        .i(MemoryFill(0));
    a.get(n).i32c(2).i(I32Shl).call(P_ALLOC).set(queue);
    let node_name = |a: &mut Asm, index: u32| {
        a.get(nodes)
            .get(index)
            .i32c(3)
            .i(I32Shl)
            .i(I32Add)
            .load32(0);
        a.load64(g.name * 8);
    };
    // Seed with the named start nodes (binary search by name).
    a.i32c(0).set(k);
    let b = a.block();
    let l = a.loop_();
    a.get(k).get(0).len().i(I32GeU);
    a.br_if(b);
    a.slot_at(0, k).set(name);
    a.i32c(0).set(lo);
    a.get(n).set(hi);
    let sb = a.block();
    let sl = a.loop_();
    a.get(lo).get(hi).i(I32GeU);
    a.br_if(sb);
    a.get(lo).get(hi).i(I32Add).i32c(1).i(I32ShrU).set(mid);
    a.u32_at(by_name, mid).set(idx);
    node_name(&mut a, idx);
    a.get(name).call(P_STR_CMP).tee(c).i(I32Eqz);
    a.if_();
    a.u32_at(dist, idx).i32c(-1).i(I32Eq);
    a.if_();
    a.u32_addr(dist, idx).i32c(0).store32(0);
    a.u32_addr(queue, qt).get(idx).store32(0);
    a.get(qt).i32c(1).i(I32Add).set(qt);
    a.end();
    a.br(sb);
    a.end();
    a.get(c).i32c(0).i(I32LtS);
    a.if_();
    a.get(mid).i32c(1).i(I32Add).set(lo);
    a.else_();
    a.get(mid).set(hi);
    a.end();
    a.br(sl);
    a.end();
    a.end();
    a.get(k).i32c(1).i(I32Add).set(k);
    a.br(l);
    a.end();
    a.end();
    // Breadth-first.
    let b = a.block();
    let l = a.loop_();
    a.get(qh).get(qt).i(I32GeU);
    a.br_if(b);
    a.u32_at(queue, qh).set(idx);
    a.get(qh).i32c(1).i(I32Add).set(qh);
    a.u32_at(dist, idx).set(d);
    a.get(d).i(I64ExtendI32U).get(1).i(I64GeS);
    a.br_if(l);
    a.u32_at(start, idx).set(e);
    a.u32_addr(start, idx).load32(4).set(e_end);
    let eb = a.block();
    let el = a.loop_();
    a.get(e).get(e_end).i(I32GeU);
    a.br_if(eb);
    a.u32_at(edges, e).set(j);
    a.u32_at(dist, j).i32c(-1).i(I32Eq);
    a.if_();
    a.u32_addr(dist, j).get(d).i32c(1).i(I32Add).store32(0);
    a.u32_addr(queue, qt).get(j).store32(0);
    a.get(qt).i32c(1).i(I32Add).set(qt);
    a.end();
    a.get(e).i32c(1).i(I32Add).set(e);
    a.br(el);
    a.end();
    a.end();
    a.br(l);
    a.end();
    a.end();
    // Order by distance, then name: count per distance, then place in name order.
    a.get(qt).i(I32Eqz);
    a.if_();
    a.i64c(0).i(Return);
    a.end();
    a.get(queue)
        .get(qt)
        .i32c(1)
        .i(I32Sub)
        .i32c(2)
        .i(I32Shl)
        .i(I32Add)
        .load32(0)
        .set(idx);
    a.u32_at(dist, idx).set(maxd);
    a.get(maxd)
        .i32c(2)
        .i(I32Add)
        .i32c(2)
        .i(I32Shl)
        .call(P_ALLOC)
        .set(buckets);
    a.get(buckets)
        .i32c(0)
        .get(maxd)
        .i32c(2)
        .i(I32Add)
        .i32c(2)
        .i(I32Shl)
        .i(MemoryFill(0));
    // counts of each distance d > 0 go to buckets[d + 1]
    a.i32c(0).set(k);
    a.i32c(0).set(reached);
    let b = a.block();
    let l = a.loop_();
    a.get(k).get(qt).i(I32GeU);
    a.br_if(b);
    a.u32_at(queue, k).set(idx);
    a.u32_at(dist, idx).set(d);
    a.get(d);
    a.if_();
    a.get(buckets)
        .get(d)
        .i32c(1)
        .i(I32Add)
        .i32c(2)
        .i(I32Shl)
        .i(I32Add)
        .tee(e);
    a.get(e).load32(0).i32c(1).i(I32Add).store32(0);
    a.get(reached).i32c(1).i(I32Add).set(reached);
    a.end();
    a.get(k).i32c(1).i(I32Add).set(k);
    a.br(l);
    a.end();
    a.end();
    // prefix sums: buckets[d] = first position of distance d, for d in 1..=maxd. Each step
    // writes buckets[k + 1], so k stops at maxd: one step more wrote one entry past the
    // buckets, which trapped when they ended exactly at the end of memory.
    a.i32c(1).set(k);
    let b = a.block();
    let l = a.loop_();
    a.get(k).get(maxd).i(I32GtU);
    a.br_if(b);
    a.get(buckets)
        .get(k)
        .i32c(1)
        .i(I32Add)
        .i32c(2)
        .i(I32Shl)
        .i(I32Add)
        .tee(e);
    a.get(e).load32(0);
    a.u32_at(buckets, k);
    a.i(I32Add).store32(0);
    a.get(k).i32c(1).i(I32Add).set(k);
    a.br(l);
    a.end();
    a.end();
    a.get(reached).i32c(3).i(I32Shl).call(P_ALLOC).set(out);
    // The records, in one block: record `j` of the result is at `recs + 40 j`.
    let recs = a.i32_local();
    a.get(reached).i32c(40).i(I32Mul).call(P_ALLOC).set(recs);
    a.i32c(0).set(k);
    let b = a.block();
    let l = a.loop_();
    a.get(k).get(n).i(I32GeU);
    a.br_if(b);
    a.u32_at(by_name, k).set(idx);
    a.u32_at(dist, idx).set(d);
    a.get(d).i32c(0).i(I32GtS);
    a.if_();
    // j = buckets[d]++: this node's position in the result
    a.u32_addr(buckets, d).tee(e).load32(0).set(j);
    a.get(e).get(j).i32c(1).i(I32Add).store32(0);
    a.get(recs).get(j).i32c(40).i(I32Mul).i(I32Add).set(rec);
    a.get(nodes)
        .get(idx)
        .i32c(3)
        .i(I32Shl)
        .i(I32Add)
        .load32(0)
        .set(node);
    for (slot, from) in [(0, g.name), (1, g.kind), (2, g.tier), (3, g.owner)] {
        a.get(rec).get(node).load64(from * 8).store64(slot * 8);
    }
    a.get(rec).get(d).i(I64ExtendI32U).store64(32);
    a.get(out)
        .get(j)
        .i32c(3)
        .i(I32Shl)
        .i(I32Add)
        .get(rec)
        .i(I64ExtendI32U)
        .store64(0);
    a.end();
    a.get(k).i32c(1).i(I32Add).set(k);
    a.br(l);
    a.end();
    a.end();
    a.get(out).get(reached).pack();
    a
}

/// `box(v) -> addr`: a present `int?` / `bool?`.
fn boxed() -> Asm {
    let mut a = Asm::new(1);
    let p = a.i32_local();
    a.i32c(8).call(P_ALLOC).tee(p).get(0).store64(0);
    a.get(p).i(I64ExtendI32U);
    a
}
