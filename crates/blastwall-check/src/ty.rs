//! The types of the policy language.

use std::fmt;

use blastwall_abi::schema::{EnumShape, Record, Shape};

/// A type the checker assigns to every expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    /// `bool`
    Bool,
    /// `int`: 64-bit; overflow is an error of the rule.
    Int,
    /// `str`
    Str,
    /// A string restricted to listed values; usable wherever `str` is.
    Enum(&'static EnumShape),
    /// `[T]`
    List(Box<Type>),
    /// `set<T>`: no duplicates, iterated in sorted order.
    Set(Box<Type>),
    /// A record of the fact schema.
    Record(&'static Record),
    /// `T?`: may be absent.
    Optional(Box<Type>),
    /// The element type of `[]`, compatible with anything.
    Any,
    /// The type of an expression that already had an error; silences follow-on errors.
    Error,
}

impl Type {
    /// The type of a schema shape.
    pub fn from_shape(shape: &Shape) -> Type {
        match shape {
            Shape::Bool => Type::Bool,
            Shape::Int | Shape::Count => Type::Int,
            Shape::Str => Type::Str,
            Shape::Enum(e) => Type::Enum(e),
            Shape::List(s) => Type::List(Box::new(Type::from_shape(s))),
            Shape::Record(r) => Type::Record(r),
            Shape::Optional(s) => Type::Optional(Box::new(Type::from_shape(s))),
        }
    }

    /// Whether this is `Error` (or contains it), so no further error should be reported.
    pub fn is_error(&self) -> bool {
        match self {
            Type::Error => true,
            Type::List(t) | Type::Set(t) | Type::Optional(t) => t.is_error(),
            _ => false,
        }
    }

    /// Whether values of this type are strings at run time (`str` or an enum).
    pub fn is_stringy(&self) -> bool {
        matches!(self, Type::Str | Type::Enum(_) | Type::Any | Type::Error)
    }

    /// Whether this is `int` (or unknown after an error).
    pub fn is_int(&self) -> bool {
        matches!(self, Type::Int | Type::Any | Type::Error)
    }

    /// Whether this is `bool` (or unknown after an error).
    pub fn is_bool(&self) -> bool {
        matches!(self, Type::Bool | Type::Any | Type::Error)
    }

    /// The element type, for lists and sets.
    pub fn element(&self) -> Option<&Type> {
        match self {
            Type::List(t) | Type::Set(t) => Some(t),
            _ => None,
        }
    }

    /// Whether a value of type `self` may stand where `want` is expected.
    pub fn fits(&self, want: &Type) -> bool {
        match (self, want) {
            (Type::Error, _) | (_, Type::Error) | (Type::Any, _) | (_, Type::Any) => true,
            (Type::Enum(_), Type::Str) => true,
            (Type::Enum(a), Type::Enum(b)) => a.name == b.name,
            (Type::List(a), Type::List(b)) | (Type::Set(a), Type::Set(b)) => a.fits(b),
            (Type::Optional(a), Type::Optional(b)) => a.fits(b),
            (Type::Record(a), Type::Record(b)) => a.name == b.name,
            (a, b) => a == b,
        }
    }

    /// Whether two values of these types can be compared with `==`.
    pub fn comparable(&self, other: &Type) -> bool {
        match (self, other) {
            (a, b) if a.is_stringy() && b.is_stringy() => true,
            (Type::Optional(_), _) | (_, Type::Optional(_)) => false,
            (Type::Record(_), _) | (_, Type::Record(_)) => false,
            (a, b) => a.fits(b) || b.fits(a),
        }
    }

    /// The common type of two list elements, if any.
    pub fn join(&self, other: &Type) -> Option<Type> {
        match (self, other) {
            (Type::Any, t) | (t, Type::Any) => Some(t.clone()),
            (Type::Error, _) | (_, Type::Error) => Some(Type::Error),
            (Type::Enum(a), Type::Enum(b)) if a.name == b.name => Some(self.clone()),
            (a, b) if a.is_stringy() && b.is_stringy() => Some(Type::Str),
            (Type::List(a), Type::List(b)) => a.join(b).map(|t| Type::List(Box::new(t))),
            (Type::Set(a), Type::Set(b)) => a.join(b).map(|t| Type::Set(Box::new(t))),
            (a, b) if a == b => Some(a.clone()),
            _ => None,
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Bool => f.write_str("bool"),
            Type::Int => f.write_str("int"),
            Type::Str => f.write_str("str"),
            Type::Enum(e) => f.write_str(e.name),
            Type::List(t) => write!(f, "[{t}]"),
            Type::Set(t) => write!(f, "set<{t}>"),
            Type::Record(r) => f.write_str(r.name),
            Type::Optional(t) => write!(f, "{t}?"),
            Type::Any => f.write_str("_"),
            Type::Error => f.write_str("{error}"),
        }
    }
}
