//! A thin layer over `wasm_encoder::Function`: locals, structured labels, memory shorthands.

use wasm_encoder::{BlockType, Function, Instruction as I, MemArg, ValType};

/// One function body being written.
#[derive(Debug)]
pub struct Asm {
    body: Vec<I<'static>>,
    params: u32,
    locals: Vec<ValType>,
    depth: u32,
}

/// A label: the depth of the block it names.
pub type Label = u32;

pub fn mem(offset: u32, align: u32) -> MemArg {
    MemArg {
        offset: u64::from(offset),
        align,
        target: wasm_encoder::MemArgTarget::Memory(0),
        ordering: None,
    }
}

impl Asm {
    pub fn new(params: u32) -> Asm {
        Asm {
            body: Vec::new(),
            params,
            locals: Vec::new(),
            depth: 0,
        }
    }

    /// A fresh local of type `t`.
    pub fn local(&mut self, t: ValType) -> u32 {
        self.locals.push(t);
        self.params + u32::try_from(self.locals.len() - 1).unwrap_or(u32::MAX)
    }

    pub fn i64_local(&mut self) -> u32 {
        self.local(ValType::I64)
    }

    pub fn i32_local(&mut self) -> u32 {
        self.local(ValType::I32)
    }

    /// A fresh i32 local, set to 0 here: code inside loops runs many times per call, and a
    /// local keeps its value from the last time round.
    pub fn zero_i32(&mut self) -> u32 {
        let l = self.i32_local();
        self.i32c(0).set(l);
        l
    }

    /// A fresh i64 local, set to 0 here (see [`Asm::zero_i32`]).
    pub fn zero_i64(&mut self) -> u32 {
        let l = self.i64_local();
        self.i64c(0).set(l);
        l
    }

    pub fn i(&mut self, ins: I<'static>) -> &mut Asm {
        self.body.push(ins);
        self
    }

    pub fn block(&mut self) -> Label {
        self.block_of(BlockType::Empty)
    }

    pub fn block_of(&mut self, bt: BlockType) -> Label {
        self.body.push(I::Block(bt));
        self.depth += 1;
        self.depth - 1
    }

    pub fn loop_(&mut self) -> Label {
        self.body.push(I::Loop(BlockType::Empty));
        self.depth += 1;
        self.depth - 1
    }

    pub fn if_(&mut self) -> Label {
        self.if_of(BlockType::Empty)
    }

    pub fn if_of(&mut self, bt: BlockType) -> Label {
        self.body.push(I::If(bt));
        self.depth += 1;
        self.depth - 1
    }

    pub fn else_(&mut self) {
        self.body.push(I::Else);
    }

    pub fn end(&mut self) {
        self.body.push(I::End);
        self.depth = self.depth.saturating_sub(1);
    }

    pub fn br(&mut self, label: Label) {
        let rel = self.depth - 1 - label;
        self.body.push(I::Br(rel));
    }

    pub fn br_if(&mut self, label: Label) {
        let rel = self.depth - 1 - label;
        self.body.push(I::BrIf(rel));
    }

    pub fn get(&mut self, l: u32) -> &mut Asm {
        self.i(I::LocalGet(l))
    }

    pub fn set(&mut self, l: u32) -> &mut Asm {
        self.i(I::LocalSet(l))
    }

    pub fn tee(&mut self, l: u32) -> &mut Asm {
        self.i(I::LocalTee(l))
    }

    pub fn i32c(&mut self, v: i32) -> &mut Asm {
        self.i(I::I32Const(v))
    }

    pub fn u32c(&mut self, v: u32) -> &mut Asm {
        self.i(I::I32Const(v as i32))
    }

    pub fn i64c(&mut self, v: i64) -> &mut Asm {
        self.i(I::I64Const(v))
    }

    pub fn call(&mut self, f: u32) -> &mut Asm {
        self.i(I::Call(f))
    }

    /// i64 slot value → its low 32 bits (an address) as i32.
    pub fn ptr(&mut self) -> &mut Asm {
        self.i(I::I32WrapI64)
    }

    /// i64 slot value → its high 32 bits (a length) as i32.
    pub fn len(&mut self) -> &mut Asm {
        self.i(I::I64Const(32)).i(I::I64ShrU).i(I::I32WrapI64)
    }

    /// (i32 address, i32 length) on the stack → one i64 slot value.
    pub fn pack(&mut self) -> &mut Asm {
        let len = self.i32_local();
        self.set(len);
        self.i(I::I64ExtendI32U);
        self.get(len)
            .i(I::I64ExtendI32U)
            .i(I::I64Const(32))
            .i(I::I64Shl)
            .i(I::I64Or)
    }

    /// Push element `index` (an i32 local) of the list whose slot is in local `list`.
    pub fn slot_at(&mut self, list: u32, index: u32) -> &mut Asm {
        self.get(list)
            .ptr()
            .get(index)
            .i32c(3)
            .i(I::I32Shl)
            .i(I::I32Add)
            .load64(0)
    }

    /// Push element `index` (a local) of the `u32` array at address `array` (a local).
    pub fn u32_at(&mut self, array: u32, index: u32) -> &mut Asm {
        self.get(array)
            .get(index)
            .i32c(2)
            .i(I::I32Shl)
            .i(I::I32Add)
            .load32(0)
    }

    /// Push the address of element `index` (a local) of the `u32` array at `array` (a local).
    pub fn u32_addr(&mut self, array: u32, index: u32) -> &mut Asm {
        self.get(array).get(index).i32c(2).i(I::I32Shl).i(I::I32Add)
    }

    pub fn load64(&mut self, offset: u32) -> &mut Asm {
        self.i(I::I64Load(mem(offset, 3)))
    }

    pub fn store64(&mut self, offset: u32) -> &mut Asm {
        self.i(I::I64Store(mem(offset, 3)))
    }

    pub fn load32(&mut self, offset: u32) -> &mut Asm {
        self.i(I::I32Load(mem(offset, 2)))
    }

    pub fn store32(&mut self, offset: u32) -> &mut Asm {
        self.i(I::I32Store(mem(offset, 2)))
    }

    /// A 16-bit load, little-endian, at any alignment.
    pub fn load16(&mut self, offset: u32) -> &mut Asm {
        self.i(I::I32Load16U(mem(offset, 0)))
    }

    pub fn load8(&mut self, offset: u32) -> &mut Asm {
        self.i(I::I32Load8U(mem(offset, 0)))
    }

    pub fn store8(&mut self, offset: u32) -> &mut Asm {
        self.i(I::I32Store8(mem(offset, 0)))
    }

    pub fn finish(mut self) -> Function {
        self.body.push(I::End);
        let mut f = Function::new_with_locals_types(self.locals);
        for ins in &self.body {
            f.instruction(ins);
        }
        f
    }
}
