//! Assembling the module: types, functions, globals, data, exports, the metadata section.

use std::collections::{BTreeMap, HashMap};

use wasm_encoder::{
    CodeSection, ConstExpr, CustomSection, DataSection, ElementSection, Elements, ExportKind,
    ExportSection, Function, FunctionSection, GlobalSection, GlobalType, MemorySection, MemoryType,
    Module, NameMap, NameSection, RefType, TableSection, TableType, TypeSection, ValType,
};

/// The heap pointer (next free byte).
pub const G_HP: u32 = 0;
/// Where the heap starts after every `bw_reserve`.
pub const G_BASE: u32 = 1;
/// Set when the current rule failed.
pub const G_FAILED: u32 = 2;
/// The failure's text (a `str` slot).
pub const G_ERR: u32 = 3;
/// Document addresses: change, plan, action, topology.
pub const G_CHANGE: u32 = 4;
pub const G_TOPOLOGY: u32 = 7;
/// The config record's address.
pub const G_CONFIG: u32 = 8;
/// The graph index's address.
pub const G_GRAPH: u32 = 9;
/// Findings written so far.
pub const G_NFIND: u32 = 10;
/// Address of the findings array.
pub const G_FINDINGS: u32 = 11;
/// Address of the memo table of shared subexpressions.
pub const G_MEMO: u32 = 12;
/// Address of the functions' call caches.
pub const G_CALLS: u32 = 13;
/// Address of the cache of subjects' literal masks (`prelude::MASK_CACHE_BYTES`).
pub const G_MASKS: u32 = 14;

/// Type index of `(i64, i64) -> i32`, the comparison type of `call_indirect`.
pub const CMP_TYPE: u32 = 0;

/// Data starts here; address 0..8 is never a valid value.
pub const DATA_BASE: u32 = 8;

/// A module under construction.
#[derive(Debug)]
pub struct Out {
    types: Vec<(Vec<ValType>, Vec<ValType>)>,
    funcs: Vec<(u32, Option<Function>)>,
    /// Function names for the `name` section (profilers, backtraces), by function index.
    names: BTreeMap<u32, String>,
    data: Vec<u8>,
    strings: HashMap<String, i64>,
}

impl Out {
    pub fn new() -> Out {
        let mut out = Out {
            types: Vec::new(),
            funcs: Vec::new(),
            names: BTreeMap::new(),
            data: Vec::new(),
            strings: HashMap::new(),
        };
        out.type_of(&[ValType::I64, ValType::I64], &[ValType::I32]);
        out
    }

    pub fn type_of(&mut self, params: &[ValType], results: &[ValType]) -> u32 {
        let key = (params.to_vec(), results.to_vec());
        if let Some(i) = self.types.iter().position(|t| *t == key) {
            return u32::try_from(i).unwrap_or(u32::MAX);
        }
        self.types.push(key);
        u32::try_from(self.types.len() - 1).unwrap_or(u32::MAX)
    }

    /// Declare a function whose body comes later; returns its index.
    pub fn declare(&mut self, params: &[ValType], results: &[ValType]) -> u32 {
        let t = self.type_of(params, results);
        self.funcs.push((t, None));
        u32::try_from(self.funcs.len() - 1).unwrap_or(u32::MAX)
    }

    pub fn define(&mut self, index: u32, f: Function) {
        if let Some(slot) = self.funcs.get_mut(index as usize) {
            slot.1 = Some(f);
        }
    }

    /// Name function `index` in the module's `name` section; the first name given stays (a
    /// body shared by functions written alike keeps the first one's name).
    pub fn name(&mut self, index: u32, name: impl Into<String>) {
        self.names.entry(index).or_insert_with(|| name.into());
    }

    pub fn add_func(&mut self, params: &[ValType], results: &[ValType], f: Function) -> u32 {
        let i = self.declare(params, results);
        self.define(i, f);
        i
    }

    /// The address the next data byte gets.
    pub fn here(&self) -> u32 {
        DATA_BASE + u32::try_from(self.data.len()).unwrap_or(u32::MAX)
    }

    pub fn align(&mut self) {
        while !self.data.len().is_multiple_of(8) {
            self.data.push(0);
        }
    }

    /// Append bytes; returns their address.
    pub fn bytes(&mut self, b: &[u8]) -> u32 {
        let at = self.here();
        self.data.extend_from_slice(b);
        at
    }

    /// Mutable access to the data, for encoders that append themselves.
    pub fn data_mut(&mut self) -> &mut Vec<u8> {
        &mut self.data
    }

    /// A constant string's slot value.
    pub fn str(&mut self, s: &str) -> i64 {
        if let Some(v) = self.strings.get(s) {
            return *v;
        }
        let addr = self.bytes(s.as_bytes());
        let v = (i64::from(addr)) | ((s.len() as i64) << 32);
        self.strings.insert(s.to_string(), v);
        v
    }

    /// The finished module bytes.
    pub fn finish(mut self, exports: &[(&str, u32)], metadata: &[u8]) -> Vec<u8> {
        for (name, f) in exports {
            self.name(*f, *name);
        }
        let mut module = Module::new();
        let mut types = TypeSection::new();
        for (p, r) in &self.types {
            types.ty().function(p.iter().copied(), r.iter().copied());
        }
        module.section(&types);
        let mut funcs = FunctionSection::new();
        for (t, _) in &self.funcs {
            funcs.function(*t);
        }
        module.section(&funcs);
        let mut tables = TableSection::new();
        tables.table(TableType {
            element_type: RefType::FUNCREF,
            minimum: 2,
            maximum: Some(2),
            table64: false,
            shared: false,
        });
        module.section(&tables);
        let heap = (DATA_BASE as usize + self.data.len()).div_ceil(8) * 8;
        let pages = (heap as u64).div_ceil(65536) + 1;
        let mut memories = MemorySection::new();
        memories.memory(MemoryType {
            minimum: pages,
            maximum: None,
            memory64: false,
            shared: false,
            page_size_log2: None,
        });
        module.section(&memories);
        let mut globals = GlobalSection::new();
        let heap32 = i32::try_from(heap).unwrap_or(i32::MAX);
        for g in 0..15u32 {
            let (ty, init) = if g == G_ERR {
                (ValType::I64, ConstExpr::i64_const(0))
            } else if g == G_HP || g == G_BASE {
                (ValType::I32, ConstExpr::i32_const(heap32))
            } else {
                (ValType::I32, ConstExpr::i32_const(0))
            };
            globals.global(
                GlobalType {
                    val_type: ty,
                    mutable: true,
                    shared: false,
                },
                &init,
            );
        }
        module.section(&globals);
        let mut ex = ExportSection::new();
        ex.export("memory", ExportKind::Memory, 0);
        for (name, f) in exports {
            ex.export(name, ExportKind::Func, *f);
        }
        module.section(&ex);
        let mut elems = ElementSection::new();
        let table_funcs = [crate::prelude::P_I64_CMP, crate::prelude::P_STR_CMP];
        elems.active(
            Some(0),
            &ConstExpr::i32_const(0),
            Elements::Functions(std::borrow::Cow::Borrowed(&table_funcs)),
        );
        module.section(&elems);
        let mut code = CodeSection::new();
        for (_, f) in &self.funcs {
            match f {
                Some(f) => code.function(f),
                None => code.function(&Function::new([])),
            };
        }
        module.section(&code);
        let mut data = DataSection::new();
        data.active(
            0,
            &ConstExpr::i32_const(DATA_BASE as i32),
            self.data.iter().copied(),
        );
        module.section(&data);
        let mut functions = NameMap::new();
        for (index, name) in &self.names {
            functions.append(*index, name);
        }
        let mut names = NameSection::new();
        names.functions(&functions);
        module.section(&names);
        // The metadata stays the last section, as modules before the name section had it.
        module.section(&CustomSection {
            name: std::borrow::Cow::Borrowed(blastwall_abi::layout::METADATA_SECTION),
            data: std::borrow::Cow::Borrowed(metadata),
        });
        module.finish()
    }
}
